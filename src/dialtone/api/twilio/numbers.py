"""``…/IncomingPhoneNumbers`` and ``…/AvailablePhoneNumbers``: numbers through the
Twilio-compatible API (issue 16).

Buying leases a number as ``POST /v1/numbers`` does (N1 from the stock, N2 leased, N3
activation, N7 quarantine); releasing is ``DELETE /v1/numbers`` (N9). The TwiML and
status-callback URLs are kept on the number: a number with a ``VoiceUrl`` runs TwiML
instead of its route.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.api.twilio.accounts import account_uri
from dialtone.api.twilio.auth import TwilioCallerDep, permit
from dialtone.api.twilio.wire import (
    API_VERSION,
    PREFIX,
    Paging,
    ParamsDep,
    as_parameter,
    page_body,
    respond,
    rfc2822,
)
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy.decision import ALLOWED
from dialtone.policy.numbering import number_type, region_code, use_notices
from dialtone.services.accounts import accounts
from dialtone.services.billing import contract_changes
from dialtone.services.numbering import inventory, kyc, numbers
from dialtone.services.twilio import listings, number_settings
from dialtone.services.twilio.error_codes import invalid
from dialtone.store.models import PhoneNumber

router = APIRouter(prefix=f"{PREFIX}/Accounts/{{AccountSid}}", tags=["twilio"])

R = number_settings.RESOURCE


def number_json(row: PhoneNumber) -> dict[str, Any]:
    """A number the account holds, as Twilio shows it."""
    uri = f"{account_uri(row.account_id)}/IncomingPhoneNumbers/{row.id}"
    return {
        "account_sid": row.account_id,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
        "date_created": rfc2822(row.created_at),
        "date_updated": rfc2822(row.declared_at or row.activated_at or row.created_at),
        "friendly_name": row.friendly_name or _friendly(row.number),
        "identity_sid": None,
        "origin": "hosted" if row.kind == "ported" else "twilio",
        "phone_number": row.number,
        "sid": row.id,
        "sms_application_sid": None,
        "sms_fallback_method": row.sms_fallback_method,
        "sms_fallback_url": row.sms_fallback_url,
        "sms_method": row.sms_method,
        "sms_url": row.sms_url,
        "status_callback": row.status_callback,
        "status_callback_method": row.status_callback_method,
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": row.voice_fallback_method,
        "voice_fallback_url": row.voice_fallback_url,
        "voice_method": row.voice_method,
        "voice_url": row.voice_url,
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "bundle_sid": None,
        # N3: "in-use" once activated; "pending" while its documents are reviewed.
        "status": "in-use" if row.activated_at is not None else "pending",
    }


def _friendly(e164: str) -> str:
    """A number as people write it in its country (Twilio's default friendly name)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def _held(session: SessionDep, account_id: str, sid: str) -> PhoneNumber:
    row = session.get(PhoneNumber, sid)
    if row is None or row.account_id != account_id:
        raise NotFound("number.not_found", f"The account holds no number {sid}.")
    return row


@router.post("/IncomingPhoneNumbers.json", dependencies=[permit("numbers.write")])
def buy_number(
    caller: TwilioCallerDep, found: ParamsDep, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """Buy (lease) a number: ``PhoneNumber``, or ``AreaCode`` (the first of the stock in
    that area of the account's country); with its ``FriendlyName`` and URLs. 201."""
    account = caller.account
    now = datetime.now(UTC)
    country = accounts.dialling_country(account, settings.default_country)
    wanted = found.text(R, "PhoneNumber", most=32)
    area = found.text(R, "AreaCode", most=6)
    if wanted is not None:
        try:
            e164 = numbers.to_e164(wanted)
        except DialtoneError as exc:
            raise as_parameter(exc, R, "PhoneNumber") from None
    elif area is not None:
        e164 = _in_area(session, country, area, now)
    else:
        raise invalid(R, "PhoneNumber", "PhoneNumber or AreaCode is required.")
    decision = kyc.activation(session, account.id, e164) if settings.kyc_required else ALLOWED
    row = numbers.add_number(session, account.id, e164, now=now, activated=decision.allowed)
    inventory.take(session, row.number)  # chosen from the operator's stock (N1)
    number_settings.apply(row, found, settings.webhook_target_policy)
    session.flush()
    return respond(number_json(row), status.HTTP_201_CREATED)


def _in_area(session: SessionDep, country: str, area: str, now: datetime) -> str:
    if not area.isdigit():
        raise invalid(R, "AreaCode", "digits only.")
    prefix = f"+{phonenumbers.country_code_for_region(country)}{area}"
    found = inventory.available(session, now=now, country=country, starting=prefix, limit=1)
    if not found:
        raise DialtoneError(
            "inventory.empty", f"No number of the area code {area} is in stock.", status=409
        )
    return found[0]


@router.get("/IncomingPhoneNumbers.json", dependencies=[permit("numbers.read")])
def list_numbers(
    request: Request, caller: TwilioCallerDep, found: ParamsDep, session: SessionDep
) -> JSONResponse:
    """The account's numbers: ``PhoneNumber`` (a part of it), ``FriendlyName`` filters."""
    paging = Paging.of(found, R)
    digits = found.get("PhoneNumber")
    rows, more = listings.numbers(
        session,
        caller.account.id,
        listings.Slice(paging.start, paging.size),
        number=re.sub(r"[^\d+]", "", digits) if digits else None,
        friendly_name=found.get("FriendlyName"),
    )
    items = [number_json(r) for r in rows]
    return respond(
        page_body(
            request, found, paging=paging, key="incoming_phone_numbers", rows=items, more=more
        )
    )


@router.get("/IncomingPhoneNumbers/{PhoneNumberSid}.json", dependencies=[permit("numbers.read")])
def fetch_number(PhoneNumberSid: str, caller: TwilioCallerDep, session: SessionDep) -> JSONResponse:
    """One of the account's numbers."""
    return respond(number_json(_held(session, caller.account.id, PhoneNumberSid)))


@router.post("/IncomingPhoneNumbers/{PhoneNumberSid}.json", dependencies=[permit("numbers.write")])
def update_number(
    PhoneNumberSid: str,
    caller: TwilioCallerDep,
    found: ParamsDep,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Change the number's ``FriendlyName``, ``VoiceUrl``, ``VoiceMethod``,
    ``VoiceFallbackUrl``, ``StatusCallback``, ``SmsUrl``, ``SmsMethod``… (an empty URL
    clears it)."""
    row = _held(session, caller.account.id, PhoneNumberSid)
    number_settings.apply(row, found, settings.webhook_target_policy)
    session.flush()
    return respond(number_json(row))


@router.delete(
    "/IncomingPhoneNumbers/{PhoneNumberSid}.json", dependencies=[permit("numbers.write")]
)
def release_number(PhoneNumberSid: str, caller: TwilioCallerDep, session: SessionDep) -> Response:
    """Release the number: calls to it then get 404; under a committed subscription it
    costs 6 months of its price on the next invoice (N9)."""
    row = _held(session, caller.account.id, PhoneNumberSid)
    contract_changes.charge_number_deletion(session, row.account_id, row, now=datetime.now(UTC))
    numbers.release_number(session, row.account_id, row.number)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- available numbers ----------------------------------------------------------------

# Twilio's kinds of number, by phonenumbers.PhoneNumberType: a North American number may
# be fixed or mobile, and Twilio sells those as local.
KINDS = {
    "Local": frozenset(
        {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    ),
    "Mobile": frozenset({phonenumbers.PhoneNumberType.MOBILE}),
    "TollFree": frozenset({phonenumbers.PhoneNumberType.TOLL_FREE}),
}


def contains(pattern: str) -> re.Pattern[str]:
    """Twilio's ``Contains``: digits, letters (as on a keypad) and ``*`` for any one
    digit, found anywhere in the number."""
    keypad = {c: str(d) for d, cs in _KEYPAD.items() for c in cs}
    out = []
    for char in pattern.upper():
        if char == "*":
            out.append(r"\d")
        elif char.isdigit():
            out.append(char)
        elif char in keypad:
            out.append(keypad[char])
        elif char != "+":
            raise invalid("AvailablePhoneNumbers", "Contains", "digits, letters and *.")
    return re.compile("".join(out))


_KEYPAD = {2: "ABC", 3: "DEF", 4: "GHI", 5: "JKL", 6: "MNO", 7: "PQRS", 8: "TUV", 9: "WXYZ"}


def available_json(e164: str, home: str) -> dict[str, Any]:
    """A number of the stock as Twilio shows one, with dialtone's notices (N1, N12)."""
    return {
        "friendly_name": _friendly(e164),
        "phone_number": e164,
        "lata": None,
        "locality": None,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": None,
        "postal_code": None,
        "iso_country": region_code(e164),
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"voice": True, "SMS": True, "MMS": False, "fax": False},
        "notices": [text for _, text in use_notices(e164, home)],
    }


@router.get(
    "/AvailablePhoneNumbers/{CountryCode}/{Kind}.json", dependencies=[permit("numbers.read")]
)
def available_numbers(
    *,
    CountryCode: str,
    Kind: str,
    request: Request,
    caller: TwilioCallerDep,
    found: ParamsDep,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Numbers of the operator's stock (TERMS N1) of ``CountryCode`` and of the kind
    ``Local``, ``Mobile`` or ``TollFree``: ``AreaCode``, ``Contains`` filters; at most
    ``PageSize`` (default 50, at most 100)."""
    kinds = KINDS.get(Kind)
    if kinds is None:
        raise NotFound("http.not_found", f"No such kind of number {Kind}: Local, Mobile, TollFree.")
    country = CountryCode.upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise invalid("AvailablePhoneNumbers", "CountryCode", "an ISO 3166 country, e.g. US.")
    pattern = contains(found.get("Contains") or "")
    area = found.text("AvailablePhoneNumbers", "AreaCode", most=6)
    starting = f"+{phonenumbers.country_code_for_region(country)}{area}" if area else None
    size = found.integer("AvailablePhoneNumbers", "PageSize", 50, 1, inventory.MAX_LISTED)

    def matching(e164: str) -> bool:
        return number_type(e164) in kinds and pattern.search(e164[1:]) is not None

    stock = inventory.available(
        session,
        now=datetime.now(UTC),
        country=country,
        starting=starting,
        limit=size,
        matching=matching,
    )
    home = accounts.dialling_country(caller.account, settings.default_country)
    return respond(
        {
            "uri": f"{request.url.path}",
            "available_phone_numbers": [available_json(n, home) for n in stock],
        }
    )
