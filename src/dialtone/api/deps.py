"""Request-scoped dependencies: a database session, the caller and its permissions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from dialtone.api.admission import Admission
from dialtone.core.errors import DialtoneError
from dialtone.logs import note_account
from dialtone.policy import permissions
from dialtone.services.accounts import api_keys
from dialtone.services.accounts.api_keys import Credential
from dialtone.services.numbering.kyc import MAX_DOCUMENT_BYTES
from dialtone.settings import Settings
from dialtone.store.models import Account

bearer = HTTPBearer(auto_error=False, description="An account API key: `Bearer dt_…`.")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns without error.

    The request first waits for a place (``admission``: 503 ``api.busy`` past the
    wait).

    Declared with ``scope="function"`` (below): FastAPI otherwise runs the code after
    ``yield`` once the response has been sent, so a client could read its 200 before
    the commit (and act on it: a route set, then a call that still saw the old one), and
    a commit that failed would follow a success the client already holds.
    """
    factory = request.app.state.sessions
    admission: Admission = request.app.state.admission
    with (
        admission.enter(),
        factory() as session,
        session.begin(),
    ):
        yield session


def get_settings(request: Request) -> Settings:
    """The running platform's settings."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def recording_key(request: Request) -> bytes:
    """The key recordings and documents are sealed with (TERMS D5): read (or generated)
    once per app, not at every request."""
    key: bytes | None = getattr(request.app.state, "recording_key", None)
    if key is None:
        settings: Settings = request.app.state.settings
        key = settings.sealing_key()  # one source of the key, as the runtime's
        request.app.state.recording_key = key
    return key


RecordingKeyDep = Annotated[bytes, Depends(recording_key)]


async def document_body(request: Request) -> bytes:
    """An uploaded document's raw body: 413 ``http.too_large`` above 10 MiB."""
    data = await request.body()
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DialtoneError("http.too_large", "A document is at most 10 MiB.", status=413)
    return data


DocumentDep = Annotated[bytes, Depends(document_body)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request acts as: the account, the role its key carries, and the user the
    key belongs to (None for the account's own key, which acts as the administrator)."""

    credential: Credential

    @property
    def account(self) -> Account:
        return self.credential.account

    @property
    def role(self) -> str:
        return self.credential.role

    @property
    def user_id(self) -> str | None:
        return self.credential.user_id

    def check(self, permission: str, subject_user_id: str | None = None) -> None:
        """Raise the D1 refusal unless the role may use ``permission`` (on a record of
        the user ``subject_user_id``, when given)."""
        decision = permissions.authorize(
            self.role,
            permission,
            acting_user_id=self.user_id,
            subject_user_id=subject_user_id,
        )
        if decision.refused:
            raise decision.as_error()

    def check_parties(self, permission: str, parties: Sequence[str]) -> None:
        """Raise the D1 refusal unless the role may use ``permission`` on a record shared
        by the users ``parties`` (a call's callee and caller): a role reaching its own
        records only reaches it when its user is one of them (never when there is none)."""
        mine = self.user_id is not None and self.user_id in parties
        self.check(permission, self.user_id if mine else (parties[0] if parties else ""))

    def check_standing(self, permission: str, method: str) -> None:
        """Raise ``account.closed`` or ``billing.suspended`` (B10) when the account's
        standing forbids this request: any write but the few it keeps (see
        :func:`dialtone.policy.permissions.standing`); reads always pass."""
        decision = permissions.standing(
            permission,
            write=method not in _READ_METHODS,
            closed=self.account.status == "closed",
            billing_suspended=self.account.billing_suspended_at is not None,
        )
        if decision.refused:
            raise decision.as_error()

    def narrow(self, permission: str, requested: str | None = None) -> str | None:
        """The user a listing is narrowed to: ``requested`` (None: everyone), except
        that a role whose ``permission`` reaches its own records only is narrowed to
        itself, and refused when it asked for someone else's."""
        if permissions.scope_of(self.role, permission) is permissions.Scope.OWN:
            if requested is not None:
                self.check(permission, requested)
            return self.user_id
        return requested


def current_caller(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Who this request's API key acts as (401 otherwise). Who asked is kept on the
    request, for the audit log of a refusal."""
    key = credentials.credentials if credentials is not None else None
    credential = api_keys.authenticate(session, key, now=datetime.now(UTC))
    request.state.account_id = credential.account.id
    note_account(credential.account.id)  # on its log lines
    request.state.actor = credential.actor
    return Caller(credential)


CallerDep = Annotated[Caller, Depends(current_caller)]


def current_account(caller: CallerDep) -> Account:
    """The account the request acts on."""
    return caller.account


AccountDep = Annotated[Account, Depends(current_account)]


def permit(permission: str) -> Any:
    """A route dependency refusing the request unless the caller's role has
    ``permission`` at some scope (TERMS D1) and the account's standing allows it (a
    closed or billing-suspended account writes almost nothing). Every route but the
    health check declares one (a test walks the routes); routes whose permission may
    reach the caller's own records only narrow or check the subject themselves with
    :class:`Caller`."""
    if permission not in permissions.PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")

    def check(request: Request, caller: CallerDep) -> Caller:
        caller.check(permission)
        caller.check_standing(permission, request.method)
        return caller

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def permit_on_user(permission: str) -> Any:
    """:func:`permit` for a route about the user ``{user_id}`` of its path: a role whose
    ``permission`` reaches its own records only may use it on itself alone (TERMS D1)."""
    if permission not in permissions.PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")

    def check(request: Request, user_id: str, caller: CallerDep) -> Caller:
        caller.check(permission, user_id)
        caller.check_standing(permission, request.method)
        return caller

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def wake_dispatcher(request: Request) -> None:
    """Wake the message dispatcher after a message's commit (a background task of the
    answer), so it sends at once; nothing without ``serve``'s messaging runtime."""
    messaging = getattr(request.app.state, "messaging", None)
    if messaging is not None:
        messaging.wake()
