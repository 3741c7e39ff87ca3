"""``/v1/smpp/logins``: the account's SMPP logins, for its software to bind to
dialtone's SMPP server (issue 15). The password is shown once, when the login is made;
only a hash is kept."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.services.messaging import logins
from dialtone.store.messaging_models import SmppLogin

router = APIRouter(prefix="/v1/smpp/logins", tags=["smpp"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_id: str = Field(description="1 to 15 characters, unique on the platform.")


class LoginOut(BaseModel):
    id: str
    system_id: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: SmppLogin) -> LoginOut:
        return cls(
            id=row.id, system_id=row.system_id, created_at=row.created_at, revoked_at=row.revoked_at
        )


class LoginMade(LoginOut):
    password: str = Field(description="Shown this once: keep it.")
    host: str
    port: int


class LoginList(BaseModel):
    logins: list[LoginOut]


@router.post(
    "",
    dependencies=[permit("smpp.manage")],
    response_model=LoginMade,
    status_code=status.HTTP_201_CREATED,
)
def create_login(
    body: LoginIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> LoginMade:
    """A new login; its password is in this answer only."""
    row, password = logins.create_login(session, account.id, body.system_id, now=datetime.now(UTC))
    return LoginMade(
        **LoginOut.of(row).model_dump(),
        password=password,
        host=settings.smpp_host,
        port=settings.smpp_port,
    )


@router.get("", dependencies=[permit("smpp.manage")], response_model=LoginList)
def list_logins(account: AccountDep, session: SessionDep) -> LoginList:
    """The account's logins (never their passwords)."""
    return LoginList(logins=[LoginOut.of(r) for r in logins.list_logins(session, account.id)])


@router.delete(
    "/{login_id}", dependencies=[permit("smpp.manage")], status_code=status.HTTP_204_NO_CONTENT
)
def revoke_login(login_id: str, account: AccountDep, session: SessionDep) -> None:
    """Revoke a login: binds with it are refused from now on."""
    logins.revoke_login(session, account.id, login_id, now=datetime.now(UTC))
