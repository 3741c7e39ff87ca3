"""Port-in requests and port-outs (TERMS N4, N5, N2), around the pure state machine of
:mod:`dialtone.policy.porting`.

A port-in is the customer's file: the numbers, the documents (stored sealed, like
recordings: they are identity papers), submitted once complete, scheduled inside the
carriers' weekday window (or outside it with the fee accepted), cancellable before its
effective day, and completed or rejected by the operator, who deals with the carriers:
completion leases the numbers to the account as ported numbers and ends the previous
line. A port-out is asked by the new operator; when the terms allow it the number's line
and services end here (it leaves the account).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy import porting
from dialtone.policy.decision import Decision, refuse
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers
from dialtone.services.numbering.kyc import MAX_DOCUMENT_BYTES
from dialtone.store import sealed
from dialtone.store.models import AuditEvent, PhoneNumber, PortInRequest, QuarantinedNumber

MAX_NUMBERS = 100
# The audit log's action of a port-out decision: its only record.
PORT_OUT_ACTION = "number.port_out"


def _value(row: PortInRequest) -> porting.PortIn:
    effective = datetime.fromisoformat(row.effective_local) if row.effective_local else None
    return porting.PortIn(
        numbers=tuple(json.loads(row.numbers)),
        documents=frozenset(json.loads(row.documents)),
        state=row.state,  # type: ignore[arg-type]
        submitted_at=row.submitted_at,
        effective_at=effective,
        out_of_window_fee=row.out_of_window_fee,
        previous_line_ended=row.previous_line_ended,
        closed_at=row.closed_at,
        rejection=row.rejection,
    )


def _store(row: PortInRequest, value: porting.PortIn) -> None:
    row.documents = json.dumps(sorted(value.documents))
    row.state = value.state
    row.submitted_at = value.submitted_at
    row.effective_at = value.effective_at
    row.effective_local = value.effective_at.isoformat() if value.effective_at else None
    row.out_of_window_fee = value.out_of_window_fee
    row.previous_line_ended = value.previous_line_ended
    row.closed_at = value.closed_at
    row.rejection = value.rejection


def _apply(row: PortInRequest, outcome: porting.PortIn | Decision) -> PortInRequest:
    if isinstance(outcome, Decision):
        raise outcome.as_error()
    _store(row, outcome)
    return row


def create(session: Session, account_id: str, wanted: list[str], *, now: datetime) -> PortInRequest:
    """A draft port-in for ``wanted`` (E.164; 409 ``number.held`` when one is already on
    the platform: it cannot be ported in)."""
    if not 1 <= len(wanted) <= MAX_NUMBERS:
        raise DialtoneError("request.invalid", f"A port-in holds 1 to {MAX_NUMBERS} numbers.")
    e164 = sorted({numbers.to_e164(n) for n in wanted})
    held = session.scalars(select(PhoneNumber.number).where(PhoneNumber.number.in_(e164))).all()
    if held:
        raise Conflict("number.held", f"{', '.join(held)} is already on the platform.", rule="N2")
    row = PortInRequest(
        id=new_id("PI"),
        account_id=account_id,
        numbers=json.dumps(e164),
        documents="[]",
        state="draft",
        created_at=now,
        out_of_window_fee=False,
        previous_line_ended=False,
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, account_id: str | None, port_id: str) -> PortInRequest:
    """One port-in (of ``account_id``; None: the operator's view of any)."""
    row = session.get(PortInRequest, port_id)
    if row is None or (account_id is not None and row.account_id != account_id):
        raise NotFound("port_in.not_found", f"No port-in {port_id}.")
    return row


def list_requests(session: Session, account_id: str) -> list[PortInRequest]:
    """The account's port-ins, newest first."""
    return list(
        session.scalars(
            select(PortInRequest)
            .where(PortInRequest.account_id == account_id)
            .order_by(PortInRequest.created_at.desc(), PortInRequest.id.desc())
        )
    )


def add_document(
    session: Session,
    account_id: str,
    port_id: str,
    kind: str,
    data: bytes,
    *,
    documents_dir: Path,
    key: bytes,
    required: frozenset[str] = porting.PORT_IN_DOCUMENTS,
) -> PortInRequest:
    """Receive one document of a draft port-in (a mandate, a carrier bill, the
    signatory's identity), stored sealed; a second one of a kind replaces the first."""
    row = get(session, account_id, port_id)
    if kind not in required:
        raise DialtoneError("request.invalid", f"document kinds: {', '.join(sorted(required))}.")
    if not data or len(data) > MAX_DOCUMENT_BYTES:
        raise DialtoneError("request.invalid", "A document is 1 byte to 10 MiB.")
    value = _value(row)
    if value.state != "draft":
        raise refuse(
            "port_in.wrong_state",
            f"a {value.state} port-in takes no more documents",
            state=value.state,
            step="documented",
        ).as_error()
    folder = documents_dir / account_id / port_id
    folder.mkdir(parents=True, exist_ok=True)
    sealed.write(data, folder / f"{kind}{sealed.SUFFIX}", key)
    return _apply(row, replace(value, documents=value.documents | {kind}))


def submit(
    session: Session,
    account_id: str,
    port_id: str,
    *,
    now: datetime,
    required: frozenset[str] = porting.PORT_IN_DOCUMENTS,
) -> PortInRequest:
    """Start the request: refused (``port_in.incomplete``, N4) while a document is
    missing."""
    row = get(session, account_id, port_id)
    return _apply(row, porting.submit(_value(row), now=now, required=required))


def schedule(
    session: Session,
    account_id: str,
    port_id: str,
    effective_at: datetime,
    *,
    now: datetime,
    accept_fee: bool = False,
) -> PortInRequest:
    """Set the effective date (``effective_at`` in the carriers' time): a weekday
    inside their technical window, or outside it with the extra fee accepted (N4)."""
    row = get(session, account_id, port_id)
    return _apply(row, porting.schedule(_value(row), effective_at, now=now, accept_fee=accept_fee))


def cancel(session: Session, account_id: str, port_id: str, *, now: datetime) -> PortInRequest:
    """The customer cancels before the effective day (N4)."""
    row = get(session, account_id, port_id)
    return _apply(row, porting.cancel(_value(row), now=now))


def reject(session: Session, port_id: str, reason: str, *, now: datetime) -> PortInRequest:
    """The operator (the losing carrier) rejects the request."""
    row = get(session, None, port_id)
    return _apply(row, porting.reject(_value(row), reason, now=now))


def complete(session: Session, port_id: str, *, now: datetime) -> PortInRequest:
    """The port happened: the numbers are leased to the account as ported numbers (N6
    kind) and the previous line is ended (N4)."""
    row = get(session, None, port_id)
    value = porting.complete(_value(row), now=now)
    if isinstance(value, Decision):
        raise value.as_error()
    for number in value.numbers:
        numbers.add_number(session, row.account_id, number, now=now, kind="ported")
    return _apply(row, value)


def port_out(
    session: Session,
    number: str,
    *,
    requested_on: date,
    period_end: date,
    address_proven: bool,
    now: datetime,
    notice_days: int = porting.PORT_OUT_NOTICE_DAYS,
    platform_numbers: bool = porting.PLATFORM_NUMBERS_PORT_OUT,
    actor: str = "operator",
) -> Decision:
    """A port-out the new operator asked for on ``requested_on`` (N5, N2): decided by
    the terms; when allowed, the number's line and services end here (it leaves the
    account). Either way the decision is on the audit log."""
    row = numbers.find_holder(session, number)
    if row is None:
        released = session.get(QuarantinedNumber, numbers.to_e164(number))
        if released is None:
            raise NotFound("number.not_found", f"Nobody holds {number}.")
        # The account closed (its numbers went to quarantine): never after termination.
        gone = porting.PortOutFacts(
            number=released.number,
            origin="platform",
            local_address_proven=address_proven,
            period_end=period_end,
            terminated_on=released.released_at.date(),
        )
        return porting.port_out(gone, requested_on, notice_days=notice_days)
    account = get_account(session, row.account_id)
    facts = porting.PortOutFacts(
        number=row.number,
        origin="ported_in" if row.kind == "ported" else "platform",
        local_address_proven=address_proven,
        period_end=period_end,
        terminated_on=account.closed_at.date() if account.closed_at else None,
    )
    decision = porting.port_out(
        facts, requested_on, notice_days=notice_days, platform_numbers=platform_numbers
    )
    account_id = row.account_id
    if decision.allowed:
        numbers.release_number(session, account_id, row.number)
        record = refuse(
            "port_out.completed", f"{row.number} ported out: its line and services ended"
        )
    else:
        record = decision
    audit.record_decision(
        session,
        record,
        at=now,
        account_id=account_id,
        actor=actor,
        action=PORT_OUT_ACTION,
        outcome="enforced" if decision.allowed else "refused",
        number=row.number,
        requested_on=requested_on.isoformat(),
    )
    session.flush()
    return decision


def port_outs(session: Session, account_id: str, *, limit: int = 100) -> list[AuditEvent]:
    """The port-outs asked of the account's numbers and how the terms decided each (N5,
    N2), newest first: :func:`port_out` keeps no request of its own, its record is the
    audit log's (``port_out.completed`` when the number left, the refusal otherwise)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.account_id == account_id, AuditEvent.action == PORT_OUT_ACTION)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
