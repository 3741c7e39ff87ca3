"""``…/Recordings``: calls' recordings, voicemail messages and the recordings call
applications made, as Twilio's Recordings (issue 16; the view:
:mod:`dialtone.services.twilio.recordings`). ``…/Recordings/{sid}.wav`` is the audio,
opened from its sealed file (D5). A user's key reaches its own recordings (D1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from dialtone.api.audio import wav_response
from dialtone.api.deps import SessionDep
from dialtone.api.twilio.accounts import account_uri
from dialtone.api.twilio.auth import TwilioCallerDep, permit
from dialtone.api.twilio.wire import (
    API_VERSION,
    PREFIX,
    Paging,
    ParamsDep,
    page_body,
    respond,
    rfc2822,
    window,
)
from dialtone.core.errors import NotFound
from dialtone.services.twilio import recordings
from dialtone.services.twilio.recordings import RecordingView

router = APIRouter(prefix=f"{PREFIX}/Accounts/{{AccountSid}}", tags=["twilio"])

R = "Recordings"
# Twilio's ``source`` for each place a recording comes from.
_SOURCE = {
    recordings.CALL: "DialVerb",
    recordings.VOICEMAIL: "RecordVerb",
    recordings.APPLICATION: "RecordVerb",
}


def recording_json(view: RecordingView) -> dict[str, Any]:
    """A recording as Twilio shows it, with dialtone's ``kind`` and the transcript
    (machine-generated, labelled so: V9)."""
    base = f"{account_uri(view.account_id)}/Recordings/{view.sid}"
    return {
        "account_sid": view.account_id,
        "api_version": API_VERSION,
        "call_sid": view.call_sid,
        "conference_sid": None,
        "channels": view.channels,
        "date_created": rfc2822(view.created_at),
        "date_updated": rfc2822(view.created_at),
        "start_time": rfc2822(view.created_at),
        "duration": str(int(view.duration)),
        "price": None,
        "price_unit": None,
        "sid": view.sid,
        "source": _SOURCE[view.source],
        "status": "completed",
        "error_code": None,
        "encryption_details": None,
        "media_url": base,
        "uri": f"{base}.json",
        "subresource_uris": {"transcriptions": f"{base}/Transcriptions.json"},
        "kind": view.source,
        "transcript": view.transcript,
        "transcript_label": view.transcript_label,
    }


def _mine(caller: TwilioCallerDep, session: SessionDep, sid: str, permission: str) -> RecordingView:
    view = recordings.get_recording(session, caller.account.id, sid)
    caller.check_parties(permission, view.parties)
    return view


@router.get("/Recordings.json", dependencies=[permit("recordings.read")])
def list_recordings(
    request: Request, caller: TwilioCallerDep, found: ParamsDep, session: SessionDep
) -> JSONResponse:
    """The account's recordings, newest first: ``CallSid``, ``DateCreated`` (``<=``,
    ``>=``) filters; Twilio's paging."""
    paging = Paging.of(found, R)
    when = window(found, R, "DateCreated")
    views, more = recordings.list_recordings(
        session,
        caller.account.id,
        offset=paging.start,
        limit=paging.size,
        call_sid=found.get("CallSid") or None,
        since=when.since,
        until=when.until,
        user_id=caller.narrow("recordings.read"),
    )
    items = [recording_json(v) for v in views]
    return respond(
        page_body(request, found, paging=paging, key="recordings", rows=items, more=more)
    )


@router.get("/Recordings/{RecordingSid}.json", dependencies=[permit("recordings.read")])
def fetch_recording(
    RecordingSid: str, caller: TwilioCallerDep, session: SessionDep
) -> JSONResponse:
    """One recording's metadata."""
    return respond(recording_json(_mine(caller, session, RecordingSid, "recordings.read")))


@router.get(
    "/Recordings/{RecordingSid}.wav",
    dependencies=[permit("recordings.read")],
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def recording_media(
    RecordingSid: str,
    request: Request,
    caller: TwilioCallerDep,
    session: SessionDep,
) -> StreamingResponse:
    """The recording's audio as WAV."""
    view = _mine(caller, session, RecordingSid, "recordings.read")
    if not Path(view.path).is_file():
        raise NotFound("recording.not_found", f"Recording {RecordingSid} has no audio file.")
    return wav_response(request, Path(view.path), f"{view.sid}.wav")


@router.delete("/Recordings/{RecordingSid}.json", dependencies=[permit("recordings.delete")])
def delete_recording(RecordingSid: str, caller: TwilioCallerDep, session: SessionDep) -> Response:
    """Delete a recording (D5): a call's recording leaves its CDR (which stays, V15), a
    voicemail message is deleted, an application's recording too."""
    view = _mine(caller, session, RecordingSid, "recordings.delete")
    recordings.delete_recording(session, view)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
