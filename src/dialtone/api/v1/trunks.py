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
from dialtone.services.telephony import trunks
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
    # "register" in JSON; the attribute has another name because pydantic's BaseModel
    # (an ABC) already has a ``register``.
    registers: bool = Field(
        default=False,
        alias="register",
        description="Register with the provider (needs username and password); its calls "
        "to the registered contact are recognised whatever their source address.",
    )
    register_expires: int = Field(default=3600, description="Seconds asked, 60 to 86400.")
    registrar_host: str | None = Field(default=None, description="Default: host.")
    registrar_port: int | None = Field(default=None, description="Default: port.")
    auth_username: str | None = Field(default=None, description="Default: username.")


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
    registers: bool | None = Field(default=None, alias="register")
    register_expires: int | None = None
    registrar_host: str | None = None
    registrar_port: int | None = None
    auth_username: str | None = None


class RegistrationOut(BaseModel):
    """The registration with the provider as the SIP runtime last saw it."""

    state: str = Field(description="registering, registered or failed.")
    expires_at: datetime | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, row: Trunk) -> RegistrationOut | None:
        if not row.register:
            return None
        return cls(
            # Not yet seen by the runtime (just created, or the server is not running).
            state=row.registration_state or "registering",
            expires_at=row.registration_expires_at,
            last_error=row.registration_error,
            last_attempt_at=row.registration_attempt_at,
            next_attempt_at=row.registration_next_at,
        )


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
    registers: bool = Field(serialization_alias="register")
    register_expires: int
    registrar_host: str | None
    registrar_port: int | None
    auth_username: str | None
    registration: RegistrationOut | None

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
            registers=row.register,
            register_expires=row.register_expires,
            registrar_host=row.registrar_host,
            registrar_port=row.registrar_port,
            auth_username=row.auth_username,
            registration=RegistrationOut.of(row),
        )


class TrunkList(BaseModel):
    trunks: list[TrunkOut]


_REQUIRED = (
    "name",
    "host",
    "port",
    "transport",
    "caller_id_format",
    "priority",
    "enabled",
    "register",
    "register_expires",
)


def _fields(body: BaseModel, *, exclude_unset: bool = False) -> dict[str, Any]:
    """The body as the service's keyword arguments (``register`` by its JSON name)."""
    return body.model_dump(by_alias=True, exclude_unset=exclude_unset)


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
        session, account_id=account.id, now=datetime.now(UTC), key=key, **_fields(body)
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
    changes: dict[str, Any] = _fields(body, exclude_unset=True)
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
