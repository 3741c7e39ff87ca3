"""TERMS M3: opt-in records, opt-outs and the proof of consent.

An account records each recipient's opt-in (where it was given, when, the wording shown,
whether it covers marketing) before messaging them; the proof is exported on request
(M3: within 24 hours). Opt-outs come from keywords the recipient sends (see
:mod:`dialtone.services.messaging.keywords`) or are recorded over the API; both kinds of
row are kept, withdrawn or not, as the history a proof needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy.messaging import PROOF_DELAY, proof_overdue
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.store.messaging_models import ConsentProofRequest, SmsConsent, SmsOptOut


@dataclass(frozen=True, slots=True)
class ConsentIn:
    """An opt-in as the account tells it."""

    recipient: str
    source: str
    wording: str
    given_at: datetime
    marketing: bool = False


def record_consent(
    session: Session, account_id: str, consent: ConsentIn, *, now: datetime
) -> SmsConsent:
    """Keep one opt-in (M3). It must have been given already and say where and with
    which words, or it proves nothing."""
    if consent.given_at > now:
        raise DialtoneError("request.invalid", "given_at: when the opt-in was given, not later.")
    if not consent.source.strip() or not consent.wording.strip():
        raise DialtoneError(
            "request.invalid", "source and wording: where the opt-in was given, and its words."
        )
    row = SmsConsent(
        id=new_id("CN"),
        account_id=account_id,
        recipient=consent.recipient,
        source=consent.source.strip(),
        wording=consent.wording,
        marketing=consent.marketing,
        given_at=consent.given_at,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def withdraw_consent(session: Session, account_id: str, consent_id: str, *, now: datetime) -> None:
    """Mark an opt-in withdrawn (the record stays, as proof of the past)."""
    row = session.get(SmsConsent, consent_id)
    if row is None or row.account_id != account_id:
        raise NotFound("consent.not_found", f"No consent {consent_id}.")
    if row.withdrawn_at is None:
        row.withdrawn_at = now


def consents_of(
    session: Session, account_id: str, recipient: str | None = None
) -> list[SmsConsent]:
    """The account's opt-in records (of one recipient), oldest first."""
    query = select(SmsConsent).where(SmsConsent.account_id == account_id)
    if recipient is not None:
        query = query.where(SmsConsent.recipient == recipient)
    return list(session.scalars(query.order_by(SmsConsent.given_at, SmsConsent.id)))


def opt_out(
    session: Session,
    account_id: str,
    recipient: str,
    *,
    sender: str | None,
    keyword: str,
    source: str,
    now: datetime,
) -> SmsOptOut:
    """Record that ``recipient`` asked ``sender`` (None: every sender of the account,
    STOPALL) to stop (M3). An opt-out already standing is returned as it is."""
    standing = session.scalar(
        select(SmsOptOut).where(
            SmsOptOut.account_id == account_id,
            SmsOptOut.recipient == recipient,
            SmsOptOut.sender.is_(None) if sender is None else SmsOptOut.sender == sender,
            SmsOptOut.opted_in_at.is_(None),
        )
    )
    if standing is not None:
        return standing
    row = SmsOptOut(
        id=new_id("OO"),
        account_id=account_id,
        recipient=recipient,
        sender=sender,
        keyword=keyword,
        source=source,
        opted_out_at=now,
    )
    session.add(row)
    session.flush()
    return row


def opt_in(
    session: Session, account_id: str, recipient: str, *, sender: str | None, now: datetime
) -> int:
    """The recipient opted back in (START, UNSTOP, YES) to ``sender``; an opt-in to one
    sender also lifts a STOPALL. The number of opt-outs lifted."""
    rows = session.scalars(
        select(SmsOptOut).where(
            SmsOptOut.account_id == account_id,
            SmsOptOut.recipient == recipient,
            SmsOptOut.opted_in_at.is_(None),
        )
    ).all()
    lifted = 0
    for row in rows:
        if sender is None or row.sender in (None, sender):
            row.opted_in_at = now
            lifted += 1
    return lifted


def opt_outs_of(session: Session, account_id: str, recipient: str | None = None) -> list[SmsOptOut]:
    """The account's opt-out records (of one recipient), newest first."""
    query = select(SmsOptOut).where(SmsOptOut.account_id == account_id)
    if recipient is not None:
        query = query.where(SmsOptOut.recipient == recipient)
    return list(session.scalars(query.order_by(SmsOptOut.opted_out_at.desc(), SmsOptOut.id)))


def proof(session: Session, account_id: str, recipient: str) -> dict[str, object]:
    """M3's proof of consent for one recipient: every opt-in with its source, time and
    wording, and every opt-out and opt-back-in, as one JSON-ready document."""
    return {
        "recipient": recipient,
        "consents": [
            {
                "id": c.id,
                "given_at": c.given_at.isoformat(),
                "source": c.source,
                "wording": c.wording,
                "marketing": c.marketing,
                "recorded_at": c.recorded_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in consents_of(session, account_id, recipient)
        ],
        "opt_outs": [
            {
                "sender": o.sender,
                "keyword": o.keyword,
                "source": o.source,
                "opted_out_at": o.opted_out_at.isoformat(),
                "opted_in_at": o.opted_in_at.isoformat() if o.opted_in_at else None,
            }
            for o in opt_outs_of(session, account_id, recipient)
        ],
    }


def request_proof(
    session: Session,
    account_id: str,
    recipient: str,
    *,
    requested_by: str,
    now: datetime,
    delay: timedelta = PROOF_DELAY,
) -> ConsentProofRequest:
    """Ask the account for the proof of ``recipient``'s consent (M3): due ``delay``
    (24 hours) from now, on the audit log."""
    get_account(session, account_id)
    row = ConsentProofRequest(
        id=new_id("PR"),
        account_id=account_id,
        recipient=recipient,
        requested_by=requested_by[:200],
        requested_at=now,
        due_at=now + delay,
    )
    session.add(row)
    session.flush()
    return row


def proof_requests(session: Session, account_id: str) -> list[ConsentProofRequest]:
    """The account's proof requests, newest first."""
    return list(
        session.scalars(
            select(ConsentProofRequest)
            .where(ConsentProofRequest.account_id == account_id)
            .order_by(ConsentProofRequest.requested_at.desc(), ConsentProofRequest.id)
        )
    )


def answer_proof_request(
    session: Session, account_id: str, request_id: str, *, now: datetime
) -> dict[str, object]:
    """The account produces the proof asked for: the document, and the request marked
    answered. A recipient with no opt-in on record has no proof (``consent.no_proof``).
    Once no request is overdue, a suspension for one ends (M3)."""
    row = session.get(ConsentProofRequest, request_id)
    if row is None or row.account_id != account_id:
        raise NotFound("consent.request_not_found", f"No proof request {request_id}.")
    document = proof(session, account_id, row.recipient)
    if not document["consents"]:
        raise Conflict(
            "consent.no_proof",
            f"No opt-in is on record for {row.recipient}: there is no proof to produce.",
            rule="M3",
        )
    if row.answered_at is None:
        row.answered_at = now
    account = get_account(session, account_id)
    if account.messaging_suspended_at is not None and not overdue_requests(
        session, account_id, now
    ):
        account.messaging_suspended_at = None
    session.flush()
    return {"request_id": row.id, "answered_at": row.answered_at.isoformat(), **document}


def overdue_requests(session: Session, account_id: str, now: datetime) -> list[ConsentProofRequest]:
    """The account's proof requests unanswered past their due time."""
    return [
        r
        for r in session.scalars(
            select(ConsentProofRequest).where(
                ConsentProofRequest.account_id == account_id,
                ConsentProofRequest.answered_at.is_(None),
            )
        )
        if proof_overdue(r.requested_at, r.answered_at, now, r.due_at - r.requested_at).refused
    ]


def review_proof_requests(session: Session, now: datetime) -> list[str]:
    """The scheduler's step (M3): suspend the messaging of every account with a proof
    request unanswered past its due time; the accounts suspended now. Idempotent."""
    rows = session.scalars(
        select(ConsentProofRequest).where(
            ConsentProofRequest.answered_at.is_(None), ConsentProofRequest.due_at <= now
        )
    ).all()
    suspended: list[str] = []
    for request in rows:
        account = get_account(session, request.account_id)
        if account.messaging_suspended_at is not None:
            continue
        decision = proof_overdue(
            request.requested_at, None, now, request.due_at - request.requested_at
        )
        account.messaging_suspended_at = request.due_at
        audit.record_decision(
            session,
            decision,
            at=now,
            account_id=account.id,
            actor="scheduler:consent",
            action="messaging.suspend",
            outcome="enforced",
            request_id=request.id,
        )
        suspended.append(account.id)
    session.flush()
    return suspended
