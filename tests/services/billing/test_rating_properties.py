"""Rating through the store, as properties (issue 6): whatever the calls, rating again
charges nothing twice, credits drawn plus credits left are what was bought, and the
ledger balances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.services.accounts import accounts
from dialtone.services.billing import (
    contract_changes,
    invoicing,
    ledger,
    rating,
    subscriptions,
    tariffs,
)
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import CallOutcome
from dialtone.store.db import transaction
from dialtone.store.models import RatedLine
from tests.database import migrated_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DECK = (
    "prefix,destination,rate_per_minute,connect_fee,increment\n"
    "33,France,0.03,,\n336,France mobile,0.09,0.01,30/6\n"
)


@settings(max_examples=12, deadline=None)
@given(
    durations=st.lists(st.integers(0, 7200), min_size=1, max_size=25),
    mobile=st.lists(st.booleans(), min_size=25, max_size=25),
    credit=st.decimals("0", "30", places=2),
    plan=st.sampled_from(["essential", "prepaid"]),
)
def test_rating_twice_charges_once_and_the_books_balance(
    durations: list[int], mobile: list[bool], credit: Decimal, plan: str
) -> None:
    with TemporaryDirectory() as tmp:
        _, sessions = migrated_database(Path(tmp) / "p.db")
        with transaction(sessions) as session:
            tariffs.import_csv(session, "calls", "EUR", DECK, effective_from=T0, now=T0)
            acct = accounts.create_account(session, "P", now=T0).account.id
            subscriptions.subscribe(
                session, acct, plan_code=plan, currency="EUR", country="FR", now=T0
            )
            invoicing.issue(session, acct, now=T0)
            if credit:
                contract_changes.buy_credits(session, acct, credit, now=T0)
            calls.record_calls(
                session,
                [
                    CallOutcome(
                        account_id=acct, direction="outbound", from_number="+33199000001",
                        to_number="+33612345678" if mobile[i] else "+33123456789",
                        started_at=T0 + timedelta(hours=i), answered_at=T0 + timedelta(hours=i),
                        ended_at=T0 + timedelta(hours=i, seconds=d), status="completed",
                        hangup_cause="bye", sip_call_id=f"p{i}", sip_local_tag="t",
                    )
                    for i, d in enumerate(durations)
                ],
            )  # fmt: skip
            end = T0 + timedelta(days=30)
            first = rating.rate_account(session, acct, now=end)
            assert len(first) == len(durations)
            assert rating.rate_account(session, acct, now=end) == []
            rows = session.query(RatedLine).filter_by(account_id=acct).all()
            drawn = sum((Decimal(r.credits) for r in rows), Decimal(0))
            assert drawn + rating.credit_balance(session, acct, "EUR") == credit
            for r in rows:
                assert Decimal(r.price) == Decimal(r.credits) + Decimal(r.overage)
                assert min(Decimal(r.credits), Decimal(r.overage)) >= 0
            invoice = invoicing.issue(session, acct, now=end)
            usage = sum((ln.amount for ln in invoice.lines if ln.kind == "usage"), Decimal(0))
            overage = sum((Decimal(r.overage) for r in rows), Decimal(0))
            assert abs(usage - overage) < Decimal("0.01") * (len(invoice.lines) + 1)
            assert all(v == 0 for v in ledger.trial_balance(session).values())
