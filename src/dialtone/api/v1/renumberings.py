"""``/v1/renumberings``: the platform's changes of the account's numbers, with their
notice (TERMS N14)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, SessionDep, permit
from dialtone.services.numbering import renumbering
from dialtone.store.models import Renumbering

router = APIRouter(prefix="/v1/renumberings", tags=["numbers"])


class RenumberingOut(BaseModel):
    old_number: str
    new_number: str = Field(description="Works from the notice on, with the old one's route.")
    reason: str
    notified_at: datetime
    effective_at: datetime = Field(description="When the old number stops working.")
    done: bool

    @classmethod
    def of(cls, row: Renumbering) -> RenumberingOut:
        return cls(
            old_number=row.old_number,
            new_number=row.new_number,
            reason=row.reason,
            notified_at=row.notified_at,
            effective_at=row.effective_at,
            done=row.done_at is not None,
        )


class RenumberingList(BaseModel):
    renumberings: list[RenumberingOut]


@router.get("", dependencies=[permit("numbers.read")], response_model=RenumberingList)
def list_renumberings(account: AccountDep, session: SessionDep) -> RenumberingList:
    """The account's renumberings, the latest notice first."""
    rows = renumbering.list_renumberings(session, account.id)
    return RenumberingList(renumberings=[RenumberingOut.of(r) for r in rows])
