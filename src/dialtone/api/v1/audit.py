"""``/v1/audit``: the account's audit log (every refusal and enforcement action of the
terms engine, newest first). Read-only: the log is append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, SessionDep, permit
from dialtone.services.accounts import audit
from dialtone.store.models import AuditEvent

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditEventOut(BaseModel):
    id: str
    at: datetime
    account_id: str | None
    actor: str = Field(description='Who acted: "api_key:KE…", "user:US…", "number:+…"…')
    action: str = Field(description='What was attempted: "call.outbound", "POST /v1/calls"…')
    outcome: str = Field(
        description='"refused", "enforced" (the platform acted) or "flagged" (a limit passed, M8).'
    )
    rule: str | None = Field(description="The TERMS.md rule.")
    code: str = Field(description="The reason code (docs/reason-codes.md).")
    message: str
    details: dict[str, Any] = Field(description="The inputs that mattered.")

    @classmethod
    def of(cls, row: AuditEvent) -> AuditEventOut:
        return cls(
            id=row.id,
            at=row.at,
            account_id=row.account_id,
            actor=row.actor,
            action=row.action,
            outcome=row.outcome,
            rule=row.rule,
            code=row.code,
            message=row.message,
            details=audit.details_of(row),
        )


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as ?before= for the next page.")


@router.get("", dependencies=[permit("audit.read")], response_model=AuditPage)
def list_events(
    *,
    account: AccountDep,
    session: SessionDep,
    rule: Annotated[str | None, Query(description="Only this rule (e.g. V5).")] = None,
    code: Annotated[str | None, Query(description="Only this reason code.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[str | None, Query(description="Cursor from the previous page.")] = None,
) -> AuditPage:
    """The account's audit events, newest first."""
    rows, cursor = audit.list_events(
        session, account.id, rule=rule, code=code, limit=limit, before=before
    )
    return AuditPage(events=[AuditEventOut.of(r) for r in rows], next_cursor=cursor)
