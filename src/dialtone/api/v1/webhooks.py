"""``/v1/webhooks``: the webhooks the platform owed the account and what became of them
(issue 16): pending, delivered, or failed with the last error, so a customer sees
every webhook that did not reach it and why. The bodies are not shown (they may carry
message text); a URL's password is masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, SessionDep, permit
from dialtone.services.accounts import webhooks
from dialtone.store.messaging_models import WebhookDelivery

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookOut(BaseModel):
    id: int
    event: str = Field(description="What it tells of: message.status, message.received, …")
    url: str
    format: str = Field(description='"dialtone" (signed JSON) or "twilio" (signed form).')
    method: str
    state: str = Field(description='"pending", "delivered" or "failed" (given up after 24 h).')
    attempts: int
    last_error: str | None = Field(
        description="Why the last attempt failed (HTTP status, connection, refused target)."
    )
    next_at: datetime | None = Field(description="When a pending one is tried next.")
    created_at: datetime
    done_at: datetime | None

    @classmethod
    def of(cls, row: WebhookDelivery) -> WebhookOut:
        return cls(
            id=row.id,
            event=row.event,
            url=webhooks.masked_url(row.url),
            format=row.format,
            method=row.method,
            state=row.state,
            attempts=row.attempts,
            last_error=row.last_error,
            next_at=row.next_at,
            created_at=row.created_at,
            done_at=row.done_at,
        )


class WebhookPage(BaseModel):
    webhooks: list[WebhookOut]
    next_before: int | None = Field(
        description="Pass as ``before`` for the next page; null on the last."
    )


@router.get("", dependencies=[permit("webhooks.read")], response_model=WebhookPage)
def list_webhooks(
    account: AccountDep,
    session: SessionDep,
    state: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, description="An id: older ones only.")] = None,
) -> WebhookPage:
    """The account's webhooks, newest first, one ``state`` only when given; paged by
    ``limit`` and ``before``."""
    rows = webhooks.list_deliveries(
        session, account.id, state=state, limit=limit + 1, before_id=before
    )
    page = rows[:limit]
    more = len(rows) > limit
    return WebhookPage(
        webhooks=[WebhookOut.of(r) for r in page],
        next_before=page[-1].id if more and page else None,
    )
