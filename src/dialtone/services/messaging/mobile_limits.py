"""TERMS M8: each mobile number's last 30 days measured from the messages and call
records, and flagged for the operator when it passes one of the four limits.

A flag is an audit entry (outcome ``flagged``, code ``mobile.limit_exceeded``, the
measure and its value): the terms say "flag", not refuse. A number is flagged once a
day per measure, however often the scheduler runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.policy import numbering
from dialtone.policy.messaging import MobileLimits, MobileUsage, mobile_limits
from dialtone.services.accounts import audit
from dialtone.store.messaging_models import PLATFORM_ORIGIN, Message
from dialtone.store.models import AuditEvent, CallRecord, PhoneNumber

WINDOW = timedelta(days=30)
FLAG_ONCE_PER = timedelta(days=1)
DEFAULT_LIMITS = MobileLimits()  # the terms' four values


@dataclass(frozen=True, slots=True)
class Flag:
    """One limit a number passed."""

    account_id: str
    number: str
    measure: str
    value: int
    limit: int


def usage(session: Session, number: str, now: datetime) -> MobileUsage:
    """The number's last 30 days (M8): SMS sent and received, minutes of calls received,
    distinct recipients. The platform's own keyword answers are not the customer's."""
    since = now - WINDOW
    sent = select(Message).where(
        Message.sender == number,
        Message.direction == "outbound",
        Message.origin != PLATFORM_ORIGIN,
        Message.created_at >= since,
    )
    sms_sent = session.scalar(select(func.count()).select_from(sent.subquery())) or 0
    recipients = session.scalar(select(func.count(func.distinct(sent.subquery().c.recipient)))) or 0
    sms_received = (
        session.scalar(
            select(func.count()).where(
                Message.recipient == number,
                Message.direction == "inbound",
                Message.created_at >= since,
            )
        )
        or 0
    )
    seconds = session.scalar(
        select(func.coalesce(func.sum(CallRecord.duration), 0)).where(
            CallRecord.to_number == number,
            CallRecord.direction == "inbound",
            CallRecord.started_at >= since,
        )
    )
    minutes = int(Decimal(seconds or 0) // 60)
    return MobileUsage(int(sms_sent), int(sms_received), minutes, int(recipients))


def _flagged_recently(session: Session, number: str, measure: str, now: datetime) -> bool:
    rows = session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.code == "mobile.limit_exceeded",
            AuditEvent.outcome == "flagged",
            AuditEvent.at > now - FLAG_ONCE_PER,
        )
    )
    for text in rows:
        details = json.loads(text)
        if details.get("number") == number and details.get("measure") == measure:
            return True
    return False


def review(session: Session, now: datetime, limits: MobileLimits = DEFAULT_LIMITS) -> list[Flag]:
    """The scheduler's step (M8): flag every held mobile number over a limit."""
    flags: list[Flag] = []
    rows = session.execute(
        select(PhoneNumber.number, PhoneNumber.account_id).where(
            PhoneNumber.account_id.is_not(None)
        )
    ).all()
    for number, account_id in rows:
        if account_id is None or not numbering.is_mobile(number):
            continue
        for decision in mobile_limits(usage(session, number, now), limits):
            measure = str(decision.details["measure"])
            if _flagged_recently(session, number, measure, now):
                continue
            audit.record_decision(
                session,
                decision,
                at=now,
                account_id=account_id,
                actor="scheduler:mobile-limits",
                action="number.review",
                outcome="flagged",
                number=number,
            )
            flags.append(
                Flag(
                    account_id,
                    number,
                    measure,
                    int(str(decision.details["value"])),
                    int(str(decision.details["limit"])),
                )
            )
    return flags
