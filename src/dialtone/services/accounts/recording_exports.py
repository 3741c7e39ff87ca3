"""Exporting an account's recordings (TERMS D5).

An export gathers every call recording and voicemail message of the account, opened
from their sealed files, into one ZIP archive, itself sealed at rest. The archive is the
backup the terms ask for: it is kept until the customer confirms the transfer, and only
then deleted. The recordings themselves stay until the customer deletes them.
"""

from __future__ import annotations

import os
import zipfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, NotFound
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.store import sealed
from dialtone.store.files import remove_after_commit
from dialtone.store.models import CallRecord, RecordingExport, Voicemail


def _sources(session: Session, account_id: str) -> list[tuple[str, Path]]:
    calls = session.execute(
        select(CallRecord.id, CallRecord.recording_path).where(
            CallRecord.account_id == account_id, CallRecord.recording_path.is_not(None)
        )
    ).all()
    messages = session.execute(
        select(Voicemail.id, Voicemail.path).where(Voicemail.account_id == account_id)
    ).all()
    found = [(f"calls/{cid}.wav", Path(p)) for cid, p in calls if p]
    found += [(f"voicemail/{vid}.wav", Path(p)) for vid, p in messages if p]
    return [(name, path) for name, path in found if path.is_file()]


def create(
    session: Session, account_id: str, *, now: datetime, exports_dir: Path, key: bytes
) -> RecordingExport:
    """Build the archive of the account's recordings (sealed at rest) and record it."""
    get_account(session, account_id)
    export_id = new_id("RX")
    folder = exports_dir / account_id
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / f"{export_id}.zip"
    sources = _sources(session, account_id)
    try:
        with zipfile.ZipFile(plain, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, path in sources:
                with archive.open(name, "w") as member:
                    for chunk in sealed.recording_chunks(path, key):
                        member.write(chunk)
        with plain.open("rb") as written:
            os.fsync(written.fileno())
        stored = sealed.seal(plain, key)
    finally:
        plain.unlink(missing_ok=True)
    row = RecordingExport(
        id=export_id,
        account_id=account_id,
        created_at=now,
        files=len(sources),
        path=str(stored),
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, account_id: str, export_id: str) -> RecordingExport:
    """One of the account's exports."""
    row = session.get(RecordingExport, export_id)
    if row is None or row.account_id != account_id:
        raise NotFound("export.not_found", f"The account has no export {export_id}.")
    return row


def list_exports(session: Session, account_id: str) -> list[RecordingExport]:
    """The account's exports, newest first."""
    return list(
        session.scalars(
            select(RecordingExport)
            .where(RecordingExport.account_id == account_id)
            .order_by(RecordingExport.created_at.desc(), RecordingExport.id.desc())
        )
    )


def confirm(session: Session, account_id: str, export_id: str, *, now: datetime) -> RecordingExport:
    """The customer confirms the transfer: the backup archive goes once that is
    committed."""
    row = get(session, account_id, export_id)
    if row.confirmed_at is not None:
        raise Conflict("export.confirmed", f"Export {export_id} was confirmed already.")
    path = row.path
    row.confirmed_at, row.path = now, None
    session.flush()
    if path:
        remove_after_commit(session, path)
    return row
