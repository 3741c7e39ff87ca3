"""The audit log: every refusal and every enforcement action of the terms engine.

Rows are only ever added (on SQLite, triggers refuse UPDATE and DELETE). Each says who
acted, what they tried or what the platform did, the rule and reason code, and the
inputs that mattered, so an operator can answer "why was this refused?" afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy.decision import Decision, refuse
from dialtone.services.ids import new_id
from dialtone.store.models import AuditEvent

# "flagged": a limit passed that the operator is told of, with no action (TERMS M8).
OUTCOMES = ("refused", "enforced", "flagged")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event to record (built where the decision was taken, written in a batch)."""

    at: datetime
    account_id: str | None
    actor: str
    action: str
    outcome: str
    rule: str | None
    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_decision(
        cls,
        decision: Decision,
        *,
        at: datetime,
        account_id: str | None,
        actor: str,
        action: str,
        outcome: str = "refused",
        **inputs: Any,
    ) -> AuditEntry:
        """The entry for a refused (or enforced) decision, with the decision's details
        and ``inputs`` (what the caller knew: the number dialled, the user…)."""
        assert decision.code is not None, "an allowed decision is not audited"
        return cls(
            at=at,
            account_id=account_id,
            actor=actor,
            action=action,
            outcome=outcome,
            rule=decision.rule,
            code=decision.code,
            message=decision.message,
            details={**inputs, **decision.details},
        )

    @classmethod
    def of_error(
        cls,
        error: DialtoneError,
        *,
        at: datetime,
        account_id: str | None,
        actor: str,
        action: str,
    ) -> AuditEntry:
        """The entry for a refusal raised as an API error."""
        return cls(
            at=at,
            account_id=account_id,
            actor=actor,
            action=action,
            outcome="refused",
            rule=error.rule,
            code=error.code,
            message=error.message,
            details=dict(error.details),
        )


def record(session: Session, entries: list[AuditEntry]) -> list[AuditEvent]:
    """Append ``entries`` to the log (in the caller's transaction)."""
    rows = []
    for entry in entries:
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {entry.outcome!r}")
        rows.append(
            AuditEvent(
                id=new_id("AE"),
                at=entry.at,
                account_id=entry.account_id,
                actor=entry.actor,
                action=entry.action,
                outcome=entry.outcome,
                rule=entry.rule,
                code=entry.code,
                message=entry.message,
                details=json.dumps(dict(entry.details), sort_keys=True, default=str),
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def record_decision(
    session: Session,
    decision: Decision,
    *,
    at: datetime,
    account_id: str | None,
    actor: str,
    action: str,
    outcome: str = "refused",
    **inputs: Any,
) -> AuditEvent:
    """Put one decision on the log (in the caller's transaction): a refusal, or with
    ``outcome="enforced"`` an action the platform took, with the inputs that mattered."""
    entry = AuditEntry.of_decision(
        decision,
        at=at,
        account_id=account_id,
        actor=actor,
        action=action,
        outcome=outcome,
        **inputs,
    )
    [row] = record(session, [entry])
    return row


def record_enforcement(
    session: Session,
    code: str,
    message: str,
    *,
    at: datetime,
    account_id: str | None,
    actor: str,
    action: str,
    **inputs: Any,
) -> AuditEvent:
    """Put an action the platform took under the rule of ``code`` on the log (a
    revocation, a suspension, a rotation…)."""
    return record_decision(
        session,
        refuse(code, message),
        at=at,
        account_id=account_id,
        actor=actor,
        action=action,
        outcome="enforced",
        **inputs,
    )


def details_of(row: AuditEvent) -> dict[str, Any]:
    """The stored inputs of an event, as a mapping."""
    value = json.loads(row.details)
    return value if isinstance(value, dict) else {}


def list_events(
    session: Session,
    account_id: str | None,
    *,
    rule: str | None = None,
    code: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before: str | None = None,
) -> tuple[list[AuditEvent], str | None]:
    """Events newest first, ``limit`` at a time: an account's, or every one when
    ``account_id`` is None (the operator's view); only those of ``rule``, ``code``,
    ``outcome`` and at or after ``since`` and before ``until`` when given. ``before`` is
    the previous page's cursor; returns the page and the next cursor (None at the end)."""
    if not 1 <= limit <= 500:
        raise DialtoneError("request.invalid", "limit must be between 1 and 500.")
    query = select(AuditEvent)
    if account_id is not None:
        query = query.where(AuditEvent.account_id == account_id)
    if rule is not None:
        query = query.where(AuditEvent.rule == rule)
    if code is not None:
        query = query.where(AuditEvent.code == code)
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise DialtoneError("request.invalid", f"outcome is one of {', '.join(OUTCOMES)}.")
        query = query.where(AuditEvent.outcome == outcome)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if before is not None:
        anchor = session.get(AuditEvent, before)
        if anchor is None or (account_id is not None and anchor.account_id != account_id):
            raise DialtoneError("request.invalid_cursor", "Unknown page cursor.")
        query = query.where(
            or_(
                AuditEvent.at < anchor.at,
                and_(AuditEvent.at == anchor.at, AuditEvent.id < anchor.id),
            )
        )
    rows = list(
        session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1))
    )
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor
