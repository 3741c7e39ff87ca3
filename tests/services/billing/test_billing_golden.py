"""Golden invoices: a month of usage for three customers on different plans, currencies
and countries, against figures worked by hand from the rules (B1–B7, B16, V4) — not
from the code's output. Each expected figure carries its working."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from dialtone.rating import ledger as books
from dialtone.services.accounts import accounts
from dialtone.services.billing import invoicing, ledger, rating, subscriptions, tariffs
from dialtone.services.numbering import numbers
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import CallOutcome
from dialtone.store.models import Invoice, UsageEvent

JAN = datetime(2026, 1, 1, tzinfo=UTC)
EUR_CALLS = (
    "prefix,destination,rate_per_minute,connect_fee,increment\n"
    "33,France,0.03,,\n336,France mobile,0.09,0.01,\n41,Switzerland,0.20,,\n49,Germany,0.05,,\n"
)
GBP_CALLS = "prefix,destination,rate_per_minute\n44,United Kingdom,0.05\n33,France,0.03\n"
GBP_SMS = "prefix,destination,rate_per_segment\n44,United Kingdom,0.04\n"


def _call(  # noqa: PLR0917 - one call per line of the tables below
    account: str, caller: str, to: str, at: datetime, seconds: int, n: int
) -> CallOutcome:
    return CallOutcome(
        account_id=account,
        direction="outbound",
        from_number=caller,
        to_number=to,
        started_at=at,
        answered_at=at if seconds else None,
        ended_at=at + timedelta(seconds=seconds),
        status="completed" if seconds else "no-answer",
        hangup_cause="caller-bye",
        sip_call_id=f"golden-{account}-{n}",
        sip_local_tag="t",
    )


def _lines(session: Session, invoice_id: str) -> list[tuple[str, Decimal]]:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    return [(ln.kind, Decimal(ln.amount)) for ln in invoice.lines]


def _setup(session: Session) -> None:
    for name, currency, text in (
        ("calls", "EUR", EUR_CALLS),
        ("calls", "USD", EUR_CALLS),  # the same figures, in dollars
        ("calls", "GBP", GBP_CALLS),
        ("sms", "GBP", GBP_SMS),
    ):
        tariffs.import_csv(session, name, currency, text, effective_from=JAN, now=JAN)


def test_essential_eur_france_included_minutes_then_overage(session: Session) -> None:
    """Essential, EUR, France, 2 accesses: 100 min each pooled = 12 000 s (B1)."""
    _setup(session)
    acct = accounts.create_account(session, "Alpha", now=JAN).account.id
    subscriptions.subscribe(
        session, acct, plan_code="essential", currency="EUR", country="FR", now=JAN, accesses=2
    )
    numbers.add_number(session, acct, "+33199000001", now=JAN)
    first = invoicing.issue(session, acct, now=JAN)
    # In advance: 2 × 19.00 + 1 number × 3.00 = 41.00; VAT 20 % = 8.20; 49.20.
    assert (first.subtotal, first.tax, first.total) == (
        Decimal("41.00"), Decimal("8.20"), Decimal("49.20"),
    )  # fmt: skip
    day = JAN + timedelta(days=3)
    calls.record_calls(
        session,
        [
            _call(acct, "+33199000001", "+33123456789", day, 6000, 1),  # 100 min included
            _call(acct, "+33199000001", "+33123456780", day + timedelta(hours=2), 6030, 2),
            # 6030 s bills 6060 (B2): 6000 included (the pool is then empty), 60 s at 0.03
            _call(acct, "+33199000001", "+33123456781", day + timedelta(hours=4), 61, 3),
            # 61 s bills 120: 0.06
            _call(acct, "+33199000001", "+33612345678", day + timedelta(hours=5), 61, 4),
            # mobile: 0.01 connect + 2 × 0.09 = 0.19
            _call(acct, "+33199000001", "+33612345679", day + timedelta(hours=6), 0, 5),
            # unanswered: nothing
        ],
    )
    end = JAN + timedelta(days=30)  # B6: monthly = 30 days
    rating.rate_account(session, acct, now=end)
    second = invoicing.issue(session, acct, now=end)
    assert second.period_start == end
    assert _lines(session, second.id) == [
        ("subscription", Decimal("38.00")),
        ("number", Decimal("3.00")),
        ("usage", Decimal("0.09")),  # France: 0.03 + 0.06
        ("usage", Decimal("0.19")),  # France mobile
    ]
    # 41.28; VAT 8.256 → 8.26; 49.54
    assert (second.subtotal, second.tax, second.total) == (
        Decimal("41.28"), Decimal("8.26"), Decimal("49.54"),
    )  # fmt: skip
    assert second.sequence == first.sequence + 1
    # Rating again and re-issuing nothing new: no double charge.
    assert rating.rate_account(session, acct, now=end + timedelta(days=1)) == []
    third = invoicing.draft(session, acct)
    assert [k for k, _ in [(ln.kind, ln.amount) for ln in third.totals.lines]] == [
        "subscription", "number",
    ]  # fmt: skip


def test_prepaid_gbp_uk_credits_then_overage(session: Session) -> None:
    """Prepaid, GBP, United Kingdom, £5.00 of credits bought (B4): they pay first."""
    _setup(session)
    acct = accounts.create_account(session, "Beta", now=JAN).account.id
    subscriptions.subscribe(
        session, acct, plan_code="prepaid", currency="GBP", country="GB", now=JAN
    )
    numbers.add_number(session, acct, "+442071838750", now=JAN)
    invoicing.issue(session, acct, now=JAN)
    ledger.post(
        session,
        books.transfer(
            "buy-1", JAN, "credits", books.CASH, books.credits(acct), Decimal("5"), "GBP"
        ),
    )
    day = JAN + timedelta(days=10)
    outcomes = [
        _call(acct, "+442071838750", "+442071838751", day + timedelta(minutes=i), 61, i)
        for i in range(10)
    ]  # 10 × 2 min × 0.05 = 1.00 from credits; 4.00 left
    outcomes.append(
        _call(acct, "+442071838750", "+442071838752", day + timedelta(hours=1), 5000, 99)
    )
    # 5000 s bills 5040 = 84 min × 0.05 = 4.20: 4.00 credits, 0.20 overage
    calls.record_calls(session, outcomes)
    session.add(
        UsageEvent(
            account_id=acct,
            transaction_id="sms-1",
            code="sms",
            at=day + timedelta(hours=2),
            destination="+447700900123",
            caller="+442071838750",
            segments=2,
            received_at=day,
        )
    )  # 2 segments × 0.04 = 0.08, all overage
    end = JAN + timedelta(days=30)
    rating.rate_account(session, acct, now=end)
    assert rating.credit_balance(session, acct, "GBP") == Decimal("0.0000")
    second = invoicing.issue(session, acct, now=end)
    assert _lines(session, second.id) == [
        ("subscription", Decimal("4.50")),
        ("number", Decimal("2.50")),
        ("usage", Decimal("0.20")),
        ("usage", Decimal("0.08")),
    ]
    # 7.28; VAT 20 % 1.456 → 1.46; 8.74
    assert (second.subtotal, second.tax, second.total) == (
        Decimal("7.28"), Decimal("1.46"), Decimal("8.74"),
    )  # fmt: skip
    assert ledger.trial_balance(session) == {"GBP": Decimal("0.0000")}


def test_unlimited_annual_usd_germany_b3_and_pro_rata(session: Session) -> None:
    """Unlimited Zone 1, annual commitment, billed in USD, Germany (VAT 19 %), 2 accesses."""
    _setup(session)
    acct = accounts.create_account(session, "Gamma", now=JAN).account.id
    subscriptions.subscribe(
        session, acct, plan_code="unlimited", currency="USD", country="DE", now=JAN, accesses=2
    )
    for n in ("+4930901820", "+4930901821"):
        numbers.add_number(session, acct, n, now=JAN)
    first = invoicing.issue(session, acct, now=JAN)
    # 2 × 330.00 + 2 numbers × 3.50 = 667.00; VAT 19 % = 126.73; 793.73
    assert (first.subtotal, first.tax, first.total) == (
        Decimal("667.00"), Decimal("126.73"), Decimal("793.73"),
    )  # fmt: skip
    july = datetime(2026, 7, 2, tzinfo=UTC)
    subscriptions.add(session, acct, "access", now=july)
    calls.record_calls(
        session,
        [
            _call(acct, "+4930901820", "+4930123456", july, 3600, 1),  # DE from DE: unlimited
            _call(acct, "+4930901820", "+33123456789", july, 600, 2),  # FR from DE: EEA, ok
            _call(acct, "+4930901820", "+41441234567", july, 61, 3),  # CH needs a Swiss number
            # 2 min × 0.20 = 0.40
            _call(acct, "+4930901820", "+81312345678", july, 61, 4),  # no rate: kept unrated
        ],
    )
    end = datetime(2027, 1, 1, tzinfo=UTC)
    rating.rate_account(session, acct, now=end)
    second = invoicing.issue(session, acct, now=end)
    assert _lines(session, second.id) == [
        ("subscription", Decimal("990.00")),  # 3 accesses now
        ("number", Decimal("7.00")),
        ("prorata", Decimal("165.45")),  # 330 × 183/365 days = 165.4520…
        ("usage", Decimal("0.40")),
    ]
    # 1162.85; VAT 19 % 220.9415 → 220.94; 1383.79
    assert (second.subtotal, second.tax, second.total) == (
        Decimal("1162.85"), Decimal("220.94"), Decimal("1383.79"),
    )  # fmt: skip
    receivable = ledger.balance(session, books.receivable(acct), "USD")
    assert receivable == first.total + second.total
