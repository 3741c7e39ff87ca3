"""``/v1/calls``: call detail records and recordings, and click-to-call.

``POST /v1/calls`` asks the running call engine (``app.state.call_placer``, set by
``serve``) to ring a user's devices and connect the one that answers to a number or an
extension. The CDR appears in the listing when the call ends; until then ``GET
/v1/calls/{id}`` shows the call with its live status, asked of the same engine. ``POST
/v1/calls/{id}/recording/objection`` tells the engine a party objects to the recording
of a call in progress (TERMS V8).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Protocol

import anyio.from_thread
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dialtone.api.audio import wav_response
from dialtone.api.deps import CallerDep, SessionDep, permit
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services.agents import reports as agent_reports
from dialtone.services.telephony import calls
from dialtone.store.models import CallRecord

router = APIRouter(prefix="/v1/calls", tags=["calls"])


class AgentReportLink(BaseModel):
    id: str
    url: str = Field(description="GET it for the transcript, summary and outcome.")

    @classmethod
    def to(cls, report_id: str | None) -> AgentReportLink | None:
        return (
            None if report_id is None else cls(id=report_id, url=f"/v1/agent-reports/{report_id}")
        )


class CallOut(BaseModel):
    id: str
    account_id: str
    direction: str
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    status: str = Field(
        description="completed, no-answer, busy, failed, canceled or interrupted (the "
        "platform stopped mid-call; written at its next start); while the call is in "
        "progress (no record yet): ringing or in-progress."
    )
    hangup_cause: str | None = Field(description="Why it ended; null while in progress.")
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None = Field(description="Null while the call is in progress.")
    duration: Decimal = Field(
        description="Exact seconds from answer to end (ms precision); so far, while live."
    )
    billed_seconds: int = Field(
        description="Duration rounded by the increment (TERMS B2); 0 until the call ends."
    )
    billing_increment: str | None = Field(description="Null while the call is in progress.")
    sip_call_id: str
    recording_url: str | None
    user_id: str | None = Field(
        description="The user who took the call (or whose voicemail did); for a call "
        "out, or one no user took, the user who placed it."
    )
    caller_user_id: str | None = Field(
        default=None,
        description="The user whose device placed the call (or who clicked to call); "
        "null for a caller from outside. A user's own key (D1) sees the calls where it "
        "is user_id or caller_user_id: both parties of a call between colleagues.",
    )
    trunk_id: str | None = Field(description="The carrier trunk the call used.")
    legs: list[dict[str, str | None]] = Field(
        description="Traceback chain (TERMS V11): trunk, user, device and number legs, "
        "each with kind, id, source (transport:host:port) and user_agent."
    )
    agent_report: AgentReportLink | None = Field(
        default=None,
        description="The AI agent's report of the call, when an agent answered it "
        "(issue 17; labelled AI-generated, A4).",
    )

    model_config = {"populate_by_name": True}

    @classmethod
    def of(cls, row: CallRecord, agent_report: str | None = None) -> CallOut:
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
            caller_user_id=row.caller_user_id,
            trunk_id=row.trunk_id,
            legs=calls.legs_of(row),
            agent_report=AgentReportLink.to(agent_report),
        )

    @classmethod
    def live(cls, call: calls.LiveCall, now: datetime) -> CallOut:
        """A call in progress: its record is written when it ends."""
        return cls(
            id=call.id,
            account_id=call.account_id,
            direction=call.direction,
            from_=call.from_number,
            to=call.to_number,
            status=call.status,
            hangup_cause=None,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=None,
            duration=calls.exact_duration(call.answered_at, now),
            billed_seconds=0,
            billing_increment=None,
            sip_call_id=call.sip_call_id,
            recording_url=None,
            user_id=call.user_id,
            caller_user_id=call.caller_user_id,
            trunk_id=call.trunk_id,
            legs=[dict(leg) for leg in call.legs],
        )


class CallPlacer(Protocol):
    """What the API needs of the call engine."""

    async def click_to_call(
        self, account_id: str, user_id: str, to: str, caller_id: str | None = None
    ) -> str: ...

    async def object_to_recording(
        self, account_id: str, call_id: str, *, actor: str, user_id: str | None = None
    ) -> None: ...

    def live_call(self, account_id: str, call_id: str) -> calls.LiveCall | None: ...


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
    """The account's calls, newest first (a user's key sees the calls that user took or
    placed, D1)."""
    rows, cursor = calls.list_calls(
        session,
        caller.account.id,
        limit=limit,
        before=before,
        user_id=caller.narrow("calls.read"),
    )
    found = agent_reports.reports_for_calls(session, caller.account.id, [r.id for r in rows])
    return CallPage(calls=[CallOut.of(r, found.get(r.id)) for r in rows], next_cursor=cursor)


@router.get(
    "/{call_id}",
    dependencies=[permit("calls.read")],
    response_model=CallOut,
    response_model_by_alias=True,
)
def get_call(call_id: str, request: Request, caller: CallerDep, session: SessionDep) -> CallOut:
    """One call (for a user's key, one it took or placed: D1): its record once it ended, else,
    while it is in progress, its live status (``ringing``, ``in-progress``)."""
    account_id = caller.account.id
    try:
        row = calls.get_call(session, account_id, call_id)
    except NotFound:
        live = _live_call(request, account_id, call_id)
        if live is not None:
            caller.check_parties("calls.read", calls.parties(live))
            return CallOut.live(live, datetime.now(UTC))
        # The call may have ended (its record committed) after the first look: this
        # session's snapshot predates that commit, so a fresh one looks again.
        with request.app.state.sessions() as fresh:
            row = calls.get_call(fresh, account_id, call_id)
            caller.check_parties("calls.read", calls.parties(row))
            return CallOut.of(row, _report_of(fresh, account_id, row.id))
    caller.check_parties("calls.read", calls.parties(row))
    return CallOut.of(row, _report_of(session, account_id, row.id))


def _report_of(session: Session, account_id: str, call_id: str) -> str | None:
    """The id of the agent report of the call, if an agent answered it."""
    return agent_reports.reports_for_calls(session, account_id, [call_id]).get(call_id)


def _live_call(request: Request, account_id: str, call_id: str) -> calls.LiveCall | None:
    """The engine's view of a call in progress, read on the event loop that runs the
    calls (this handler runs on a worker thread); None without an engine here."""
    placer: CallPlacer | None = getattr(request.app.state, "call_placer", None)
    if placer is None:
        return None
    return anyio.from_thread.run_sync(placer.live_call, account_id, call_id)


@router.get(
    "/{call_id}/recording",
    dependencies=[permit("recordings.read")],
    response_class=StreamingResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
def get_recording(
    call_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> StreamingResponse:
    """The call's recording as a WAV file (for a user's key, of a call it took or
    placed: D1)."""
    row = calls.get_call(session, caller.account.id, call_id)
    caller.check_parties("recordings.read", calls.parties(row))
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
    caller.check_parties("recordings.delete", calls.parties(row))
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
