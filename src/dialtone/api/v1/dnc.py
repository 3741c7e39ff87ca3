"""``/v1/dnc``: the account's do-not-call list (TERMS V12).

Numbers on it are never called by the account (its calls get 403 ``dnc.listed``);
telemarketing accounts also meet the national registers the operator imported.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import accounts
from dialtone.services.compliance import dnc
from dialtone.services.numbering import numbers

router = APIRouter(prefix="/v1/dnc", tags=["do-not-call"])
# About 1.2 million numbers; bigger lists are imported in parts. The API refuses a larger
# body before reading it (api/limits.py).
MAX_UPLOAD_BYTES = 16 * 1024 * 1024


class ImportOut(BaseModel):
    added: int
    already_listed: int
    invalid_lines: list[int] = Field(description="CSV lines that are not a number.")


class DncEntryOut(BaseModel):
    number: str
    added_at: datetime


class DncList(BaseModel):
    numbers: list[DncEntryOut]


class DncStatus(BaseModel):
    number: str
    listed_by: str | None = Field(
        description="\"account\" (the account's list), a register's name, or null."
    )


@router.post(
    "",
    dependencies=[permit("dnc.write")],
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
async def import_numbers(
    request: Request, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> ImportOut:
    """Add the numbers of a CSV body (``text/csv``: numbers in the first column, a header
    allowed; international, or national forms of the account's country) to the account's
    list."""
    body = await request.body()
    if len(body) > MAX_UPLOAD_BYTES:
        raise DialtoneError("dnc.invalid", "A do-not-call upload is at most 16 MiB.", status=413)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DialtoneError("dnc.invalid", "The CSV is not UTF-8 text.") from None
    region = accounts.dialling_country(account, settings.default_country)
    result = dnc.import_csv(session, account.id, text, now=datetime.now(UTC), region=region)
    return ImportOut(
        added=result.added,
        already_listed=result.already_listed,
        invalid_lines=result.invalid_lines[:1000],
    )


@router.get("", dependencies=[permit("dnc.read")], response_model=DncList)
def list_numbers(account: AccountDep, session: SessionDep) -> DncList:
    """The account's own list (up to 1000 numbers, by number)."""
    rows = dnc.list_numbers(session, account.id)
    return DncList(numbers=[DncEntryOut(number=r.number, added_at=r.added_at) for r in rows])


@router.get("/{number}", dependencies=[permit("dnc.read")], response_model=DncStatus)
def number_status(number: str, account: AccountDep, session: SessionDep) -> DncStatus:
    """Whether the account may not call ``number``, and which list says so."""
    e164 = numbers.to_e164(number)
    return DncStatus(number=e164, listed_by=dnc.listed_by(session, account.id, e164))


@router.delete(
    "/{number}", dependencies=[permit("dnc.write")], status_code=status.HTTP_204_NO_CONTENT
)
def remove_number(number: str, account: AccountDep, session: SessionDep) -> Response:
    """Take a number off the account's list."""
    dnc.remove(session, account.id, number)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
