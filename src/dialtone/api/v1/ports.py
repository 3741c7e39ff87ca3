"""``/v1/port-ins``: bringing the customer's numbers over from another carrier (TERMS
N4): a file of numbers and documents, submitted once complete, scheduled inside the
carriers' weekday window, cancellable before its effective day. The operator completes
or rejects it (``dialtone ports``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import (
    AccountDep,
    DocumentDep,
    RecordingKeyDep,
    SessionDep,
    SettingsDep,
    permit,
)
from dialtone.api.fields import Moment
from dialtone.policy.porting import PORT_IN_DOCUMENTS
from dialtone.services.numbering import porting
from dialtone.store.models import PortInRequest

router = APIRouter(prefix="/v1/port-ins", tags=["porting"])


class PortInCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[str] = Field(description="Every number to bring over (E.164).")


class PortInSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_at: Moment = Field(
        description="When the port happens (ISO 8601 with its offset); judged in the "
        "carriers' time zone (setting porting_timezone)."
    )
    accept_fee: bool = Field(
        default=False,
        description="Accept the extra fee of a port outside the carriers' window (N4).",
    )


class PortInOut(BaseModel):
    id: str
    numbers: list[str]
    documents: list[str] = Field(description="The kinds received.")
    documents_required: list[str]
    state: str = Field(description="draft, submitted, scheduled, completed, cancelled or rejected.")
    created_at: datetime
    submitted_at: datetime | None
    effective_at: datetime | None = Field(description="In the carriers' time.")
    out_of_window_fee: bool
    previous_line_ended: bool
    closed_at: datetime | None
    rejection: str | None

    @classmethod
    def of(cls, row: PortInRequest) -> PortInOut:
        return cls(
            id=row.id,
            numbers=json.loads(row.numbers),
            documents=json.loads(row.documents),
            documents_required=sorted(PORT_IN_DOCUMENTS),
            state=row.state,
            created_at=row.created_at,
            submitted_at=row.submitted_at,
            effective_at=datetime.fromisoformat(row.effective_local)
            if row.effective_local
            else None,
            out_of_window_fee=row.out_of_window_fee,
            previous_line_ended=row.previous_line_ended,
            closed_at=row.closed_at,
            rejection=row.rejection,
        )


class PortInList(BaseModel):
    port_ins: list[PortInOut]


@router.post(
    "",
    dependencies=[permit("numbers.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=PortInOut,
)
def create_port_in(body: PortInCreate, account: AccountDep, session: SessionDep) -> PortInOut:
    """A draft port-in (409 ``number.held`` for a number already on the platform)."""
    return PortInOut.of(porting.create(session, account.id, body.numbers, now=datetime.now(UTC)))


@router.get("", dependencies=[permit("numbers.read")], response_model=PortInList)
def list_port_ins(account: AccountDep, session: SessionDep) -> PortInList:
    """The account's port-ins, newest first."""
    return PortInList(
        port_ins=[PortInOut.of(r) for r in porting.list_requests(session, account.id)]
    )


@router.get("/{port_id}", dependencies=[permit("numbers.read")], response_model=PortInOut)
def get_port_in(port_id: str, account: AccountDep, session: SessionDep) -> PortInOut:
    """One port-in."""
    return PortInOut.of(porting.get(session, account.id, port_id))


@router.put(
    "/{port_id}/documents/{kind}",
    dependencies=[permit("numbers.write")],
    response_model=PortInOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "required": True,
        }
    },
)
def put_document(
    port_id: str,
    kind: str,
    data: DocumentDep,
    *,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    key: RecordingKeyDep,
) -> PortInOut:
    """One document of the file (``mandate``, ``carrier_bill``, ``identity``) as the raw
    body (PDF, image…): stored encrypted at rest."""
    row = porting.add_document(
        session,
        account.id,
        port_id,
        kind,
        data,
        documents_dir=settings.data_dir / "documents",
        key=key,
    )
    return PortInOut.of(row)


@router.post("/{port_id}/submit", dependencies=[permit("numbers.write")], response_model=PortInOut)
def submit_port_in(port_id: str, account: AccountDep, session: SessionDep) -> PortInOut:
    """Start the request: 422 ``port_in.incomplete`` (N4) while a document is missing."""
    return PortInOut.of(porting.submit(session, account.id, port_id, now=datetime.now(UTC)))


@router.post(
    "/{port_id}/schedule", dependencies=[permit("numbers.write")], response_model=PortInOut
)
def schedule_port_in(
    port_id: str,
    body: PortInSchedule,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
) -> PortInOut:
    """Set the effective date: Monday to Friday inside the carriers' technical window,
    or outside it with ``accept_fee`` (422 ``port_in.outside_window``, N4)."""
    when = body.effective_at
    local = when.astimezone(ZoneInfo(settings.porting_timezone))
    row = porting.schedule(
        session,
        account.id,
        port_id,
        local,
        now=datetime.now(UTC).astimezone(local.tzinfo),
        accept_fee=body.accept_fee,
    )
    return PortInOut.of(row)


@router.post("/{port_id}/cancel", dependencies=[permit("numbers.write")], response_model=PortInOut)
def cancel_port_in(port_id: str, account: AccountDep, session: SessionDep) -> PortInOut:
    """Cancel before the effective day (409 ``port_in.too_late_to_cancel``, N4)."""
    return PortInOut.of(porting.cancel(session, account.id, port_id, now=datetime.now(UTC)))
