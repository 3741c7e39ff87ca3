"""Voicemail messages: WAV files the runtime records, and their (machine) transcripts.

TERMS V9: voicemail-to-text can be wrong, so a transcript always carries the label
"machine-generated". A message is the customer's content (D6) and stays until deleted.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services.ids import new_id
from dialtone.store.models import User, Voicemail

TRANSCRIPT_LABEL = "machine-generated"
MS = Decimal("0.001")

log = logging.getLogger(__name__)


def create_voicemail(
    session: Session,
    *,
    account_id: str,
    user_id: str | None,
    number: str,
    from_number: str,
    duration: Decimal,
    path: str,
    now: datetime,
    call_record_id: str | None = None,
) -> Voicemail:
    """Record that a message was left (the runtime has written the WAV at ``path``).

    ``user_id`` is the box owner (None: the number's box); ``duration`` is kept exact to
    the millisecond.
    """
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.account_id != account_id:
            raise DialtoneError("voicemail.invalid", f"The account has no user {user_id}.")
    if duration < 0:
        raise DialtoneError("voicemail.invalid", "A duration is not negative.")
    row = Voicemail(
        id=new_id("VM"),
        account_id=account_id,
        user_id=user_id,
        number=number[:200],
        from_number=from_number[:200],
        created_at=now,
        duration=Decimal(duration).quantize(MS),
        path=path,
        heard=False,
        call_record_id=call_record_id,
    )
    session.add(row)
    session.flush()
    return row


def list_voicemails(
    session: Session,
    account_id: str,
    *,
    heard: bool | None = None,
    user_id: str | None = None,
) -> list[Voicemail]:
    """The account's messages, newest first; filtered by ``heard`` and box owner if given."""
    query = select(Voicemail).where(Voicemail.account_id == account_id)
    if heard is not None:
        query = query.where(Voicemail.heard.is_(heard))
    if user_id is not None:
        query = query.where(Voicemail.user_id == user_id)
    return list(session.scalars(query.order_by(Voicemail.created_at.desc(), Voicemail.id.desc())))


def get_voicemail(session: Session, account_id: str, vm_id: str) -> Voicemail:
    """One of the account's messages; 404 ``voicemail.not_found`` otherwise."""
    row = session.get(Voicemail, vm_id)
    if row is None or row.account_id != account_id:
        raise NotFound("voicemail.not_found", f"The account has no voicemail {vm_id}.")
    return row


def mark_heard(session: Session, account_id: str, vm_id: str, heard: bool) -> Voicemail:
    """Mark a message heard (or new again)."""
    row = get_voicemail(session, account_id, vm_id)
    row.heard = bool(heard)
    session.flush()
    return row


def set_transcript(session: Session, vm_id: str, text: str | None) -> Voicemail:
    """Store a speech-to-text transcript, labelled machine-generated (TERMS V9).

    None clears the transcript and its label. Called by transcription jobs, which have no
    account scope, hence no ``account_id``.
    """
    row = session.get(Voicemail, vm_id)
    if row is None:
        raise NotFound("voicemail.not_found", f"No voicemail {vm_id}.")
    row.transcript = text
    row.transcript_label = TRANSCRIPT_LABEL if text is not None else None
    session.flush()
    return row


def untranscribed(session: Session, since: datetime, limit: int = 100) -> list[tuple[str, str]]:
    """(id, audio path) of messages left since ``since`` that have no transcript yet,
    oldest first: what a transcription sweep picks up after a restart."""
    rows = session.execute(
        select(Voicemail.id, Voicemail.path)
        .where(Voicemail.transcript.is_(None), Voicemail.created_at >= since)
        .order_by(Voicemail.created_at, Voicemail.id)
        .limit(limit)
    )
    return [(row.id, row.path) for row in rows]


def delete_voicemail(session: Session, account_id: str, vm_id: str) -> None:
    """Delete a message and its audio file.

    The row goes first, then the file: a file that cannot be removed is logged and left
    (it costs only disk space), whereas a row without its file would be a broken message.
    """
    row = get_voicemail(session, account_id, vm_id)
    path = Path(row.path)
    session.delete(row)
    session.flush()
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not remove voicemail file %s", path, exc_info=True)
