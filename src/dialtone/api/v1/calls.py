"""``/v1/calls``: call detail records and recordings, and click-to-call.

``POST /v1/calls`` asks the running call engine (``app.state.call_placer``, set by
``serve``) to ring a user's devices and connect the one that answers to a number or an
extension. The CDR appears in the listing when the call ends. ``POST
/v1/calls/{id}/recording/objection`` tells the engine a party objects to the recording
of a call in progress (TERMS V8).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Protocol

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.audio import wav_response
from dialtone.api.deps import CallerDep, SessionDep, permit
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services import calls
from dialtone.store.models import CallRecord

router = APIRouter(prefix="/v1/calls", tags=["calls"])


class CallOut(BaseModel):
    id: str
    account_id: str
    direction: str
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    status: str = Field(
        description="completed, no-answer, busy, failed, canceled or interrupted (the "
        "platform stopped mid-call; written at its next start)."
    )
    hangup_cause: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration: Decimal = Field(description="Exact seconds from answer to end (ms precision).")
    billed_seconds: int = Field(description="Duration rounded by the increment (TERMS B2).")
    billing_increment: str
    sip_call_id: str
    recording_url: str | None
    user_id: str | None = Field(description="The user who placed or took the call.")
    trunk_id: str | None = Field(description="The carrier trunk the call used.")
    legs: list[dict[str, str | None]] = Field(
        description="Traceback chain (TERMS V11): trunk, user, device and number legs, "
        "each with kind, id, source (transport:host:port) and user_agent."
    )

    model_config = {"populate_by_name": True}

    @classmethod
    def of(cls, row: CallRecord) -> CallOut:
        return cls(
            id=row.id,
            account_id=row.account_id,
            direction=row.direction,
            from_=row.from_number,
            to=row.to_number,
            status=row.status,
            hangup_cause=row.hangup_cause,
            started_at=row.started_at,
            answered_at=row.answered_at,
            ended_at=row.ended_at,
            duration=row.duration,
            billed_seconds=row.billed_seconds,
            billing_increment=row.billing_increment,
            sip_call_id=row.sip_call_id,
            recording_url=f"/v1/calls/{row.id}/recording" if row.recording_path else None,
            user_id=row.user_id,
            trunk_id=row.trunk_id,
            legs=calls.legs_of(row),
        )


class CallPlacer(Protocol):
    """What the API needs of the call engine."""

    async def click_to_call(
        self, account_id: str, user_id: str, to: str, caller_id: str | None = None
    ) -> str: ...

    async def object_to_recording(
        self, account_id: str, call_id: str, *, actor: str, user_id: str | None = None
    ) -> None: ...


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(description="The user whose registered devices ring first.")
    to: str = Field(description="An extension of the account, or a number (E.164 best).")
    caller_id: str | None = Field(
        default=None,
        description="A number the account holds (TERMS V10); default: the number routed "
        "to the user, else the account's first.",
    )


class CallPlaced(BaseModel):
    id: str = Field(description="The call's id: its CDR has this id once it ends.")
    status: str = Field(description='"ringing": the user\'s devices are ringing.')
    user_id: str
    to: str


class CallPage(BaseModel):
    calls: list[CallOut]
    next_cursor: str | None = Field(description="Pass as ?before= for the next page.")


@router.get(
    "", dependencies=[permit("calls.read")], response_model=CallPage, response_model_by_alias=True
)
def list_calls(
    caller: CallerDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[str | None, Query(description="Cursor from the previous page.")] = None,
) -> CallPage:
    """The account's calls, newest first (a user's key sees that user's calls, D1)."""
    rows, cursor = calls.list_calls(
        session,
        caller.account.id,
        limit=limit,
        before=before,
        user_id=caller.narrow("calls.read"),
    )
    return CallPage(calls=[CallOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/{call_id}",
    dependencies=[permit("calls.read")],
    response_model=CallOut,
    response_model_by_alias=True,
)
def get_call(call_id: str, caller: CallerDep, session: SessionDep) -> CallOut:
    """One call (a user's own, for a user's key: D1)."""
    row = calls.get_call(session, caller.account.id, call_id)
    caller.check("calls.read", row.user_id or "")
    return CallOut.of(row)


@router.get(
    "/{call_id}/recording",
    dependencies=[permit("recordings.read")],
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def get_recording(
    call_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> StreamingResponse:
    """The call's recording as a WAV file (a user's own, for a user's key: D1)."""
    row = calls.get_call(session, caller.account.id, call_id)
    caller.check("recordings.read", row.user_id or "")
    if not row.recording_path or not Path(row.recording_path).is_file():
        raise NotFound("recording.not_found", f"Call {call_id} has no recording.")
    return wav_response(request, Path(row.recording_path), f"{row.id}.wav")


@router.delete(
    "/{call_id}/recording",
    dependencies=[permit("recordings.delete")],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_recording(call_id: str, caller: CallerDep, session: SessionDep) -> Response:
    """Delete the call's recording (TERMS D5: kept until the customer deletes it); the
    call record stays (V15)."""
    row = calls.get_call(session, caller.account.id, call_id)
    caller.check("recordings.delete", row.user_id or "")
    calls.delete_recording(session, row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{call_id}/recording/objection",
    dependencies=[permit("recordings.delete")],
    status_code=status.HTTP_204_NO_CONTENT,
)
async def object_to_recording(call_id: str, request: Request, caller: CallerDep) -> Response:
    """TERMS V8, a party objects to the recording of a call in progress (at any time):
    the recording stops at once and the part recorded so far is deleted, since the
    objection withdraws consent; the call goes on, its record will have no recording,
    and the objection is on the audit log (``recording.objected``). 404 ``call.not_found``
    when no such call is in progress, 409 ``recording.not_recording`` when it is not
    being recorded (or a party already objected)."""
    placer = _placer(request)
    await placer.object_to_recording(
        caller.account.id,
        call_id,
        actor=caller.credential.actor,
        user_id=caller.narrow("recordings.delete"),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _placer(request: Request) -> CallPlacer:
    """The running call engine (503 ``call.engine_unavailable`` when there is none)."""
    placer: CallPlacer | None = getattr(request.app.state, "call_placer", None)
    if placer is None:
        raise DialtoneError(
            "call.engine_unavailable", "The call engine is not running here.", status=503
        )
    return placer


@router.post(
    "",
    dependencies=[permit("calls.place")],
    status_code=status.HTTP_201_CREATED,
    response_model=CallPlaced,
)
async def place_call(body: CallIn, request: Request, caller: CallerDep) -> CallPlaced:
    """Click-to-call: ring the user's devices; the one that answers is connected to
    ``to``. Refusals carry a code and, where a term applies, its rule (V2, V10; D1: a
    user's key places calls for that user only)."""
    caller.check("calls.place", body.user_id)
    account = caller.account
    placer = _placer(request)
    call_id = await placer.click_to_call(account.id, body.user_id, body.to, body.caller_id)
    return CallPlaced(id=call_id, status="ringing", user_id=body.user_id, to=body.to)
