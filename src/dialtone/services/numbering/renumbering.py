"""Changing a customer's number with notice (TERMS N14).

The operator schedules it: the new number is leased to the account at once with the old
one's route and greeting, so it works during the notice; the old number keeps working
until the effective date, when the scheduler's run releases it into the N7 quarantine
(nobody else gets it for six months, so its callers do not reach a stranger). The
notice is on the audit log (sending it by email is not built). The run is idempotent and
dates what it does when it was due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy import lifecycle
from dialtone.services.accounts import audit
from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers
from dialtone.store.models import QuarantinedNumber, Renumbering

DEFAULT_NOTICE_DAYS = 30


def _record(
    session: Session, code: str, message: str, *, row: Renumbering, at: datetime, actor: str
) -> None:
    audit.record_enforcement(
        session,
        code,
        message,
        at=at,
        account_id=row.account_id,
        actor=actor,
        action="number.renumber",
        old_number=row.old_number,
        new_number=row.new_number,
        effective_at=row.effective_at.isoformat(),
    )


def schedule(
    session: Session,
    old: str,
    new: str,
    *,
    now: datetime,
    reason: str,
    notice_days: int = DEFAULT_NOTICE_DAYS,
    actor: str = "operator",
) -> Renumbering:
    """Give the holder of ``old`` the number ``new`` (leased now, same route and
    greeting) and release ``old`` after ``notice_days`` (TERMS N14)."""
    if notice_days < 1:
        raise DialtoneError("request.invalid", "A renumbering gives at least a day's notice.")
    current = numbers.find_holder(session, old)
    if current is None:
        raise NotFound("number.not_found", f"Nobody holds {old}.")
    pending = session.scalar(
        select(Renumbering).where(
            Renumbering.old_number == current.number, Renumbering.done_at.is_(None)
        )
    )
    if pending is not None:
        raise DialtoneError(
            "request.invalid", f"{current.number} is already being renumbered.", status=409
        )
    added = numbers.add_number(session, current.account_id, new, now=now, kind=current.kind)
    added.route_kind, added.route_target = current.route_kind, current.route_target
    added.no_answer_seconds = current.no_answer_seconds
    added.voicemail_user_id, added.greeting = current.voicemail_user_id, current.greeting
    row = Renumbering(
        id=new_id("RN"),
        account_id=current.account_id,
        old_number=current.number,
        new_number=added.number,
        reason=reason.strip() or "renumbering",
        notified_at=now,
        effective_at=now + timedelta(days=notice_days),
    )
    session.add(row)
    session.flush()
    _record(
        session,
        "renumbering.notice",
        f"Notice: {row.old_number} is replaced by {row.new_number} ({row.reason}); "
        f"{row.old_number} stops working {row.effective_at.isoformat()}.",
        row=row,
        at=now,
        actor=actor,
    )
    return row


def run(session: Session, now: datetime, *, actor: str = "scheduler:renumbering") -> list[str]:
    """Release every old number whose notice has ended (into the N7 quarantine), dated
    when it was due; returns the numbers released now."""
    due = session.scalars(
        select(Renumbering).where(Renumbering.done_at.is_(None), Renumbering.effective_at <= now)
    ).all()
    released = []
    for row in due:
        current = numbers.find_holder(session, row.old_number)
        if current is not None and current.account_id == row.account_id:
            session.delete(current)
            session.merge(
                QuarantinedNumber(
                    number=row.old_number,
                    account_id=row.account_id,
                    released_at=row.effective_at,
                    available_at=lifecycle.quarantine_ends(row.effective_at),
                )
            )
        row.done_at = row.effective_at
        _record(
            session,
            "renumbering.done",
            f"{row.old_number} was released; {row.new_number} replaces it.",
            row=row,
            at=now,
            actor=actor,
        )
        released.append(row.old_number)
    session.flush()
    return released


def list_renumberings(session: Session, account_id: str) -> list[Renumbering]:
    """The account's renumberings, the latest notice first."""
    return list(
        session.scalars(
            select(Renumbering)
            .where(Renumbering.account_id == account_id)
            .order_by(Renumbering.notified_at.desc(), Renumbering.id.desc())
        )
    )
