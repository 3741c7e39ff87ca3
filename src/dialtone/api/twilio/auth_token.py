"""``/v1/account/auth-token``: the customer rotates the account's auth token (TERMS D2;
issue 16). The new token is shown once; the old one stops at once (a suspected
compromise) or after one business day, as an API key's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from dialtone.api.deps import CallerDep, RecordingKeyDep, SessionDep, permit
from dialtone.core.errors import Conflict
from dialtone.services.twilio import auth_tokens

router = APIRouter(prefix="/v1/account/auth-token", tags=["account"])


class AuthTokenOut(BaseModel):
    account_sid: str
    auth_token: str = Field(description="The new token, shown this once: store it now.")
    previous_expires_at: datetime | None = Field(
        description="When the token it replaced stops; null: it had none."
    )


@router.post(
    "/rotate",
    dependencies=[permit("api_keys.manage")],
    status_code=status.HTTP_201_CREATED,
    response_model=AuthTokenOut,
)
def rotate_auth_token(
    caller: CallerDep,
    session: SessionDep,
    key: RecordingKeyDep,
    immediately: Annotated[
        bool,
        Query(
            description="Stop the old token now (a suspected compromise, TERMS D2); "
            "otherwise it works one more business day while clients switch."
        ),
    ] = False,
) -> AuthTokenOut:
    """Issue the account's auth token, or replace it (409 ``api_key.retiring`` from a
    credential in its own rotation notice)."""
    ends = caller.credential.expires_at
    if ends is not None:
        raise Conflict(
            "api_key.retiring",
            f"This credential was rotated and stops at {ends.isoformat()}: use its replacement.",
            rule="D2",
        )
    account = caller.account
    rotated = auth_tokens.rotate(
        session,
        account.id,
        key,
        datetime.now(UTC),
        immediately=immediately,
        actor=f"account:{account.id}",
    )
    return AuthTokenOut(
        account_sid=account.id,
        auth_token=rotated.token,
        previous_expires_at=rotated.previous_expires_at,
    )
