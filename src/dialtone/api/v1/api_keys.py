"""``/v1/api-keys``: the account's keys and its users' keys (TERMS D1, D2).

A key issued to a user acts with that user's role; the account's own key acts as the
administrator. A key is shown once, when issued or rotated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, CallerDep, SessionDep, permit
from dialtone.core.errors import Conflict
from dialtone.policy.permissions import ADMINISTRATOR
from dialtone.services.accounts import api_keys
from dialtone.store.models import ApiKey

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", description="What the key is for.")
    user_id: str | None = Field(
        default=None,
        description="The user the key acts as, with that user's role (TERMS D1); "
        "none: an account key, acting as the administrator.",
    )


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    user_id: str | None
    role: str = Field(description="The role the key acts with (TERMS D1).")
    created_at: datetime
    expires_at: datetime | None = Field(
        description="When a rotated key stops working (TERMS D2 notice)."
    )
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyOut:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            user_id=row.user_id,
            role=row.user.role if row.user is not None else ADMINISTRATOR,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )


class IssuedKeyOut(ApiKeyOut):
    key: str = Field(description="The key itself, shown this once: store it now.")

    @classmethod
    def issued(cls, issued: api_keys.IssuedKey) -> IssuedKeyOut:
        return cls(**ApiKeyOut.of(issued.row).model_dump(), key=issued.key)


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]


@router.post(
    "",
    dependencies=[permit("api_keys.manage")],
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedKeyOut,
)
def issue_key(
    body: ApiKeyIn, account: AccountDep, session: SessionDep, caller: CallerDep
) -> IssuedKeyOut:
    """Issue a key for the account or one of its users (404 ``user.not_found``; 409
    ``api_key.retiring`` from a key in its rotation notice)."""
    _not_retiring(caller)
    issued = api_keys.issue(
        session, account.id, now=datetime.now(UTC), name=body.name, user_id=body.user_id
    )
    return IssuedKeyOut.issued(issued)


@router.get("", dependencies=[permit("api_keys.manage")], response_model=ApiKeyList)
def list_keys(account: AccountDep, session: SessionDep) -> ApiKeyList:
    """Every key of the account, revoked ones too (never the keys themselves)."""
    return ApiKeyList(api_keys=[ApiKeyOut.of(r) for r in api_keys.list_keys(session, account.id)])


def _not_retiring(caller: CallerDep) -> None:
    """A key in its rotation notice (D2) is on its way out: it may not issue or rotate
    keys, or it could mint a successor that never expires and outlive its notice."""
    ends = caller.credential.expires_at
    if ends is not None:
        raise Conflict(
            "api_key.retiring",
            f"This API key was rotated and stops at {ends.isoformat()}: it cannot issue or "
            "rotate keys; use its replacement.",
            rule="D2",
        )


@router.post(
    "/{key_id}/rotate",
    dependencies=[permit("api_keys.manage")],
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedKeyOut,
)
def rotate_key(
    key_id: str,
    account: AccountDep,
    session: SessionDep,
    caller: CallerDep,
    immediately: Annotated[
        bool,
        Query(
            description="Stop the old key now (a suspected compromise, TERMS D2); "
            "otherwise it works one more business day while clients switch."
        ),
    ] = False,
) -> IssuedKeyOut:
    """Replace a key: the new one is returned once; the old one ends now or after one
    business day (409 ``api_key.inactive`` for a revoked or expired key,
    ``api_key.rotating`` for one already rotated, ``api_key.retiring`` from a key in its
    rotation notice)."""
    _not_retiring(caller)
    issued = api_keys.rotate(
        session,
        account.id,
        key_id,
        now=datetime.now(UTC),
        immediately=immediately,
        actor=f"account:{account.id}",
    )
    return IssuedKeyOut.issued(issued)


@router.delete(
    "/{key_id}", dependencies=[permit("api_keys.manage")], status_code=status.HTTP_204_NO_CONTENT
)
def revoke_key(key_id: str, account: AccountDep, session: SessionDep) -> Response:
    """Revoke a key at once (it stays listed, revoked)."""
    api_keys.revoke(session, account.id, key_id, now=datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
