"""``/v1/trunks``: the account's own carrier trunks.

Operator-wide trunks are managed with the CLI and are not shown here. The password is
write-only: sealed at rest with the platform's key (answering the carrier's challenges
needs the secret itself) and never in an answer (``password_set`` says whether one is).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, RecordingKeyDep, SessionDep, permit
from dialtone.core.errors import DialtoneError
from dialtone.services import trunks
from dialtone.store.models import Trunk

router = APIRouter(prefix="/v1/trunks", tags=["trunks"])


class TrunkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    host: str = Field(description="The carrier's IP address or host name.")
    port: int = 5060
    transport: str = Field(default="udp", description="udp, tcp or tls.")
    username: str | None = None
    password: str | None = Field(default=None, description="Write-only.")
    caller_id_format: str = Field(default="e164", description="e164, e164-no-plus, national.")
    priority: int = Field(default=100, description="Lower is tried first.")
    enabled: bool = True


class TrunkPatch(BaseModel):
    """Only the fields sent change; null clears username or password."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    host: str | None = None
    port: int | None = None
    transport: str | None = None
    username: str | None = None
    password: str | None = Field(default=None, description="Write-only.")
    caller_id_format: str | None = None
    priority: int | None = None
    enabled: bool | None = None


class TrunkOut(BaseModel):
    id: str
    account_id: str | None
    name: str
    host: str
    port: int
    transport: str
    username: str | None
    password_set: bool
    caller_id_format: str
    priority: int
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, row: Trunk) -> TrunkOut:
        return cls(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            host=row.host,
            port=row.port,
            transport=row.transport,
            username=row.username,
            password_set=row.password_sealed is not None,
            caller_id_format=row.caller_id_format,
            priority=row.priority,
            enabled=row.enabled,
            created_at=row.created_at,
        )


class TrunkList(BaseModel):
    trunks: list[TrunkOut]


_REQUIRED = ("name", "host", "port", "transport", "caller_id_format", "priority", "enabled")


@router.post(
    "",
    dependencies=[permit("trunks.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=TrunkOut,
)
def create_trunk(
    body: TrunkIn, account: AccountDep, session: SessionDep, key: RecordingKeyDep
) -> TrunkOut:
    """Add a trunk for this account (400 ``trunk.invalid``)."""
    row = trunks.create_trunk(
        session, account_id=account.id, now=datetime.now(UTC), key=key, **body.model_dump()
    )
    return TrunkOut.of(row)


@router.get("", dependencies=[permit("trunks.read")], response_model=TrunkList)
def list_trunks(account: AccountDep, session: SessionDep) -> TrunkList:
    """The account's own trunks, by priority."""
    return TrunkList(trunks=[TrunkOut.of(r) for r in trunks.list_trunks(session, account.id)])


@router.get("/{trunk_id}", dependencies=[permit("trunks.read")], response_model=TrunkOut)
def get_trunk(trunk_id: str, account: AccountDep, session: SessionDep) -> TrunkOut:
    """One of the account's trunks."""
    return TrunkOut.of(trunks.get_trunk(session, account.id, trunk_id))


@router.patch("/{trunk_id}", dependencies=[permit("trunks.write")], response_model=TrunkOut)
def update_trunk(
    trunk_id: str, body: TrunkPatch, account: AccountDep, session: SessionDep, key: RecordingKeyDep
) -> TrunkOut:
    """Change a trunk."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for field in _REQUIRED:
        if field in changes and changes[field] is None:
            raise DialtoneError("trunk.invalid", f"{field} cannot be null.")
    return TrunkOut.of(trunks.update_trunk(session, account.id, trunk_id, key=key, **changes))


@router.delete(
    "/{trunk_id}", dependencies=[permit("trunks.write")], status_code=status.HTTP_204_NO_CONTENT
)
def delete_trunk(trunk_id: str, account: AccountDep, session: SessionDep) -> Response:
    """Remove a trunk; past calls keep its id for traceback (TERMS V11)."""
    trunks.delete_trunk(session, account.id, trunk_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
