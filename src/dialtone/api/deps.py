"""Request-scoped dependencies: a database session and the caller's account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from dialtone.services import accounts
from dialtone.settings import Settings
from dialtone.store.models import Account

bearer = HTTPBearer(auto_error=False, description="An account API key: `Bearer dt_…`.")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns without error.

    Declared with ``scope="function"`` (below): FastAPI otherwise runs the code after
    ``yield`` once the response has been sent, so a client could read its 200 before
    the commit (and act on it: a route set, then a call that still saw the old one), and
    a commit that failed would follow a success the client already holds.
    """
    factory = request.app.state.sessions
    with factory() as session, session.begin():
        yield session


def get_settings(request: Request) -> Settings:
    """The running platform's settings."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_account(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    """The account whose API key authorises this request (401 otherwise). Who asked is
    kept on the request, for the audit log of a refusal."""
    key = credentials.credentials if credentials is not None else None
    api_key, account = accounts.authenticate_key(session, key)
    request.state.account_id = account.id
    request.state.actor = f"api_key:{api_key.id}"
    return account


AccountDep = Annotated[Account, Depends(current_account)]
