"""``/v1/numbers``: the numbers an account holds, and their greetings."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep
from dialtone.core.errors import DialtoneError
from dialtone.services import numbers
from dialtone.services.greetings import store_greeting
from dialtone.store.models import PhoneNumber

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])
MAX_GREETING_BYTES = 10 * 1024 * 1024


class NumberIn(BaseModel):
    number: str = Field(description="E.164, e.g. +33123456789 (spaces and dashes allowed).")
    greeting: str | None = Field(
        default=None,
        description="Optional greeting: a PCM WAV file, base64-encoded "
        "(a data: URL prefix is accepted). Without one the built-in greeting plays.",
    )


class NumberOut(BaseModel):
    id: str
    number: str
    account_id: str
    greeting: str = Field(description="'custom' or 'default'.")
    created_at: datetime

    @classmethod
    def of(cls, row: PhoneNumber) -> NumberOut:
        return cls(
            id=row.id,
            number=row.number,
            account_id=row.account_id,
            greeting="custom" if row.greeting else "default",
            created_at=row.created_at,
        )


class NumberList(BaseModel):
    numbers: list[NumberOut]


def _decode_greeting(text: str) -> bytes:
    payload = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DialtoneError("greeting.invalid", "greeting must be base64-encoded WAV.") from None
    if len(data) > MAX_GREETING_BYTES:
        raise DialtoneError("greeting.too_large", "A greeting file is at most 10 MiB.")
    return data


@router.post("", status_code=status.HTTP_201_CREATED, response_model=NumberOut)
def add_number(
    body: NumberIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> NumberOut:
    """Lease a number to the account (409 ``number.held`` when anyone holds it)."""
    row = numbers.add_number(session, account.id, body.number, now=datetime.now(UTC))
    if body.greeting is not None:
        row.greeting = store_greeting(
            settings.greetings_dir, row.id, _decode_greeting(body.greeting)
        )
    return NumberOut.of(row)


@router.get("", response_model=NumberList)
def list_numbers(account: AccountDep, session: SessionDep) -> NumberList:
    """The account's numbers."""
    return NumberList(numbers=[NumberOut.of(r) for r in numbers.list_numbers(session, account.id)])


@router.get("/{number}", response_model=NumberOut)
def get_number(number: str, account: AccountDep, session: SessionDep) -> NumberOut:
    """One of the account's numbers."""
    return NumberOut.of(numbers.get_number(session, account.id, number))


@router.delete("/{number}", status_code=status.HTTP_204_NO_CONTENT)
def delete_number(number: str, account: AccountDep, session: SessionDep) -> Response:
    """Give the number back; calls to it then get 404."""
    numbers.release_number(session, account.id, number)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{number}/greeting",
    response_model=NumberOut,
    openapi_extra={
        "requestBody": {
            "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def put_greeting(
    number: str, request: Request, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> NumberOut:
    """Upload the greeting as a raw PCM WAV body (``Content-Type: audio/wav``)."""
    data = await request.body()
    if len(data) > MAX_GREETING_BYTES:
        raise DialtoneError("greeting.too_large", "A greeting file is at most 10 MiB.", status=413)
    row = numbers.get_number(session, account.id, number)
    row.greeting = store_greeting(settings.greetings_dir, row.id, data)
    return NumberOut.of(row)


@router.delete("/{number}/greeting", response_model=NumberOut)
def delete_greeting(number: str, account: AccountDep, session: SessionDep) -> NumberOut:
    """Go back to the built-in greeting."""
    row = numbers.get_number(session, account.id, number)
    row.greeting = None
    return NumberOut.of(row)
