"""Recordings as the Twilio-compatible API shows them (issue 16): one list over the
three places a recording lives.

- a call's own recording (V8) is on its CDR: SID ``RE`` + the CDR's hex;
- a voicemail message's audio is on the message: SID ``RE`` + the message's hex;
- a recording a call application made (TwiML ``<Record>``) has its own row in
  ``recordings`` (``RE…``), written by the runtime.

A view, not a copy: the CDRs and voicemails stay the one record of their audio, so
deleting one here is deleting it there (D5), and the native routes see the same. Which
users a recording is the own record of (TERMS D1): a call's parties, the box's user;
an application's recording is no user's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, Subquery, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from dialtone.core.errors import NotFound
from dialtone.services.telephony import calls, voicemails
from dialtone.services.twilio.sids import recording_sid, recording_sources
from dialtone.store.files import remove_after_commit
from dialtone.store.models import CallRecord, Voicemail
from dialtone.store.programmable_models import Recording

CALL, VOICEMAIL, APPLICATION = "call", "voicemail", "application"


@dataclass(frozen=True, slots=True)
class RecordingView:
    """One recording, wherever it lives."""

    sid: str
    account_id: str
    source: str  # call | voicemail | application
    source_id: str  # the CDR, the voicemail or the recording row
    call_sid: str | None
    created_at: datetime
    duration: Decimal
    path: str
    channels: int
    parties: tuple[str, ...]
    transcript: str | None = None
    transcript_label: str | None = None


def _union(account_id: str, user_id: str | None) -> Subquery:
    cdr = select(
        literal(CALL).label("source"),
        CallRecord.id.label("source_id"),
        CallRecord.id.label("call_sid"),
        CallRecord.started_at.label("created_at"),
        CallRecord.duration.label("duration"),
        CallRecord.recording_path.label("path"),
        literal(2).label("channels"),  # the relay records both legs in stereo
        CallRecord.user_id.label("user_id"),
        CallRecord.caller_user_id.label("caller_user_id"),
        null().label("transcript"),
        null().label("transcript_label"),
    ).where(CallRecord.account_id == account_id, CallRecord.recording_path.is_not(None))
    box = select(
        literal(VOICEMAIL),
        Voicemail.id,
        Voicemail.call_record_id,
        Voicemail.created_at,
        Voicemail.duration,
        Voicemail.path,
        literal(1),
        Voicemail.user_id,
        null(),
        Voicemail.transcript,
        Voicemail.transcript_label,
    ).where(Voicemail.account_id == account_id)
    made = select(
        literal(APPLICATION),
        Recording.id,
        Recording.call_sid,
        Recording.created_at,
        Recording.duration,
        Recording.path,
        Recording.channels,
        null(),
        null(),
        Recording.transcript,
        Recording.transcript_label,
    ).where(Recording.account_id == account_id)
    if user_id is not None:
        cdr = cdr.where(or_(CallRecord.user_id == user_id, CallRecord.caller_user_id == user_id))
        box = box.where(Voicemail.user_id == user_id)
        made = made.where(literal(False))
    return union_all(cdr, box, made).subquery()


def _view(account_id: str, row: tuple[object, ...]) -> RecordingView:
    source, source_id, call_sid, created_at, duration, path = row[:6]
    channels, user_id, caller_user_id, transcript, label = row[6:]
    assert isinstance(source_id, str)
    assert isinstance(created_at, datetime)
    return RecordingView(
        sid=source_id if source == APPLICATION else recording_sid(source_id),
        account_id=account_id,
        source=str(source),
        source_id=source_id,
        call_sid=call_sid if isinstance(call_sid, str) else None,
        created_at=created_at,
        duration=Decimal(str(duration)),
        path=str(path),
        channels=int(str(channels)),
        parties=tuple(dict.fromkeys(u for u in (user_id, caller_user_id) if isinstance(u, str))),
        transcript=transcript if isinstance(transcript, str) else None,
        transcript_label=label if isinstance(label, str) else None,
    )


def list_recordings(
    session: Session,
    account_id: str,
    *,
    offset: int,
    limit: int,
    call_sid: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: str | None = None,
) -> tuple[list[RecordingView], bool]:
    """The account's recordings, newest first (``user_id``: that user's own, D1), from
    ``offset`` on, ``limit`` of them, and whether more follow."""
    whole = _union(account_id, user_id)
    query: Select[tuple[object, ...]] = select(whole).order_by(
        whole.c.created_at.desc(), whole.c.source_id.desc()
    )
    if call_sid is not None:
        query = query.where(whole.c.call_sid == call_sid)
    if since is not None:
        query = query.where(whole.c.created_at >= since)
    if until is not None:
        query = query.where(whole.c.created_at < until)
    rows = session.execute(query.offset(offset).limit(limit + 1)).all()
    views = [_view(account_id, tuple(r)) for r in rows[:limit]]
    return views, len(rows) > limit


def get_recording(session: Session, account_id: str, sid: str) -> RecordingView:
    """One recording by its SID; 404 ``recording.not_found`` otherwise."""
    made = session.get(Recording, sid)
    if made is not None and made.account_id == account_id:
        return RecordingView(
            sid=made.id,
            account_id=account_id,
            source=APPLICATION,
            source_id=made.id,
            call_sid=made.call_sid,
            created_at=made.created_at,
            duration=Decimal(made.duration),
            path=made.path,
            channels=made.channels,
            parties=(),
            transcript=made.transcript,
            transcript_label=made.transcript_label,
        )
    sources = recording_sources(sid)
    if sources is not None:
        cdr = session.get(CallRecord, sources[0])
        if cdr is not None and cdr.account_id == account_id and cdr.recording_path:
            return RecordingView(
                sid=sid,
                account_id=account_id,
                source=CALL,
                source_id=cdr.id,
                call_sid=cdr.id,
                created_at=cdr.started_at,
                duration=Decimal(cdr.duration),
                path=cdr.recording_path,
                channels=2,
                parties=calls.parties(cdr),
            )
        box = session.get(Voicemail, sources[1])
        if box is not None and box.account_id == account_id:
            return RecordingView(
                sid=sid,
                account_id=account_id,
                source=VOICEMAIL,
                source_id=box.id,
                call_sid=box.call_record_id,
                created_at=box.created_at,
                duration=Decimal(box.duration),
                path=box.path,
                channels=1,
                parties=(box.user_id,) if box.user_id else (),
                transcript=box.transcript,
                transcript_label=box.transcript_label,
            )
    raise NotFound("recording.not_found", f"The account has no recording {sid}.")


def delete_recording(session: Session, view: RecordingView) -> None:
    """Delete a recording where it lives (TERMS D5: the customer's to delete): the CDR
    forgets its recording (the CDR stays, V15), a voicemail message goes, an
    application's recording goes; each file once that is committed."""
    if view.source == CALL:
        cdr = session.get(CallRecord, view.source_id)
        if cdr is not None:
            calls.delete_recording(session, cdr)
    elif view.source == VOICEMAIL:
        voicemails.delete_voicemail(session, view.account_id, view.source_id)
    else:
        made = session.get(Recording, view.source_id)
        if made is not None:
            session.delete(made)
            session.flush()
            remove_after_commit(session, made.path)
