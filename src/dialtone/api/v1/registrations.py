"""``/v1/registrations``: where the account's SIP devices are registered (read-only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, CallerDep, SessionDep, permit, permit_on_user
from dialtone.services.telephony import registrations, users
from dialtone.store.models import Registration

router = APIRouter(prefix="/v1", tags=["registrations"])


class RegistrationOut(BaseModel):
    id: str
    user_id: str
    contact: str
    source: str = Field(description="transport:host:port the REGISTER came from.")
    transport: str
    user_agent: str | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Registration) -> RegistrationOut:
        return cls(
            id=row.id,
            user_id=row.user_id,
            contact=row.contact,
            source=row.source,
            transport=row.transport,
            user_agent=row.user_agent,
            expires_at=row.expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class RegistrationList(BaseModel):
    registrations: list[RegistrationOut]


@router.get(
    "/registrations", dependencies=[permit("registrations.read")], response_model=RegistrationList
)
def list_registrations(
    caller: CallerDep,
    session: SessionDep,
    user_id: Annotated[str | None, Query(description="Only this user's devices.")] = None,
) -> RegistrationList:
    """The account's current (unexpired) registrations (a user's key: its own, D1)."""
    rows = registrations.list_registrations(
        session,
        caller.account.id,
        now=datetime.now(UTC),
        user_id=caller.narrow("registrations.read", user_id),
    )
    return RegistrationList(registrations=[RegistrationOut.of(r) for r in rows])


@router.get(
    "/users/{user_id}/registrations",
    dependencies=[permit_on_user("registrations.read")],
    response_model=RegistrationList,
)
def user_registrations(user_id: str, account: AccountDep, session: SessionDep) -> RegistrationList:
    """One user's current registrations (404 ``user.not_found``; D1 own only for a user)."""
    users.get_user(session, account.id, user_id)
    rows = registrations.list_registrations(
        session, account.id, now=datetime.now(UTC), user_id=user_id
    )
    return RegistrationList(registrations=[RegistrationOut.of(r) for r in rows])
