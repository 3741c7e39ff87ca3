"""The number lifecycle job (TERMS N6, N7, N8) and the facts it runs on.

``run`` looks at every leased number, asks ``policy.lifecycle.due`` what is due at
``now`` and does it, each action on the audit log as an enforcement. It is idempotent
(an action done makes its condition false) and catches up after downtime (conditions
are dates compared with ``now``), so a scheduler may run it as often as it likes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy import lifecycle
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.numbering import numbers
from dialtone.store.models import Account, CallRecord, PhoneNumber, QuarantinedNumber

_CODES = {
    "revoke_unpaid": "lifecycle.revoked_unpaid",
    "quarantine": "lifecycle.quarantined",
    "notify_idle": "lifecycle.idle_notice",
    "reclaim_idle": "lifecycle.reclaimed_idle",
}


@dataclass(frozen=True, slots=True)
class Taken:
    """One action the job took."""

    number: str
    account_id: str
    action: str
    rule: str
    due_at: datetime


def _last_traffic(session: Session, number: str) -> datetime | None:
    return session.scalar(
        select(func.max(CallRecord.started_at)).where(
            or_(CallRecord.to_number == number, CallRecord.from_number == number)
        )
    )


def facts(session: Session, row: PhoneNumber, account: Account) -> lifecycle.NumberFacts:
    """What the lifecycle rules need to know of a leased number."""
    last = _last_traffic(session, row.number)
    if last is not None and last.tzinfo is None:  # SQLite's max() loses the type
        last = last.replace(tzinfo=UTC)
    return lifecycle.NumberFacts(
        number=row.number,
        kind=row.kind,
        plan=account.plan,
        app_store=account.app_store,
        account_status=account.status,
        account_closed_at=account.closed_at,
        deactivated_at=row.deactivated_at,
        leased_at=row.created_at,
        last_traffic_at=last,
        reclaim_notice_at=row.reclaim_notice_at,
    )


@dataclass(frozen=True, slots=True)
class Notice:
    """What the lifecycle rules hold over a number now: ``action`` (``revoke_unpaid``
    N6, ``reclaim_idle`` N8, ``quarantine`` N7) and when it happens (``at``, None when
    the job does it at its next run)."""

    action: str
    rule: str
    at: datetime | None


def notices(
    row: PhoneNumber,
    account: Account,
    delays: lifecycle.RevocationDelays = lifecycle.DEFAULT_DELAYS,
) -> list[Notice]:
    """The lifecycle notices of a leased number, for its holder to see: a non-payment
    deactivation and when it becomes a revocation (N6), an idle notice and when the
    number is reclaimed (N8), a closed account's numbers bound for quarantine (N7)."""
    said: list[Notice] = []
    if account.status == "closed":
        said.append(Notice("quarantine", "N7", None))
    if row.deactivated_at is not None:
        delay = lifecycle.revocation_delay(
            account.plan, row.kind, app_store=account.app_store, delays=delays
        )
        said.append(Notice("revoke_unpaid", "N6", row.deactivated_at + delay))
    if row.reclaim_notice_at is not None:
        said.append(Notice("reclaim_idle", "N8", row.reclaim_notice_at + lifecycle.NOTICE))
    return said


def run(
    session: Session,
    now: datetime,
    delays: lifecycle.RevocationDelays = lifecycle.DEFAULT_DELAYS,
) -> list[Taken]:
    """Do every lifecycle action due at ``now``; returns what was done."""
    taken: list[Taken] = []
    rows = session.execute(
        select(PhoneNumber, Account).join(Account, Account.id == PhoneNumber.account_id)
    ).all()
    for row, account in rows:
        action = lifecycle.due(facts(session, row, account), now, delays)
        if action is None:
            continue
        _apply(session, row, action, now)
        taken.append(Taken(row.number, row.account_id, action.action, action.rule, action.due_at))
        code = _CODES.get(action.action)
        if code is not None:
            audit.record_enforcement(
                session,
                code,
                _message(action.action, row.number),
                at=now,
                account_id=row.account_id,
                actor="scheduler:lifecycle",
                action=f"number.{action.action}",
                number=row.number,
                due_at=action.due_at.isoformat(),
            )
    session.flush()
    return taken


def _message(action: str, number: str) -> str:
    return {
        "revoke_unpaid": f"{number} was revoked after its non-payment deactivation",
        "quarantine": f"{number} left a closed account: quarantined for 6 months",
        "notify_idle": f"{number} has had no traffic for 3 months: reclaimed in 7 days "
        "unless used (the notice is recorded; email delivery is not built)",
        "reclaim_idle": f"{number} was reclaimed after 7 days' notice of idleness",
    }[action]


def _apply(session: Session, row: PhoneNumber, action: lifecycle.Due, now: datetime) -> None:
    if action.action == "notify_idle":
        row.reclaim_notice_at = now
    elif action.action == "cancel_notice":
        row.reclaim_notice_at = None
    else:
        if action.action == "quarantine":
            session.merge(
                QuarantinedNumber(
                    number=row.number,
                    account_id=row.account_id,
                    released_at=action.due_at,
                    available_at=lifecycle.quarantine_ends(action.due_at),
                )
            )
        session.delete(row)


def deactivate(session: Session, number: str, *, at: datetime) -> PhoneNumber:
    """TERMS N6: deactivate a number for non-payment at ``at`` (the end of the billing
    cycle); calls to it get 404 and the lifecycle job revokes it when its delay ends."""
    row = numbers.find_holder(session, number)
    if row is None:
        raise DialtoneError("number.not_found", f"Nobody holds {number}.", status=404)
    row.deactivated_at = at
    session.flush()
    return row


def reactivate(session: Session, number: str) -> PhoneNumber:
    """Payment came in before revocation: the number works again."""
    row = numbers.find_holder(session, number)
    if row is None:
        raise DialtoneError("number.not_found", f"Nobody holds {number}.", status=404)
    row.deactivated_at = None
    session.flush()
    return row


def close_account(session: Session, account_id: str, *, now: datetime) -> Account:
    """Close an account (TERMS N7: its numbers go to a 6-month quarantine when the
    lifecycle job next runs)."""
    account = get_account(session, account_id)
    account.status = "closed"
    account.closed_at = account.closed_at or now
    session.flush()
    return account
