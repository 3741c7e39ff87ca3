"""Who is looking at a console page: the signed-in session, as the API's ``Caller``.

A customer's user acts with their role (TERMS D1); an operator who opened an account
acts as its administrator. Both go through ``Caller.check`` and ``Caller.check_standing``
exactly as an API key does: the console has no rules of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from dialtone.api.deps import Caller, SessionDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard import i18n
from dialtone.logs import note_account
from dialtone.policy import permissions
from dialtone.policy.permissions import ADMINISTRATOR
from dialtone.services.accounts import console_access
from dialtone.services.accounts.api_keys import Credential
from dialtone.store.console_models import ConsoleSession, Operator
from dialtone.store.models import Account, User

SESSION_COOKIE = "dt_session"
LANGUAGE_COOKIE = "dt_lang"


class SignInNeeded(Exception):
    """No session (or an expired one): the browser is sent to the sign-in page."""


class AccountNeeded(Exception):
    """An operator on a page of one account before opening one: sent to the accounts."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person of a request: their session, who they are, and the
    ``Caller`` they act as (None for an operator who has opened no account)."""

    row: ConsoleSession
    user: User | None
    operator: Operator | None
    caller: Caller | None
    language: str

    @property
    def csrf(self) -> str:
        """The token every form of this session carries."""
        return self.row.csrf_token

    @property
    def account(self) -> Account:
        """The account the pages show (an operator must have opened one)."""
        if self.caller is None:
            raise AccountNeeded
        return self.caller.account

    @property
    def name(self) -> str:
        if self.operator is not None:
            return self.operator.name
        return self.user.name if self.user is not None else ""

    @property
    def role(self) -> str:
        return self.caller.role if self.caller is not None else "operator"

    def can(self, permission: str) -> bool:
        """Whether the role reaches ``permission`` at all (to show a menu entry)."""
        if self.caller is None:
            return False
        return permissions.scope_of(self.caller.role, permission) > permissions.Scope.NONE

    def check(self, permission: str, method: str = "GET") -> Caller:
        """The caller, once its role may use ``permission`` and the account's standing
        allows it: the API's D1 refusal otherwise."""
        if self.caller is None:
            raise AccountNeeded
        self.caller.check(permission)
        self.caller.check_standing(permission, method)
        return self.caller

    def t(self, text: str, /, **values: object) -> str:
        """``text`` in the viewer's language."""
        return i18n.translator(self.language)(text, **values)


def browser_language(request: Request) -> str:
    """The language of a page shown before sign-in: the header's switch (a cookie), else
    ``Accept-Language``."""
    return i18n.choose(
        None, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def load_viewer(request: Request, session: Session) -> Viewer | None:
    """The viewer of the request's session cookie, or None."""
    now = datetime.now(UTC)
    row = console_access.session_for(session, request.cookies.get(SESSION_COOKIE), now=now)
    if row is None:
        return None
    user = session.get(User, row.user_id) if row.user_id else None
    operator = session.get(Operator, row.operator_id) if row.operator_id else None
    caller: Caller | None = None
    if user is not None:
        if user.status != "active":
            return None
        account = session.get(Account, user.account_id)
        if account is None:
            return None
        caller = Caller(
            Credential(
                key_id=user.id, account=account, role=user.role, user_id=user.id, kind="user"
            )
        )
    elif operator is not None:
        if row.account_id is not None:
            account = session.get(Account, row.account_id)
            if account is not None:
                caller = Caller(
                    Credential(
                        key_id=operator.id,
                        account=account,
                        role=ADMINISTRATOR,
                        user_id=None,
                        kind="operator",
                    )
                )
    else:
        return None
    language = i18n.choose(
        user.language if user is not None else None,
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )
    if caller is not None:
        # Who asked, for the audit log of a refusal (as the API records it).
        request.state.account_id = caller.account.id
        note_account(caller.account.id)  # on its log lines
        request.state.actor = caller.credential.actor
    return Viewer(row=row, user=user, operator=operator, caller=caller, language=language)


def current_viewer(request: Request, session: SessionDep) -> Viewer:
    """The signed-in viewer (the sign-in page otherwise)."""
    viewer = load_viewer(request, session)
    if viewer is None:
        raise SignInNeeded
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def needs(permission: str) -> Any:
    """A page's dependency: the viewer, once their role may use ``permission`` (TERMS D1)
    and the account's standing allows the request (B10), as the API decides."""
    if permission not in permissions.PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")

    def check(request: Request, viewer: ViewerDep) -> Viewer:
        viewer.check(permission, request.method)
        return viewer

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


def operator_only(viewer: ViewerDep) -> Viewer:
    """The viewer, when an operator of the platform."""
    if viewer.operator is None:
        raise DialtoneError(
            "console.operator_only", "Only an operator of the platform may do this.", status=403
        )
    return viewer


OperatorDep = Annotated[Viewer, Depends(operator_only)]
