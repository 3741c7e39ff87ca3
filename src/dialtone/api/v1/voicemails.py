"""``/v1/voicemails``: messages left for the account's users, their audio and transcripts.

A transcript is machine-made and can be wrong: it always comes with
``transcript_label`` = "machine-generated" (TERMS V9).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.audio import wav_response
from dialtone.api.deps import CallerDep, SessionDep, permit
from dialtone.core.errors import NotFound
from dialtone.services.telephony import voicemails
from dialtone.store.models import Voicemail

router = APIRouter(prefix="/v1/voicemails", tags=["voicemails"])


class VoicemailOut(BaseModel):
    id: str
    user_id: str | None
    number: str = Field(description="The number that was called.")
    from_: str = Field(alias="from", serialization_alias="from")
    created_at: datetime
    duration: Decimal = Field(description="Seconds, exact to the millisecond.")
    heard: bool
    transcript: str | None
    transcript_label: str | None = Field(
        description='"machine-generated" whenever there is a transcript (TERMS V9).'
    )
    audio_url: str
    call_id: str | None

    model_config = ConfigDict(populate_by_name=True)

    @classmethod
    def of(cls, row: Voicemail) -> VoicemailOut:
        return cls(
            id=row.id,
            user_id=row.user_id,
            number=row.number,
            from_=row.from_number,
            created_at=row.created_at,
            duration=row.duration,
            heard=row.heard,
            transcript=row.transcript,
            transcript_label=row.transcript_label,
            audio_url=f"/v1/voicemails/{row.id}/audio",
            call_id=row.call_record_id,
        )


class VoicemailList(BaseModel):
    voicemails: list[VoicemailOut]


class VoicemailPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heard: bool


def _message(session: SessionDep, caller: CallerDep, vm_id: str, permission: str) -> Voicemail:
    """One of the account's messages, when the caller may use ``permission`` on its box
    (TERMS D1: a user's key reaches its own box only)."""
    row = voicemails.get_voicemail(session, caller.account.id, vm_id)
    caller.check(permission, row.user_id or "")
    return row


@router.get(
    "",
    dependencies=[permit("voicemails.read")],
    response_model=VoicemailList,
    response_model_by_alias=True,
)
def list_voicemails(
    caller: CallerDep,
    session: SessionDep,
    heard: Annotated[bool | None, Query(description="Only heard (true) or new (false).")] = None,
    user_id: Annotated[str | None, Query(description="Only this user's box.")] = None,
) -> VoicemailList:
    """The account's messages, newest first (a user's key: its own box, D1)."""
    rows = voicemails.list_voicemails(
        session,
        caller.account.id,
        heard=heard,
        user_id=caller.narrow("voicemails.read", user_id),
    )
    return VoicemailList(voicemails=[VoicemailOut.of(r) for r in rows])


@router.get(
    "/{vm_id}",
    dependencies=[permit("voicemails.read")],
    response_model=VoicemailOut,
    response_model_by_alias=True,
)
def get_voicemail(vm_id: str, caller: CallerDep, session: SessionDep) -> VoicemailOut:
    """One message."""
    return VoicemailOut.of(_message(session, caller, vm_id, "voicemails.read"))


@router.patch(
    "/{vm_id}",
    dependencies=[permit("voicemails.write")],
    response_model=VoicemailOut,
    response_model_by_alias=True,
)
def update_voicemail(
    vm_id: str, body: VoicemailPatch, caller: CallerDep, session: SessionDep
) -> VoicemailOut:
    """Mark a message heard, or new again."""
    _message(session, caller, vm_id, "voicemails.write")
    return VoicemailOut.of(voicemails.mark_heard(session, caller.account.id, vm_id, body.heard))


@router.delete(
    "/{vm_id}", dependencies=[permit("voicemails.write")], status_code=status.HTTP_204_NO_CONTENT
)
def delete_voicemail(vm_id: str, caller: CallerDep, session: SessionDep) -> Response:
    """Delete a message and its audio."""
    _message(session, caller, vm_id, "voicemails.write")
    voicemails.delete_voicemail(session, caller.account.id, vm_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{vm_id}/audio",
    dependencies=[permit("voicemails.read")],
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def get_audio(
    vm_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> StreamingResponse:
    """The message as a WAV file."""
    row = _message(session, caller, vm_id, "voicemails.read")
    if not Path(row.path).is_file():
        raise NotFound("voicemail.audio_not_found", f"Voicemail {vm_id} has no audio file.")
    return wav_response(request, Path(row.path), f"{row.id}.wav")
