"""``/v1/account``: the calling account itself, and the call options it may set.

Channels per user (TERMS V2) is a paid option, and premium-rate and high-cost
destinations (V5) are blocked unless the operator allows them: shown here, set by the
operator (CLI).
The recording policy (V8) is the customer's own choice: "notice" plays a notice to both
parties, then records both legs.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep
from dialtone.services import accounts
from dialtone.store.models import Account

router = APIRouter(prefix="/v1/account", tags=["account"])


class AccountOut(BaseModel):
    id: str
    name: str
    status: str
    billing_increment: str = Field(description="First/next billing seconds (TERMS B2).")
    channels_per_user: int = Field(description="Simultaneous calls per user (TERMS V2).")
    recording_policy: str = Field(description='"off" or "notice" (TERMS V8).')
    country: str = Field(description="ISO 3166 country the account dials from (V6, V7).")
    premium_rate_allowed: bool = Field(
        description="Whether premium-rate numbers may be called (TERMS V5; set by the operator)."
    )
    high_cost_allowed: bool = Field(
        description="Whether high-cost destinations may be called (V5; set by the operator)."
    )
    created_at: datetime

    @classmethod
    def of(cls, row: Account, default_country: str) -> AccountOut:
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            billing_increment=row.billing_increment,
            channels_per_user=row.channels_per_user,
            recording_policy=row.recording_policy,
            country=row.country or default_country,
            premium_rate_allowed=row.premium_rate_allowed,
            high_cost_allowed=row.high_cost_allowed,
            created_at=row.created_at,
        )


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_policy: str | None = Field(default=None, description='"off" or "notice" (V8).')


@router.get("", response_model=AccountOut)
def get_account(account: AccountDep, settings: SettingsDep) -> AccountOut:
    """The account the API key belongs to."""
    return AccountOut.of(account, settings.default_country)


@router.patch("", response_model=AccountOut)
def patch_account(
    body: AccountPatch, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> AccountOut:
    """Change the account's recording policy (TERMS V8)."""
    row = accounts.set_call_options(session, account.id, recording_policy=body.recording_policy)
    return AccountOut.of(row, settings.default_country)
