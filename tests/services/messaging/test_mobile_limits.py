"""TERMS M8: a mobile number's last 30 days, measured from messages and calls, flagged
once a day per limit passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.policy.messaging import MobileLimits
from dialtone.services.messaging import mobile_limits
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import Message
from dialtone.store.models import AuditEvent, CallRecord
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW

MOBILE = "+33612000001"


def _message(
    session: Session, account: str, n: int, *, direction: str, peer: str, at: datetime
) -> None:
    outbound = direction == "outbound"
    session.add(
        Message(
            id=f"SM{n:032d}",
            account_id=account,
            direction=direction,
            sender=MOBILE if outbound else peer,
            recipient=peer if outbound else MOBILE,
            body="x",
            encoding="GSM-7",
            segments=1,
            status="sent" if outbound else "received",
            origin="api" if outbound else "carrier",
            attempts=1,
            created_at=at,
            updated_at=at,
            expires_at=at,
        )
    )


@pytest.fixture
def mobile(session: Session, account: str) -> str:
    numbers.add_number(session, account, MOBILE, now=T0)
    return MOBILE


def test_usage_counts_the_last_30_days_only(session: Session, account: str, mobile: str) -> None:
    for n in range(3):
        _message(session, account, n, direction="outbound", peer=f"+3361234560{n % 2}", at=NOW)
    _message(session, account, 10, direction="inbound", peer="+33612345600", at=NOW)
    _message(
        session, account, 11, direction="outbound", peer="+33612345609", at=NOW - timedelta(days=31)
    )
    session.add(
        CallRecord(
            id="CA1", account_id=account, direction="inbound", from_number="+33612345600",
            to_number=MOBILE, started_at=NOW, ended_at=NOW, duration=Decimal("125.5"),
            billed_seconds=180, billing_increment="60/60", status="completed",
            hangup_cause="normal", sip_call_id="c", sip_local_tag="t",
        )
    )  # fmt: skip
    session.flush()
    used = mobile_limits.usage(session, mobile, NOW)
    assert (used.sms_sent, used.sms_received, used.minutes_received, used.distinct_recipients) == (
        3,
        1,
        2,
        2,
    )


def test_a_limit_passed_is_flagged_once_a_day(session: Session, account: str, mobile: str) -> None:
    limits = MobileLimits(sent_minus_received=2)
    for n in range(3):
        _message(session, account, n, direction="outbound", peer="+33612345600", at=NOW)
    session.flush()
    [flag] = mobile_limits.review(session, NOW, limits)
    assert (flag.number, flag.measure, flag.value, flag.limit) == (
        mobile,
        "sent_minus_received",
        3,
        2,
    )
    assert mobile_limits.review(session, NOW + timedelta(hours=23), limits) == []
    assert len(mobile_limits.review(session, NOW + timedelta(hours=25), limits)) == 1
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.code == "mobile.limit_exceeded")
    ).all()
    assert {(e.outcome, e.rule) for e in events} == {("flagged", "M8")}


def test_at_the_limit_nothing_is_flagged(session: Session, account: str, mobile: str) -> None:
    limits = MobileLimits(sent_minus_received=3)
    for n in range(3):
        _message(session, account, n, direction="outbound", peer="+33612345600", at=NOW)
    session.flush()
    assert mobile_limits.review(session, NOW, limits) == []
