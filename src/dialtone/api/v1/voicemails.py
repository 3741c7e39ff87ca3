"""``/v1/voicemails``: messages left for the account's users, their audio and transcripts.

A transcript is machine-made and can be wrong: it always comes with
``transcript_label`` = "machine-generated" (TERMS V9).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep
from dialtone.core.errors import NotFound
from dialtone.services import voicemails
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


@router.get("", response_model=VoicemailList, response_model_by_alias=True)
def list_voicemails(
    account: AccountDep,
    session: SessionDep,
    heard: Annotated[bool | None, Query(description="Only heard (true) or new (false).")] = None,
    user_id: Annotated[str | None, Query(description="Only this user's box.")] = None,
) -> VoicemailList:
    """The account's messages, newest first."""
    rows = voicemails.list_voicemails(session, account.id, heard=heard, user_id=user_id)
    return VoicemailList(voicemails=[VoicemailOut.of(r) for r in rows])


@router.get("/{vm_id}", response_model=VoicemailOut, response_model_by_alias=True)
def get_voicemail(vm_id: str, account: AccountDep, session: SessionDep) -> VoicemailOut:
    """One message."""
    return VoicemailOut.of(voicemails.get_voicemail(session, account.id, vm_id))


@router.patch("/{vm_id}", response_model=VoicemailOut, response_model_by_alias=True)
def update_voicemail(
    vm_id: str, body: VoicemailPatch, account: AccountDep, session: SessionDep
) -> VoicemailOut:
    """Mark a message heard, or new again."""
    return VoicemailOut.of(voicemails.mark_heard(session, account.id, vm_id, body.heard))


@router.delete("/{vm_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_voicemail(vm_id: str, account: AccountDep, session: SessionDep) -> Response:
    """Delete a message and its audio."""
    voicemails.delete_voicemail(session, account.id, vm_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{vm_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def get_audio(vm_id: str, account: AccountDep, session: SessionDep) -> FileResponse:
    """The message as a WAV file."""
    row = voicemails.get_voicemail(session, account.id, vm_id)
    if not Path(row.path).is_file():
        raise NotFound("voicemail.audio_not_found", f"Voicemail {vm_id} has no audio file.")
    return FileResponse(row.path, media_type="audio/wav", filename=f"{row.id}.wav")
