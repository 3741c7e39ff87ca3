"""``/v1/users``: the account's users (TERMS D1), extensions and SIP credentials.

The SIP password is write-only: it is hashed into digest HA1 values and never returned;
responses say only whether one is set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import (
    AccountDep,
    CallerDep,
    SessionDep,
    SettingsDep,
    permit,
    permit_on_user,
)
from dialtone.core.errors import DialtoneError
from dialtone.policy.emergency import MISROUTING_WARNING
from dialtone.services.telephony import users
from dialtone.services.telephony.greetings import MAX_GREETING_BYTES, store_greeting
from dialtone.store.models import User

router = APIRouter(prefix="/v1/users", tags=["users"])


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    email: str | None = None
    role: str = Field(
        default="user", description="administrator, user, manager, scheduler or guest (D1)."
    )
    extension: str | None = Field(default=None, description="2 to 6 digits, unique here.")
    sip_username: str | None = Field(default=None, description="[A-Za-z0-9._-]{3,64}.")
    sip_password: str | None = Field(
        default=None, description="Write-only, 8+ characters; stored as digest hashes only."
    )
    channels: int | None = Field(
        default=None, description="Simultaneous calls; null: the account's (TERMS V2)."
    )


class UserPatch(BaseModel):
    """Only the fields sent change; null clears a nullable field."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None
    role: str | None = None
    extension: str | None = None
    sip_username: str | None = None
    sip_password: str | None = Field(default=None, description="Write-only.")
    channels: int | None = None
    status: str | None = Field(default=None, description="active or disabled.")


class UserOut(BaseModel):
    id: str
    account_id: str
    name: str
    email: str | None
    role: str
    extension: str | None
    sip_username: str | None
    sip_password_set: bool
    channels: int | None = Field(description="The user's override; null: the account's.")
    effective_channels: int = Field(description="Calls the user may have at once (V2).")
    status: str
    can_take_calls: bool = Field(description="Active and not a scheduler (D1).")
    voicemail_greeting: str = Field(description="'custom' or 'default'.")
    created_at: datetime

    @classmethod
    def of(cls, row: User, effective_channels: int) -> UserOut:
        return cls(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            email=row.email,
            role=row.role,
            extension=row.extension,
            sip_username=row.sip_username,
            sip_password_set=row.ha1_sha256 is not None or row.ha1_md5 is not None,
            channels=row.channels,
            effective_channels=effective_channels,
            status=row.status,
            can_take_calls=users.can_take_calls(row),
            voicemail_greeting="custom" if row.voicemail_greeting else "default",
            created_at=row.created_at,
        )


class UserList(BaseModel):
    users: list[UserOut]


def _out(session: SessionDep, row: User) -> UserOut:
    return UserOut.of(row, users.channels_for(session, row))


@router.post(
    "",
    dependencies=[permit("users.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
)
def create_user(
    body: UserIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> UserOut:
    """Add a user (409 ``extension.taken`` / ``sip_username.taken``)."""
    row = users.create_user(
        session,
        account.id,
        name=body.name,
        now=datetime.now(UTC),
        role=body.role,
        email=body.email,
        extension=body.extension,
        sip_username=body.sip_username,
        sip_password=body.sip_password,
        realm=settings.sip_realm,
        channels=body.channels,
    )
    return _out(session, row)


@router.get("", dependencies=[permit("users.read")], response_model=UserList)
def list_users(caller: CallerDep, session: SessionDep) -> UserList:
    """The account's users (a guest's key sees itself only, D1)."""
    only = caller.narrow("users.read")
    rows = users.list_users(session, caller.account.id)
    return UserList(users=[_out(session, r) for r in rows if only is None or r.id == only])


@router.get("/{user_id}", dependencies=[permit_on_user("users.read")], response_model=UserOut)
def get_user(user_id: str, account: AccountDep, session: SessionDep) -> UserOut:
    """One user."""
    return _out(session, users.get_user(session, account.id, user_id))


@router.patch("/{user_id}", dependencies=[permit("users.write")], response_model=UserOut)
def update_user(
    user_id: str, body: UserPatch, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> UserOut:
    """Change a user. A new ``sip_username`` needs ``sip_password`` too once one is set."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    password = changes.pop("sip_password", None)
    row = users.update_user(
        session,
        account.id,
        user_id,
        sip_password=password,
        realm=settings.sip_realm,
        **changes,
    )
    return _out(session, row)


@router.delete(
    "/{user_id}", dependencies=[permit("users.write")], status_code=status.HTTP_204_NO_CONTENT
)
def delete_user(user_id: str, account: AccountDep, session: SessionDep) -> Response:
    """Remove a user; their numbers stay the account's (N9) and fall back to the greeting."""
    users.delete_user(session, account.id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{user_id}/voicemail-greeting",
    dependencies=[permit_on_user("users.self_service")],
    response_model=UserOut,
    openapi_extra={
        "requestBody": {
            "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def put_voicemail_greeting(
    user_id: str,
    request: Request,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
) -> UserOut:
    """The user's own voicemail greeting, as a raw PCM WAV body (``audio/wav``)."""
    data = await request.body()
    if len(data) > MAX_GREETING_BYTES:
        raise DialtoneError("greeting.too_large", "A greeting file is at most 10 MiB.", status=413)
    row = users.get_user(session, account.id, user_id)
    stored = store_greeting(settings.greetings_dir, f"voicemail-{row.id}", data)
    row = users.update_user(session, account.id, user_id, voicemail_greeting=stored)
    return _out(session, row)


@router.delete(
    "/{user_id}/voicemail-greeting",
    dependencies=[permit_on_user("users.self_service")],
    response_model=UserOut,
)
def delete_voicemail_greeting(user_id: str, account: AccountDep, session: SessionDep) -> UserOut:
    """Back to the built-in voicemail greeting."""
    row = users.update_user(session, account.id, user_id, voicemail_greeting=None)
    return _out(session, row)


class EmergencyLocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="Where the user is: street, city, postcode.")
    country: str = Field(description="ISO 3166 country of the address (e.g. FR).")
    acknowledge_misrouting_warning: bool = Field(
        description="True once the user has read `warning` (TERMS V7); required."
    )


class EmergencyLocationOut(BaseModel):
    user_id: str
    registered: bool = Field(description="Whether emergency calls may be placed (V7).")
    address: str | None
    country: str | None
    registered_at: datetime | None
    warning_acknowledged_at: datetime | None
    warning: str = Field(description="What the user must be shown and acknowledge (V7).")

    @classmethod
    def of(cls, row: User) -> EmergencyLocationOut:
        return cls(
            user_id=row.id,
            registered=row.emergency_address is not None,
            address=row.emergency_address,
            country=row.emergency_country,
            registered_at=row.emergency_registered_at,
            warning_acknowledged_at=row.emergency_warning_acknowledged_at,
            warning=MISROUTING_WARNING,
        )


@router.get(
    "/{user_id}/emergency-location",
    dependencies=[permit_on_user("users.self_service")],
    response_model=EmergencyLocationOut,
)
def get_emergency_location(
    user_id: str, account: AccountDep, session: SessionDep
) -> EmergencyLocationOut:
    """The user's registered emergency location, and the warning to show them (V7)."""
    return EmergencyLocationOut.of(users.get_user(session, account.id, user_id))


@router.put(
    "/{user_id}/emergency-location",
    dependencies=[permit_on_user("users.self_service")],
    response_model=EmergencyLocationOut,
)
def put_emergency_location(
    user_id: str, body: EmergencyLocationIn, account: AccountDep, session: SessionDep
) -> EmergencyLocationOut:
    """Register where the user's emergency calls come from, with the acknowledged
    misrouting warning (V7: 400 ``emergency.location_invalid`` otherwise)."""
    row = users.set_emergency_location(
        session,
        account.id,
        user_id,
        address=body.address,
        country=body.country,
        warning_acknowledged=body.acknowledge_misrouting_warning,
        now=datetime.now(UTC),
    )
    return EmergencyLocationOut.of(row)


@router.delete(
    "/{user_id}/emergency-location",
    dependencies=[permit_on_user("users.self_service")],
    response_model=EmergencyLocationOut,
)
def delete_emergency_location(
    user_id: str, account: AccountDep, session: SessionDep
) -> EmergencyLocationOut:
    """Forget the location: the user's emergency calls are refused until one is set."""
    return EmergencyLocationOut.of(users.clear_emergency_location(session, account.id, user_id))
