"""Identity documents and number activation (TERMS N3), around :mod:`dialtone.policy.kyc`.

The customer sends its documents (company registration, identity, proof of address with
the address's country); they are stored sealed, like recordings. The operator reviews
them. A number the customer leases over the API is activated once the documents its
type and zone require are approved (until then it takes and places no calls); numbers
the operator leases on the customer's behalf are activated at once (the operator vouches
for the file). A false declaration the operator notifies must be corrected within 8
days, or the scheduler's run ends the service (the account is closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy import kyc
from dialtone.policy.decision import Decision
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.services.numbering import lifecycle
from dialtone.store import sealed
from dialtone.store.models import Account, KycDocument, PhoneNumber

KINDS = ("company_registration", "identity", "proof_of_address")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def documents(session: Session, account_id: str) -> list[KycDocument]:
    """The account's documents, by kind."""
    return list(
        session.scalars(
            select(KycDocument)
            .where(KycDocument.account_id == account_id)
            .order_by(KycDocument.kind)
        )
    )


def _facts(rows: list[KycDocument]) -> list[kyc.Document]:
    return [
        kyc.Document(kind=row.kind, state=row.state, country=row.country)  # type: ignore[arg-type]
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class KycStatus:
    """Where an account's file stands (TERMS N3): its documents, the leased numbers
    still waiting for activation with what each lacks, a correction due."""

    documents: list[KycDocument]
    waiting: list[tuple[str, Decision]]
    correction_due: datetime | None


def status(session: Session, account: Account) -> KycStatus:
    """The account's documents, the numbers waiting for them and, when a false
    declaration was notified and not corrected yet, the date the service ends (N3)."""
    waiting = session.scalars(
        select(PhoneNumber.number)
        .where(PhoneNumber.account_id == account.id, PhoneNumber.activated_at.is_(None))
        .order_by(PhoneNumber.number)
    ).all()
    notified = None if account.kyc_corrected_at is not None else account.kyc_notified_at
    return KycStatus(
        documents=documents(session, account.id),
        waiting=[(n, activation(session, account.id, n)) for n in waiting],
        correction_due=kyc.correction_deadline(notified) if notified else None,
    )


def activation(session: Session, account_id: str, number: str) -> Decision:
    """May ``number`` be activated for the account with the documents it has (N3)?"""
    return kyc.activation(number, _facts(documents(session, account_id)))


def upload(
    session: Session,
    account_id: str,
    kind: str,
    data: bytes,
    *,
    country: str | None,
    now: datetime,
    documents_dir: Path,
    key: bytes,
) -> KycDocument:
    """Receive one document (a new one of a kind replaces the last and waits for review
    again), stored sealed."""
    if kind not in KINDS:
        raise DialtoneError("request.invalid", f"document kinds: {', '.join(KINDS)}.")
    if not data or len(data) > MAX_DOCUMENT_BYTES:
        raise DialtoneError("request.invalid", "A document is 1 byte to 10 MiB.")
    if kind == "proof_of_address" and (not country or len(country) != 2):
        raise DialtoneError(
            "request.invalid", "A proof of address names its country (ISO 3166, e.g. FR)."
        )
    get_account(session, account_id)
    folder = documents_dir / account_id / "kyc"
    folder.mkdir(parents=True, exist_ok=True)
    path = sealed.write(data, folder / f"{kind}{sealed.SUFFIX}", key)
    row = session.scalar(
        select(KycDocument).where(KycDocument.account_id == account_id, KycDocument.kind == kind)
    )
    if row is None:
        row = KycDocument(id=new_id("KY"), account_id=account_id, kind=kind, path=str(path))
        session.add(row)
    row.country = country.upper() if country else None
    row.state, row.received_at, row.reviewed_at, row.note = "pending", now, None, None
    session.flush()
    return row


def review(
    session: Session,
    account_id: str,
    kind: str,
    *,
    approve: bool,
    now: datetime,
    note: str | None = None,
    false_declaration: bool = False,
    actor: str = "operator",
) -> list[str]:
    """The operator's review of one document. Approved, the account's numbers waiting
    for it are activated (returned); rejected as a false declaration, the 8-day
    correction window starts (N3, on the audit log)."""
    row = session.scalar(
        select(KycDocument).where(KycDocument.account_id == account_id, KycDocument.kind == kind)
    )
    if row is None:
        raise NotFound("kyc.not_found", f"The account has sent no {kind} document.")
    row.state, row.reviewed_at, row.note = ("approved" if approve else "rejected"), now, note
    account = get_account(session, account_id)
    if not approve and false_declaration and account.kyc_notified_at is None:
        account.kyc_notified_at, account.kyc_corrected_at = now, None
        audit.record_enforcement(
            session,
            "kyc.correction_notice",
            f"The {kind.replace('_', ' ')} declared is false or incorrect ({note or 'no note'}):"
            f" correct it by {kyc.correction_deadline(now).isoformat()} or the service ends.",
            at=now,
            account_id=account_id,
            actor=actor,
            action="kyc.review",
            kind=kind,
        )
    if approve and account.kyc_notified_at is not None and account.kyc_corrected_at is None:
        facts = _facts(documents(session, account_id))
        if all(d.state != "rejected" for d in facts):
            account.kyc_corrected_at = now
    session.flush()
    return activate_pending(session, account_id, now=now)


def activate_pending(session: Session, account_id: str, *, now: datetime) -> list[str]:
    """Activate the account's numbers whose documents are now all approved (N3)."""
    facts = _facts(documents(session, account_id))
    activated = []
    waiting = session.scalars(
        select(PhoneNumber).where(
            PhoneNumber.account_id == account_id, PhoneNumber.activated_at.is_(None)
        )
    ).all()
    for row in waiting:
        if kyc.activation(row.number, facts).allowed:
            row.activated_at = now
            activated.append(row.number)
    session.flush()
    return activated


def review_corrections(session: Session, now: datetime) -> list[str]:
    """The scheduler's step: end the service (close the account, N7 quarantine for its
    numbers) of every account whose notified false declaration was not corrected within
    8 days. Idempotent: a closed account is not looked at again."""
    rows = session.scalars(
        select(Account).where(
            Account.kyc_notified_at.is_not(None),
            Account.kyc_corrected_at.is_(None),
            Account.closed_at.is_(None),
        )
    ).all()
    ended = []
    for account in rows:
        assert account.kyc_notified_at is not None
        decision = kyc.correction(account.kyc_notified_at, now)
        if decision.allowed:
            continue
        due = kyc.correction_deadline(account.kyc_notified_at)
        lifecycle.close_account(session, account.id, now=due)
        audit.record_decision(
            session,
            decision,
            at=now,
            account_id=account.id,
            actor="scheduler:kyc",
            action="account.close",
            outcome="enforced",
        )
        ended.append(account.id)
    session.flush()
    return ended
