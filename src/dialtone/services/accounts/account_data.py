"""An account's data as a whole: its export, and its purge after retention (TERMS V15,
D6).

The export is everything the platform holds for the account (its content is the
customer's, D6), as plain JSON, without secrets (API key hashes, SIP digest hashes, trunk
passwords). The purge deletes the account and everything that cascades from it, and
returns the files (recordings, voicemail audio, greetings) for the caller to delete once
the deletion is committed; it is refused until the records' retention has run (one
calendar year after the agreement ended, V15). The audit log is kept: it outlives the
account by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from dialtone.policy import retention
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.store.agent_models import AgentKnowledge, AgentProfileRow, AgentReport
from dialtone.store.email_models import EmailMessage, EmailSuppression
from dialtone.store.messaging_models import (
    Message,
    SenderName,
    SmppLogin,
    SmsConsent,
    SmsOptOut,
)
from dialtone.store.models import (
    Account,
    ApiKey,
    AuditEvent,
    Base,
    CallRecord,
    DncEntry,
    ErrorLogEntry,
    KycDocument,
    PhoneNumber,
    RecordingExport,
    RingGroup,
    Trunk,
    User,
    Voicemail,
)

# Never exported: hashes and secrets are the platform's to check, not the customer's data.
SECRET_COLUMNS = frozenset(
    {
        "key_hash",
        "ha1_md5",
        "ha1_sha256",
        "password",
        "password_sealed",
        "password_hash",
        "calendar_password_sealed",
        "model_api_key_sealed",
    }
)

_SECTIONS: tuple[tuple[str, type[Base]], ...] = (
    ("users", User),
    ("numbers", PhoneNumber),
    ("ring_groups", RingGroup),
    ("trunks", Trunk),
    ("api_keys", ApiKey),
    ("call_records", CallRecord),
    ("voicemails", Voicemail),
    ("dnc_entries", DncEntry),
    ("error_log", ErrorLogEntry),
    ("messages", Message),
    ("sms_consents", SmsConsent),
    ("sms_opt_outs", SmsOptOut),
    ("smpp_logins", SmppLogin),
    ("sender_names", SenderName),
    ("emails", EmailMessage),
    ("email_suppressions", EmailSuppression),
    ("agents", AgentProfileRow),
    ("agent_knowledge", AgentKnowledge),
    ("agent_reports", AgentReport),
)


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(row: Base) -> dict[str, Any]:
    return {
        column.key: _plain(getattr(row, column.key))
        for column in inspect(type(row)).columns
        if column.key not in SECRET_COLUMNS
    }


def record(row: Base) -> dict[str, Any]:
    """One row as the export shows it: plain JSON values, secrets left out."""
    return _row(row)


def export(session: Session, account_id: str, *, now: datetime) -> dict[str, Any]:
    """Everything held for the account as JSON-ready values: the account, its users,
    numbers, ring groups, trunks, keys (metadata), call records, voicemail (metadata and
    transcripts; the audio is downloaded per message), do-not-call list, messages,
    opt-ins and opt-outs, SMPP logins (metadata), sender IDs, emails and the email
    suppression list, AI agents (their secrets left out), their knowledge and call
    reports, and audit log."""
    account = get_account(session, account_id)
    data: dict[str, Any] = {"exported_at": now.isoformat(), "account": _row(account)}
    for name, model in _SECTIONS:
        column = model.__table__.c.account_id
        rows = session.scalars(select(model).where(column == account_id)).all()
        data[name] = [_row(r) for r in rows]
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.account_id == account_id).order_by(AuditEvent.at)
    ).all()
    data["audit_events"] = [_row(e) for e in events]
    return data


@dataclass(frozen=True, slots=True)
class Purged:
    """A purged account and the files left for the caller to delete after the commit."""

    account_id: str
    files: list[Path]
    directories: list[Path]


def _files(session: Session, account: Account, greetings_dir: Path) -> list[Path]:
    # (column naming a file, the folder it is relative to: None when it is a full path)
    columns: tuple[tuple[Any, Path | None], ...] = (
        (CallRecord.recording_path, None),
        (Voicemail.path, None),
        (PhoneNumber.greeting, greetings_dir),
        (User.voicemail_greeting, greetings_dir),
        (KycDocument.path, None),
        (RecordingExport.path, None),
    )
    files = []
    for column, folder in columns:
        owner = column.class_.account_id == account.id
        for name in session.scalars(select(column).where(owner, column.is_not(None))):
            if name:
                files.append(folder / name if folder is not None else Path(name))
    return files


def purge(
    session: Session,
    account_id: str,
    *,
    now: datetime,
    recordings_dir: Path,
    greetings_dir: Path,
    years: int = retention.DEFAULT_RETENTION_YEARS,
    actor: str = "operator",
) -> Purged:
    """Delete a closed account's records once their retention has run (TERMS V15:
    ``retention.account_open`` or ``retention.hold`` otherwise), with an audit entry."""
    account = get_account(session, account_id)
    decision = retention.purge(account.closed_at, now, years=years)
    if decision.refused:
        raise decision.as_error()
    files = _files(session, account, greetings_dir)
    session.execute(delete(ErrorLogEntry).where(ErrorLogEntry.account_id == account_id))
    session.delete(account)
    audit.record_enforcement(
        session,
        "retention.purged",
        f"account {account_id} purged: its agreement ended "
        f"{account.closed_at.isoformat() if account.closed_at else '?'}",
        at=now,
        account_id=account_id,
        actor=actor,
        action="account.purge",
        files=len(files),
    )
    session.flush()
    return Purged(account_id, files, [recordings_dir / account_id])


def purge_due(
    session: Session,
    now: datetime,
    *,
    recordings_dir: Path,
    greetings_dir: Path,
    years: int = retention.DEFAULT_RETENTION_YEARS,
) -> list[Purged]:
    """Every closed account whose retention has run, purged (the scheduler's step;
    idempotent: a purged account is gone)."""
    closed = session.scalars(select(Account).where(Account.closed_at.is_not(None))).all()
    return [
        purge(
            session,
            account.id,
            now=now,
            recordings_dir=recordings_dir,
            greetings_dir=greetings_dir,
            years=years,
            actor="scheduler:retention",
        )
        for account in closed
        if account.closed_at is not None
        and retention.purge(account.closed_at, now, years=years).allowed
    ]
