"""``/v1/agents``: AI agent profiles (TERMS A1) and their knowledge entries;
``/v1/agent-reports``: the report of each call an agent answered (A4: labelled
AI-generated). A number is answered by an agent through its route (``PUT
/v1/numbers/{number}/route`` with kind ``agent``); a call's record shows its report
(``agent_report`` on ``GET /v1/calls/{id}``)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, RecordingKeyDep, SessionDep, permit
from dialtone.core.errors import DialtoneError
from dialtone.services.agents import knowledge, profiles, reports
from dialtone.services.agents.profiles import ProfileChanges, Target, Window
from dialtone.store.agent_models import AgentKnowledge

router = APIRouter(prefix="/v1/agents", tags=["agents"])
report_router = APIRouter(prefix="/v1/agent-reports", tags=["agents"])


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(description="0 = Monday … 6 = Sunday.")
    opens: str = Field(description="Local time HH:MM.", examples=["09:00"])
    closes: str = Field(description="Local time HH:MM, after opens (a slot ends by then).")


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="user, group or number.")
    ref: str = Field(description="A user id, a ring-group id, or an E.164 number.")
    label: str = Field(default="", description='How a caller asks for it ("sales").')


class AgentFields(BaseModel):
    """Every field of a profile; on create, what is not given comes from the purpose's
    template or the defaults; on PATCH, what is not given stays, and null clears the
    optional ones."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="The agent's name (required on create).")
    business_name: str | None = None
    purpose: str | None = Field(
        default=None,
        description="sales, marketing, customer_service (default), technical_support or "
        "custom: the template of the greeting and instructions (A1).",
    )
    greeting: str | None = Field(
        default=None,
        description="Said after the fixed AI disclosure (A2), which no greeting replaces; "
        "may name {name}, {business_name} and the extra values.",
    )
    instructions: str | None = Field(default=None, description="The behaviour prompt.")
    languages: list[str] | None = Field(default=None, description='e.g. ["en-US"].')
    voice: str | None = None
    timezone: str | None = Field(default=None, description="IANA name, e.g. Europe/Paris.")
    hours: list[WindowIn] | None = Field(default=None, description="Opening windows.")
    transfer_targets: list[TargetIn] | None = None
    calendar_url: str | None = Field(default=None, description="A CalDAV collection URL.")
    calendar_username: str | None = None
    calendar_password: str | None = Field(
        default=None, description="Kept sealed; never shown again."
    )
    appointment_minutes: int | None = Field(default=None, description="5 to 480.")
    take_messages: bool | None = None
    sms_template: str | None = Field(
        default=None,
        description="The follow-up SMS; may name {caller_name}, {appointment}, "
        "{caller_number} besides the profile's placeholders.",
    )
    max_call_seconds: int | None = Field(default=None, description="30 to 3600.")
    end_silence_ms: int | None = Field(default=None, description="200 to 2000 (endpointing).")
    dialog: str | None = Field(default=None, description="rules (default) or llm.")
    model_url: str | None = Field(
        default=None, description="An OpenAI-compatible endpoint (for dialog llm)."
    )
    model: str | None = None
    model_api_key: str | None = Field(default=None, description="Kept sealed; never shown.")
    model_timeout_seconds: float | None = None
    extra: dict[str, str] | None = Field(
        default=None, description="Further placeholders: lower-case names to text."
    )


# Fields that may not be cleared (null on PATCH is refused rather than read as "clear").
_REQUIRED = frozenset(
    {
        "name",
        "business_name",
        "purpose",
        "greeting",
        "instructions",
        "languages",
        "voice",
        "timezone",
        "hours",
        "transfer_targets",
        "appointment_minutes",
        "take_messages",
        "max_call_seconds",
        "end_silence_ms",
        "dialog",
        "model_timeout_seconds",
        "extra",
    }
)


def _changes(body: AgentFields) -> ProfileChanges:
    values: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name in _REQUIRED:
            raise DialtoneError("agent.invalid", f"{name} cannot be null.")
        if name == "hours" and value is not None:
            value = [Window(w.weekday, w.opens, w.closes) for w in value]
        elif name == "transfer_targets" and value is not None:
            value = [Target(t.kind, t.ref, t.label) for t in value]
        values["model_name" if name == "model" else name] = value
    return ProfileChanges(**values)


class AgentOut(BaseModel):
    id: str
    account_id: str
    name: str
    business_name: str
    purpose: str
    greeting: str
    instructions: str
    languages: list[str]
    voice: str
    timezone: str
    hours: list[dict[str, Any]]
    transfer_targets: list[dict[str, str]]
    calendar_url: str | None
    calendar_username: str | None
    calendar_password_set: bool
    appointment_minutes: int
    take_messages: bool
    sms_template: str | None
    max_call_seconds: int
    end_silence_ms: int
    dialog: str
    model_url: str | None
    model: str | None
    model_api_key_set: bool
    model_timeout_seconds: float
    extra: dict[str, str]
    created_at: datetime
    updated_at: datetime


class AgentList(BaseModel):
    agents: list[AgentOut]


class AgentDeleted(BaseModel):
    id: str
    released_numbers: list[str] = Field(
        description="Numbers that were routed to the agent: back to their greeting (N10)."
    )


@router.post(
    "",
    dependencies=[permit("agents.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=AgentOut,
)
def create_agent(
    body: AgentFields, account: AccountDep, session: SessionDep, key: RecordingKeyDep
) -> AgentOut:
    """Create an agent profile (A1) from its purpose's template (400 ``agent.invalid``:
    a field out of range, a target not the account's, a text that would have the agent
    pass as a person, A4)."""
    row = profiles.create_profile(
        session, account.id, _changes(body), now=datetime.now(UTC), key=key
    )
    return AgentOut(**profiles.described(row))


@router.get("", dependencies=[permit("agents.read")], response_model=AgentList)
def list_agents(account: AccountDep, session: SessionDep) -> AgentList:
    """The account's agents, oldest first (secrets only as whether they are set)."""
    rows = profiles.list_profiles(session, account.id)
    return AgentList(agents=[AgentOut(**profiles.described(r)) for r in rows])


@router.get("/{agent_id}", dependencies=[permit("agents.read")], response_model=AgentOut)
def get_agent(agent_id: str, account: AccountDep, session: SessionDep) -> AgentOut:
    """One agent (404 ``agent.not_found``)."""
    return AgentOut(**profiles.described(profiles.get_profile(session, account.id, agent_id)))


@router.patch("/{agent_id}", dependencies=[permit("agents.write")], response_model=AgentOut)
def update_agent(
    agent_id: str,
    body: AgentFields,
    account: AccountDep,
    session: SessionDep,
    key: RecordingKeyDep,
) -> AgentOut:
    """Change the fields given (checked as on create; null clears an optional one)."""
    row = profiles.update_profile(
        session, account.id, agent_id, _changes(body), now=datetime.now(UTC), key=key
    )
    return AgentOut(**profiles.described(row))


@router.delete("/{agent_id}", dependencies=[permit("agents.write")], response_model=AgentDeleted)
def delete_agent(agent_id: str, account: AccountDep, session: SessionDep) -> AgentDeleted:
    """Remove an agent and its knowledge; numbers routed to it go back to their
    greeting (N10); its call reports stay."""
    released = profiles.delete_profile(session, account.id, agent_id)
    return AgentDeleted(id=agent_id, released_numbers=released)


# -- knowledge ---------------------------------------------------------------------------------


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    answer: str


class EntryOut(BaseModel):
    id: str
    question: str
    answer: str
    position: int
    created_at: datetime

    @classmethod
    def of(cls, row: AgentKnowledge) -> EntryOut:
        return cls(
            id=row.id,
            question=row.question,
            answer=row.answer,
            position=row.position,
            created_at=row.created_at,
        )


class EntryList(BaseModel):
    entries: list[EntryOut]


class ImportedOut(BaseModel):
    added: int
    entries: list[EntryOut]


@router.get("/{agent_id}/knowledge", dependencies=[permit("agents.read")], response_model=EntryList)
def list_knowledge(agent_id: str, account: AccountDep, session: SessionDep) -> EntryList:
    """The agent's knowledge entries, in order."""
    rows = knowledge.list_entries(session, account.id, agent_id)
    return EntryList(entries=[EntryOut.of(r) for r in rows])


@router.post(
    "/{agent_id}/knowledge",
    dependencies=[permit("agents.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=EntryOut,
)
def add_knowledge(
    agent_id: str, body: EntryIn, account: AccountDep, session: SessionDep
) -> EntryOut:
    """Add one question and its answer after the others."""
    row = knowledge.add_entry(
        session,
        account.id,
        agent_id,
        question=body.question,
        answer=body.answer,
        now=datetime.now(UTC),
    )
    return EntryOut.of(row)


@router.delete(
    "/{agent_id}/knowledge/{entry_id}",
    dependencies=[permit("agents.write")],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_knowledge(
    agent_id: str, entry_id: str, account: AccountDep, session: SessionDep
) -> Response:
    """Remove one entry (404 ``agent_knowledge.not_found``)."""
    knowledge.delete_entry(session, account.id, agent_id, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def csv_text(body: bytes, content_type: str) -> str:
    """The CSV file of an import request: the body itself (``text/csv``), or the first
    file of a ``multipart/form-data`` form (the field's name does not matter); UTF-8,
    a byte-order mark allowed. 400 ``agent.csv_invalid`` otherwise."""
    if content_type.lower().startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        parts = [p for p in message.iter_parts()] if message.is_multipart() else []
        files = [p for p in parts if p.get_filename() is not None] or parts
        if not files:
            raise DialtoneError("agent.csv_invalid", "The form holds no file.")
        payload = files[0].get_payload(decode=True)
        body = payload if isinstance(payload, bytes) else b""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DialtoneError("agent.csv_invalid", "The CSV file is not UTF-8 text.") from None


@router.post(
    "/{agent_id}/knowledge/import",
    dependencies=[permit("agents.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=ImportedOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
            "required": True,
        }
    },
)
async def import_knowledge(
    agent_id: str,
    request: Request,
    account: AccountDep,
    session: SessionDep,
    replace: Annotated[
        bool, Query(description="Replace the agent's entries instead of adding to them.")
    ] = False,
) -> ImportedOut:
    """Import a CSV file with a ``question,answer`` header (A7's bulk import), as the
    body (``text/csv``) or a multipart form's file. All or nothing: one bad row refuses
    the file (400 ``agent.csv_invalid``, ``details.errors`` lists each bad row's line)."""
    text = csv_text(await request.body(), request.headers.get("content-type", "text/csv"))
    rows = knowledge.import_csv(
        session, account.id, agent_id, text, now=datetime.now(UTC), replace=replace
    )
    return ImportedOut(added=len(rows), entries=[EntryOut.of(r) for r in rows])


# -- reports -------------------------------------------------------------------------------------


class ReportOut(BaseModel):
    id: str
    account_id: str
    agent_id: str
    call_id: str = Field(description="The call's record: GET /v1/calls/{call_id}.")
    call_url: str
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    started_at: datetime
    ended_at: datetime
    outcome: str = Field(description="booked, message, transferred, answered or abandoned.")
    summary: str = Field(description="Starts with the AI label (A4).")
    transcript: list[dict[str, Any]] = Field(
        description="Turns {speaker: caller|agent, text, start, end (seconds from the "
        "answer), label}: the agent's labelled AI-generated, the caller's "
        "machine-generated (V9)."
    )
    transcript_withheld: bool = Field(
        description="The call could not be transcribed (no notice, or an objection: V8)."
    )
    latencies: list[dict[str, Any]] = Field(
        description="Per caller turn, in ms: vad_end_ms, stt_ms, dialog_ms, tts_first_ms, total_ms."
    )
    guarded: list[str] = Field(
        description="The rules that answered instead of the dialog: emergency (A3), "
        "advice, identity (A4)."
    )
    ai_generated: bool
    label: str
    created_at: datetime

    model_config = {"populate_by_name": True}


class ReportPage(BaseModel):
    reports: list[ReportOut]
    next_cursor: str | None = Field(description="Pass as ?before= for the next page.")


def _report(row: Any) -> ReportOut:
    fields = reports.described(row)
    fields["from_"] = fields.pop("from")
    return ReportOut(**fields)


@report_router.get(
    "",
    dependencies=[permit("agent_reports.read")],
    response_model=ReportPage,
    response_model_by_alias=True,
)
def list_reports(
    *,
    account: AccountDep,
    session: SessionDep,
    agent_id: Annotated[str | None, Query(description="One agent's reports.")] = None,
    outcome: Annotated[str | None, Query(description="One outcome's reports.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[str | None, Query(description="Cursor from the previous page.")] = None,
) -> ReportPage:
    """The account's agent call reports, newest call first."""
    rows, cursor = reports.list_reports(
        session, account.id, agent_id=agent_id, outcome=outcome, limit=limit, before=before
    )
    return ReportPage(reports=[_report(r) for r in rows], next_cursor=cursor)


@report_router.get(
    "/{report_id}",
    dependencies=[permit("agent_reports.read")],
    response_model=ReportOut,
    response_model_by_alias=True,
)
def get_report(report_id: str, account: AccountDep, session: SessionDep) -> ReportOut:
    """One report (404 ``agent_report.not_found``)."""
    return _report(reports.get_report(session, account.id, report_id))
