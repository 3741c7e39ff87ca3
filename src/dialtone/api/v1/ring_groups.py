"""``/v1/ring-groups``: users rung together or in turn when a number routes to the group."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, permit
from dialtone.services.telephony import routing
from dialtone.store.models import RingGroup

router = APIRouter(prefix="/v1/ring-groups", tags=["ring groups"])


class RingGroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    strategy: str = Field(description="parallel (all at once) or sequential (in turn).")
    member_seconds: int = Field(default=20, description="How long each member rings (5–300).")
    user_ids: list[str] = Field(description="Members in ring order; no schedulers (D1).")


class RingGroupOut(BaseModel):
    id: str
    name: str
    strategy: str
    member_seconds: int
    user_ids: list[str]
    created_at: datetime

    @classmethod
    def of(cls, row: RingGroup) -> RingGroupOut:
        return cls(
            id=row.id,
            name=row.name,
            strategy=row.strategy,
            member_seconds=row.member_seconds,
            user_ids=[m.user_id for m in row.members],
            created_at=row.created_at,
        )


class RingGroupList(BaseModel):
    ring_groups: list[RingGroupOut]


@router.post(
    "",
    dependencies=[permit("ring_groups.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=RingGroupOut,
)
def create_ring_group(body: RingGroupIn, account: AccountDep, session: SessionDep) -> RingGroupOut:
    """Create a ring group of the account's users (400 ``ring_group.invalid``)."""
    row = routing.create_ring_group(
        session,
        account.id,
        name=body.name,
        strategy=body.strategy,
        member_seconds=body.member_seconds,
        user_ids=body.user_ids,
        now=datetime.now(UTC),
    )
    return RingGroupOut.of(row)


@router.get("", dependencies=[permit("ring_groups.read")], response_model=RingGroupList)
def list_ring_groups(account: AccountDep, session: SessionDep) -> RingGroupList:
    """The account's ring groups."""
    rows = routing.list_ring_groups(session, account.id)
    return RingGroupList(ring_groups=[RingGroupOut.of(r) for r in rows])


@router.get("/{group_id}", dependencies=[permit("ring_groups.read")], response_model=RingGroupOut)
def get_ring_group(group_id: str, account: AccountDep, session: SessionDep) -> RingGroupOut:
    """One ring group, members in ring order."""
    return RingGroupOut.of(routing.get_ring_group(session, account.id, group_id))


@router.delete(
    "/{group_id}",
    dependencies=[permit("ring_groups.write")],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_ring_group(group_id: str, account: AccountDep, session: SessionDep) -> Response:
    """Remove a ring group; numbers routed to it fall back to the greeting (N10)."""
    routing.delete_ring_group(session, account.id, group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
