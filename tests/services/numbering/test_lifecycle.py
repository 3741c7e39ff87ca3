"""The number lifecycle job (N6, N7, N8): idempotent, catches up after downtime, every
action on the audit log; a quarantined number cannot be leased."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import accounts, audit
from dialtone.services.numbering import lifecycle, numbers
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import CallOutcome
from dialtone.store.db import transaction
from dialtone.store.models import PhoneNumber, QuarantinedNumber
from tests.database import migrated_database

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def _state(session: Session) -> tuple[object, ...]:
    held = session.execute(
        select(
            PhoneNumber.number, PhoneNumber.reclaim_notice_at, PhoneNumber.deactivated_at
        ).order_by(PhoneNumber.number)
    ).all()
    quarantined = session.execute(
        select(QuarantinedNumber.number, QuarantinedNumber.available_at).order_by(
            QuarantinedNumber.number
        )
    ).all()
    return tuple(map(tuple, held)), tuple(map(tuple, quarantined))


def _world(session: Session) -> tuple[str, str]:
    """An active account with an unpaid number, a business number, a used one and an
    idle one; a second account that closes."""
    active = accounts.create_account(session, "Acme", now=T0).account.id
    closing = accounts.create_account(session, "Globex", now=T0).account.id
    for number, kind in (
        ("+33123450001", "random"),  # deactivated: revoked after 21 days
        ("+33123450002", "ported"),  # deactivated: revoked after 30 days
        ("+33123450003", "random"),  # in use: stays
    ):
        numbers.add_number(session, active, number, now=T0, kind=kind)
    numbers.add_number(session, closing, "+33123450009", now=T0)
    lifecycle.deactivate(session, "+33123450001", at=T0 + DAY)
    lifecycle.deactivate(session, "+33123450002", at=T0 + DAY)
    lifecycle.close_account(session, closing, now=T0 + 2 * DAY)
    return active, closing


def _traffic(session: Session, account: str, number: str, days: range) -> None:
    calls.record_calls(
        session,
        [
            CallOutcome(
                account_id=account,
                direction="inbound",
                from_number="+33612345678",
                to_number=number,
                started_at=T0 + d * DAY,
                answered_at=None,
                ended_at=T0 + d * DAY,
                status="no-answer",
                hangup_cause="timeout",
                sip_call_id=f"{number}-{d}",
                sip_local_tag="t",
            )
            for d in days
        ],
    )


def test_daily_runs_and_one_run_after_downtime_end_the_same(tmp_path: Path) -> None:
    results = []
    for schedule in ("daily", "once"):
        _, sessions = migrated_database(tmp_path / f"{schedule}.db")
        with transaction(sessions) as session:
            active, _ = _world(session)
            _traffic(session, active, "+33123450003", range(0, 45, 2))
            end = T0 + 40 * DAY
            if schedule == "daily":
                for day in range(41):
                    lifecycle.run(session, T0 + day * DAY)
            else:
                lifecycle.run(session, end)
            first = _state(session)
            lifecycle.run(session, end)  # a second run on the same day changes nothing
            assert _state(session) == first
            results.append(first)
    assert results[0] == results[1]
    held, quarantined = results[0]
    assert [h[0] for h in held] == ["+33123450003"]  # both unpaid numbers revoked
    assert quarantined == (("+33123450009", datetime(2026, 9, 4, 9, tzinfo=UTC)),)


def test_each_action_is_audited_and_deactivation_stops_routing(
    session: Session,
) -> None:
    active, closing = _world(session)
    assert numbers.find_holder(session, "+33123450001") is not None
    taken = lifecycle.run(session, T0 + 22 * DAY)
    assert sorted((t.number, t.action, t.rule) for t in taken) == [
        ("+33123450001", "revoke_unpaid", "N6"),
        ("+33123450009", "quarantine", "N7"),
    ]
    events, _ = audit.list_events(session, None)
    assert sorted((e.code, e.outcome, e.actor) for e in events) == [
        ("lifecycle.quarantined", "enforced", "scheduler:lifecycle"),
        ("lifecycle.revoked_unpaid", "enforced", "scheduler:lifecycle"),
    ]
    assert {e.account_id for e in events} == {active, closing}
    assert lifecycle.run(session, T0 + 22 * DAY) == []


def test_quarantine_blocks_leasing_until_it_ends(session: Session) -> None:
    active, _ = _world(session)
    lifecycle.run(session, T0 + 3 * DAY)
    ends = datetime(2026, 9, 4, 9, tzinfo=UTC)
    with pytest.raises(DialtoneError) as info:
        numbers.add_number(session, active, "+33123450009", now=ends - timedelta(seconds=1))
    assert (info.value.code, info.value.rule, info.value.status) == (
        "number.quarantined",
        "N7",
        409,
    )
    assert numbers.add_number(session, active, "+33123450009", now=ends).number == "+33123450009"


def test_n8_idle_notice_then_reclaim_and_downtime_delays_it(session: Session) -> None:
    account = accounts.create_account(session, "Acme", now=T0).account.id
    numbers.add_number(session, account, "+33123450005", now=T0)
    idle = datetime(2026, 6, 2, 9, tzinfo=UTC)  # 3 calendar months after leasing
    assert lifecycle.run(session, idle - timedelta(seconds=1)) == []
    assert [t.action for t in lifecycle.run(session, idle)] == ["notify_idle"]
    # The job was down for a week after the notice: the reclaim comes when it runs again,
    # never before the 7 days' notice.
    assert lifecycle.run(session, idle + 6 * DAY) == []
    assert [t.action for t in lifecycle.run(session, idle + 14 * DAY)] == ["reclaim_idle"]
    assert numbers.find_holder(session, "+33123450005") is None


def test_n8_traffic_after_the_notice_cancels_it(session: Session) -> None:
    account = accounts.create_account(session, "Acme", now=T0).account.id
    numbers.add_number(session, account, "+33123450006", now=T0)
    idle = datetime(2026, 6, 2, 9, tzinfo=UTC)
    lifecycle.run(session, idle)
    _traffic(session, account, "+33123450006", range(93, 94))  # a call after the notice
    assert [t.action for t in lifecycle.run(session, idle + 7 * DAY)] == ["cancel_notice"]
    assert numbers.find_holder(session, "+33123450006") is not None


def test_reactivation_before_revocation(session: Session) -> None:
    _world(session)
    lifecycle.reactivate(session, "+33123450001")
    taken = lifecycle.run(session, T0 + 25 * DAY)
    assert "+33123450001" not in [t.number for t in taken]
    with pytest.raises(DialtoneError):
        lifecycle.deactivate(session, "+33999999999", at=T0)
