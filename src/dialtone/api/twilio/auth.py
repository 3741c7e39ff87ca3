"""Who a Twilio-compatible request acts as (issue 16; TERMS D1, D2).

HTTP Basic ``AccountSid:AuthToken`` acts as the account's administrator, as Twilio's
auth token does; ``SK…:<key>`` is an API key used with its SID (a key ``KE<hex>`` is
``SK<hex>``, :mod:`dialtone.services.twilio.sids`), acting with its role as over
Bearer (D1); ``Authorization: Bearer dt_…`` works here too. The ``{AccountSid}`` of the
path must be the caller's own account: another one is not found (20404), whether it
exists or not.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from dialtone.api.deps import Caller, SessionDep, recording_key
from dialtone.core.errors import NotFound, Unauthorized
from dialtone.logs import note_account
from dialtone.policy import permissions
from dialtone.policy.permissions import ADMINISTRATOR
from dialtone.services.accounts import api_keys
from dialtone.services.accounts.api_keys import Credential
from dialtone.services.twilio import auth_tokens, sids
from dialtone.store.models import Account

_WRONG = "The credentials are wrong: an account SID and its auth token, or an API key SID and key."


class TokenCredential(Credential):
    """The account's auth token: the administrator, named so on the audit log."""

    __slots__ = ()

    @property
    def actor(self) -> str:
        return f"auth_token:{self.account.id}"


def _basic(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("auth.invalid_credentials", _WRONG) from None
    user, colon, secret = decoded.partition(":")
    if not colon:
        raise Unauthorized("auth.invalid_credentials", _WRONG)
    return user, secret


def authenticate(request: Request, session: SessionDep) -> Credential:
    """The credential of the request's Basic or Bearer header (401 ``auth.*``, which
    Twilio's clients read as 20003)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    now = datetime.now(UTC)
    if scheme.lower() == "bearer":
        return api_keys.authenticate(session, value.strip(), now=now)
    if scheme.lower() != "basic" or not value.strip():
        raise Unauthorized(
            "auth.missing", "Send HTTP Basic credentials: your account SID and auth token."
        )
    user, secret = _basic(value.strip())
    if sids.is_api_key_sid(user):
        credential = api_keys.authenticate(session, secret, now=now)
        if sids.api_key_sid(credential.key_id) != user:
            raise Unauthorized("auth.invalid_credentials", _WRONG)
        return credential
    account = session.get(Account, user) if user.startswith("AC") else None
    if account is None:
        raise Unauthorized("auth.invalid_credentials", _WRONG)
    found = auth_tokens.match(session, account.id, secret, now)
    if found is None or (
        found.expires_at is None
        and not auth_tokens.check(session, account.id, secret, recording_key(request), now)
    ):
        raise Unauthorized("auth.invalid_credentials", _WRONG)
    return TokenCredential(
        key_id="auth_token",
        account=account,
        role=ADMINISTRATOR,
        user_id=None,
        expires_at=found.expires_at,
    )


def current_caller(request: Request, session: SessionDep) -> Caller:
    """The caller, whose account must be the path's ``{AccountSid}`` (when it has one)."""
    credential = authenticate(request, session)
    request.state.account_id = credential.account.id
    note_account(credential.account.id)  # on its log lines
    request.state.actor = credential.actor
    wanted = request.path_params.get("AccountSid")
    if wanted is not None and wanted != credential.account.id:
        raise NotFound(
            "account.not_found", f"The requested resource {request.url.path} was not found"
        )
    return Caller(credential)


TwilioCallerDep = Annotated[Caller, Depends(current_caller)]


def permit(permission: str) -> Any:
    """:func:`dialtone.api.deps.permit` for the Twilio-compatible routes: the role
    (D1) and the account's standing (B10, N7) decide, whatever the credential."""
    if permission not in permissions.PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")

    def check(request: Request, caller: TwilioCallerDep) -> Caller:
        caller.check(permission)
        caller.check_standing(permission, request.method)
        return caller

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)
