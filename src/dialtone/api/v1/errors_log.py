"""``/v1/errors``: the account's recent API errors, with the client's address (TERMS D4:
kept 14 days at most, the 100 most recent)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, SessionDep, permit
from dialtone.services.accounts import error_log
from dialtone.store.models import ErrorLogEntry

router = APIRouter(prefix="/v1/errors", tags=["errors"])


class ErrorOut(BaseModel):
    at: datetime
    client_ip: str | None = Field(description="Kept 14 days at most (TERMS D4).")
    method: str
    path: str
    status: int
    code: str
    message: str

    @classmethod
    def of(cls, row: ErrorLogEntry) -> ErrorOut:
        return cls(
            at=row.at,
            client_ip=row.client_ip,
            method=row.method,
            path=row.path,
            status=row.status,
            code=row.code,
            message=row.message,
        )


class ErrorList(BaseModel):
    errors: list[ErrorOut]


@router.get("", dependencies=[permit("errors.read")], response_model=ErrorList)
def list_errors(account: AccountDep, session: SessionDep) -> ErrorList:
    """The account's failed API requests, newest first (at most 100, 14 days)."""
    return ErrorList(errors=[ErrorOut.of(r) for r in error_log.list_errors(session, account.id)])
