"""``/v1/numbers``: the numbers an account holds, their greetings and their routes."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.core.errors import DialtoneError
from dialtone.policy.decision import ALLOWED
from dialtone.policy.numbering import use_notices
from dialtone.services.accounts import accounts
from dialtone.services.billing import contract_changes
from dialtone.services.numbering import inventory, kyc, numbers
from dialtone.services.telephony import routing
from dialtone.services.telephony.greetings import MAX_GREETING_BYTES, store_greeting
from dialtone.store.models import PhoneNumber

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])


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
    inbound_only: bool = Field(
        description="Takes calls but is never presented on outbound calls (TERMS N13; set "
        "by the operator for a number of a country without the customer's operations)."
    )
    intended_use: str | None = Field(description="Declared intended use (TERMS N11).")
    end_user: str | None = Field(description="Declared real end user (TERMS N11).")
    declared_at: datetime | None
    activated_at: datetime | None = Field(
        description="When the number started taking and placing calls; null while its "
        "documents await approval (TERMS N3: see GET /v1/kyc)."
    )
    created_at: datetime

    @classmethod
    def of(cls, row: PhoneNumber) -> NumberOut:
        return cls(
            id=row.id,
            number=row.number,
            account_id=row.account_id,
            greeting="custom" if row.greeting else "default",
            inbound_only=row.inbound_only,
            intended_use=row.intended_use,
            end_user=row.end_user,
            declared_at=row.declared_at,
            activated_at=row.activated_at,
            created_at=row.created_at,
        )


class NumberAdded(NumberOut):
    activation: dict[str, object] = Field(
        description="Whether the documents allow activation now (TERMS N3): "
        '{"allowed": true}, or the refusal with its code (kyc.documents_missing, '
        "kyc.documents_pending, kyc.address_outside_zone) and details."
    )
    notices: list[str] = Field(
        description="What to know about the number chosen: that it lies outside the "
        "account's country or names a local area (TERMS N1); that a mobile number is for "
        "person-to-person use from mobile access only (N12)."
    )


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intended_use: str = Field(description="What the number is for (e.g. 'support line').")
    end_user: str = Field(description="Who really uses it (a company or person).")


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


class AvailableNumber(BaseModel):
    number: str
    notices: list[str] = Field(
        description="What to know before choosing it (N1 local area, N12 mobile)."
    )


class AvailableList(BaseModel):
    numbers: list[AvailableNumber]


@router.get("/available", dependencies=[permit("numbers.read")], response_model=AvailableList)
def available_numbers(
    *,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    country: Annotated[str | None, Query(description="ISO 3166, e.g. FR.")] = None,
    starting: Annotated[
        str | None, Query(description="An E.164 prefix, e.g. +331 (Paris).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AvailableList:
    """Numbers of the operator's stock the account may choose (TERMS N1), each with the
    notice that it may lie outside the account's local calling area."""
    home = accounts.dialling_country(account, settings.default_country)
    found = inventory.available(
        session, now=datetime.now(UTC), country=country, starting=starting, limit=limit
    )
    return AvailableList(
        numbers=[
            AvailableNumber(number=n, notices=[text for _, text in use_notices(n, home)])
            for n in found
        ]
    )


@router.post(
    "",
    dependencies=[permit("numbers.write")],
    status_code=status.HTTP_201_CREATED,
    response_model=NumberAdded,
)
def add_number(
    body: NumberIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> NumberAdded:
    """Lease a number to the account (409 ``number.held`` when anyone holds it), with
    the N1 notice when it may lie outside the account's local calling area. It is
    activated at once when the account's approved documents suffice for its type and
    zone (N3); otherwise it waits for them (``activation`` says what is missing)."""
    e164 = numbers.to_e164(body.number)
    decision = kyc.activation(session, account.id, e164) if settings.kyc_required else ALLOWED
    row = numbers.add_number(
        session, account.id, e164, now=datetime.now(UTC), activated=decision.allowed
    )
    inventory.take(session, row.number)  # chosen from the operator's stock (N1)
    if body.greeting is not None:
        row.greeting = store_greeting(
            settings.greetings_dir, row.id, _decode_greeting(body.greeting)
        )
    said = use_notices(row.number, accounts.dialling_country(account, settings.default_country))
    return NumberAdded(
        **NumberOut.of(row).model_dump(),
        activation=decision.as_payload(),
        notices=[text for _, text in said],
    )


@router.put(
    "/{number}/declaration", dependencies=[permit("numbers.write")], response_model=NumberOut
)
def declare_use(
    number: str, body: DeclarationIn, account: AccountDep, session: SessionDep
) -> NumberOut:
    """Declare the number's intended use and real end user (TERMS N11; 400
    ``number.declaration_invalid``). A new declaration replaces the last, dated."""
    row = numbers.declare_use(
        session,
        account.id,
        number,
        intended_use=body.intended_use,
        end_user=body.end_user,
        now=datetime.now(UTC),
    )
    return NumberOut.of(row)


@router.get("", dependencies=[permit("numbers.read")], response_model=NumberList)
def list_numbers(account: AccountDep, session: SessionDep) -> NumberList:
    """The account's numbers."""
    return NumberList(numbers=[NumberOut.of(r) for r in numbers.list_numbers(session, account.id)])


@router.get("/{number}", dependencies=[permit("numbers.read")], response_model=NumberOut)
def get_number(number: str, account: AccountDep, session: SessionDep) -> NumberOut:
    """One of the account's numbers."""
    return NumberOut.of(numbers.get_number(session, account.id, number))


@router.delete(
    "/{number}", dependencies=[permit("numbers.write")], status_code=status.HTTP_204_NO_CONTENT
)
def delete_number(number: str, account: AccountDep, session: SessionDep) -> Response:
    """Give the number back; calls to it then get 404. Under a committed subscription it
    costs 6 months of its price, on the next invoice (N9)."""
    row = numbers.get_number(session, account.id, number)
    contract_changes.charge_number_deletion(session, account.id, row, now=datetime.now(UTC))
    numbers.release_number(session, account.id, number)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{number}/greeting",
    dependencies=[permit("numbers.write")],
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


@router.delete(
    "/{number}/greeting", dependencies=[permit("numbers.write")], response_model=NumberOut
)
def delete_greeting(number: str, account: AccountDep, session: SessionDep) -> NumberOut:
    """Go back to the built-in greeting."""
    row = numbers.get_number(session, account.id, number)
    row.greeting = None
    return NumberOut.of(row)


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="greeting, user, group, forward, voicemail or agent.")
    target: str | None = Field(
        default=None,
        description="A user id (user, voicemail), a ring-group id (group), an E.164 "
        "number (forward) or an agent profile id (agent, issue 17); none for greeting. "
        "Never an inactive endpoint (TERMS N10).",
    )
    no_answer_seconds: int | None = Field(
        default=None, description="Ring time before voicemail (5–300); null: the default."
    )
    voicemail_user_id: str | None = Field(
        default=None,
        description="Whose box takes unanswered calls (on an agent route: the messages "
        "the agent takes); null on a user route: that user's.",
    )


class RouteOut(BaseModel):
    number: str
    kind: str
    target: str | None
    no_answer_seconds: int | None
    effective_no_answer_seconds: float = Field(description="What applies, default included.")
    voicemail_user_id: str | None

    @classmethod
    def of(cls, route: routing.Route, default_no_answer: float) -> RouteOut:
        return cls(
            number=route.number,
            kind=route.kind,
            target=route.target,
            no_answer_seconds=route.no_answer_seconds,
            effective_no_answer_seconds=(
                route.no_answer_seconds
                if route.no_answer_seconds is not None
                else default_no_answer
            ),
            voicemail_user_id=route.voicemail_user_id,
        )


@router.get("/{number}/route", dependencies=[permit("numbers.read")], response_model=RouteOut)
def get_route(
    number: str, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> RouteOut:
    """Where calls to the number go."""
    route = routing.get_route(session, account.id, number)
    return RouteOut.of(route, settings.no_answer_seconds)


@router.put("/{number}/route", dependencies=[permit("numbers.write")], response_model=RouteOut)
def put_route(
    number: str, body: RouteIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> RouteOut:
    """Route calls to the number (400 ``route.invalid``, ``route.inactive_endpoint`` N10,
    403 ``destination.*`` V5 for a forward the account may not call)."""
    route = routing.set_route(
        session,
        account.id,
        number,
        kind=body.kind,
        target=body.target,
        no_answer_seconds=body.no_answer_seconds,
        voicemail_user_id=body.voicemail_user_id,
        operator_destinations=settings.destinations,
    )
    return RouteOut.of(route, settings.no_answer_seconds)


@router.delete("/{number}/route", dependencies=[permit("numbers.write")], response_model=RouteOut)
def delete_route(
    number: str, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> RouteOut:
    """Back to the default route: the number's greeting plays (404 ``number.not_found``)."""
    route = routing.set_route(session, account.id, number, kind="greeting")
    return RouteOut.of(route, settings.no_answer_seconds)
