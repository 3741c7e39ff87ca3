"""Phone numbers leased to accounts (TERMS N1, N2) and the lookup SIP routing uses."""

from __future__ import annotations

import functools
import re
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy.call_setup import HeldNumbers
from dialtone.policy.lifecycle import NUMBER_KINDS
from dialtone.services.ids import new_id
from dialtone.store.models import PhoneNumber, QuarantinedNumber

# TERMS N11: a declaration is a sentence or two, not a document.
MAX_DECLARATION = 500

_E164 = re.compile(r"\+[1-9]\d{1,14}\Z")
_VISUAL = re.compile(r"[\s\-.()]")


def to_e164(text: str, region: str | None = None) -> str:
    """Validate and normalise a number to E.164 with ``phonenumbers``.

    With ``region`` (ISO country), national forms of that country (``06 12 34 56 78``)
    and its international prefix (``0033…``) are accepted too. Raises ``number.invalid``
    (400) for anything that is not a valid number.
    """
    candidate = _VISUAL.sub("", text or "")
    if not candidate.startswith("+") and region is None:
        raise DialtoneError(
            "number.invalid", f"{text!r} is not in international format: start with '+'."
        )
    valid = _e164_of(candidate, region)
    if isinstance(valid, str):
        return valid
    raise DialtoneError("number.invalid", f"{text!r} {valid[0]}")


@functools.lru_cache(maxsize=8192)
def _e164_of(candidate: str, region: str | None) -> str | tuple[str]:
    """The E.164 form, or why not (in a 1-tuple). Cached: parsing costs some 70 µs, and
    the messaging and call paths read the same numbers again and again."""
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        return (f"is not a phone number: {exc}.",)
    if not phonenumbers.is_valid_number(parsed):
        return ("is not a valid phone number.",)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def dialed_to_e164(user: str | None) -> str | None:
    """The E.164 form of a SIP Request-URI user part, or None when it cannot be one.

    Accepts ``+33…``, ``0033…`` and bare international digits (``33…``), the forms SIP
    phones and trunks put in the user part; visual separators are ignored.
    """
    if not user:
        return None
    digits = _VISUAL.sub("", user.split(";", 1)[0])
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif not digits.startswith("+"):
        digits = "+" + digits
    return digits if _E164.match(digits) else None


def add_number(
    session: Session,
    account_id: str,
    number: str,
    *,
    now: datetime,
    greeting: str | None = None,
    kind: str = "random",
    activated: bool = True,
) -> PhoneNumber:
    """Lease ``number`` to the account. 409 ``number.held`` when anyone holds it already,
    ``number.quarantined`` while it is in a closed account's 6-month quarantine (N7).
    ``activated`` False: leased but taking and placing no calls until its holder's
    documents are approved (N3)."""
    e164 = to_e164(number)
    existing = session.scalar(select(PhoneNumber).where(PhoneNumber.number == e164))
    if existing is not None:
        raise Conflict("number.held", f"{e164} is already held by an account.", rule="N2")
    quarantined = session.get(QuarantinedNumber, e164)
    if quarantined is not None and quarantined.available_at > now:
        raise Conflict(
            "number.quarantined",
            f"{e164} left a closed account; it may be leased again from "
            f"{quarantined.available_at:%Y-%m-%d}.",
            rule="N7",
            details={"available_at": quarantined.available_at.isoformat()},
        )
    if kind not in NUMBER_KINDS:
        raise DialtoneError("number.invalid", f"kind is one of {', '.join(NUMBER_KINDS)}.")
    row = PhoneNumber(
        id=new_id("PN"),
        number=e164,
        account_id=account_id,
        greeting=greeting,
        created_at=now,
        kind=kind,
        activated_at=now if activated else None,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("number.held", f"{e164} is already held by an account.", rule="N2") from None
    return row


def held_numbers(session: Session, account_id: str) -> HeldNumbers:
    """The account's numbers and which of them are inbound-only (TERMS V10, N13)."""
    # N3: a number not yet activated is not the account's to present.
    rows = [r for r in list_numbers(session, account_id) if r.activated_at is not None]
    return HeldNumbers(
        tuple(r.number for r in rows), frozenset(r.number for r in rows if r.inbound_only)
    )


def set_sms_campaign(session: Session, number: str, campaign_id: str | None) -> PhoneNumber:
    """The 10DLC campaign a US long code's application-to-person SMS go under (TERMS M7),
    as the operator registered it with The Campaign Registry; None removes it."""
    row = find_holder(session, number)
    if row is None:
        raise NotFound("number.not_found", f"Nobody holds {number}.")
    if campaign_id is not None and not (1 <= len(campaign_id) <= 40 and campaign_id.isalnum()):
        raise DialtoneError("request.invalid", "campaign_id: 1 to 40 letters and digits.")
    row.sms_campaign_id = campaign_id
    session.flush()
    return row


def set_inbound_only(session: Session, number: str, inbound_only: bool) -> PhoneNumber:
    """The operator marks a number inbound-only (TERMS N13: bought for a country where
    the customer has no operations), or lifts it."""
    row = find_holder(session, number)
    if row is None:
        raise NotFound("number.not_found", f"Nobody holds {number}.")
    row.inbound_only = inbound_only
    session.flush()
    return row


def declare_use(
    session: Session,
    account_id: str,
    number: str,
    *,
    intended_use: str,
    end_user: str,
    now: datetime,
) -> PhoneNumber:
    """The customer's declaration of the number's intended use and real end user
    (TERMS N11), kept with its date; a new declaration replaces the previous one."""
    row = get_number(session, account_id, number)
    use, user = intended_use.strip(), end_user.strip()
    if not use or not user or len(use) > MAX_DECLARATION or len(user) > MAX_DECLARATION:
        raise DialtoneError(
            "number.declaration_invalid",
            f"intended_use and end_user are each 1 to {MAX_DECLARATION} characters.",
            rule="N11",
        )
    row.intended_use, row.end_user, row.declared_at = use, user, now
    session.flush()
    return row


def list_numbers(session: Session, account_id: str) -> list[PhoneNumber]:
    """The account's numbers, in number order."""
    return list(
        session.scalars(
            select(PhoneNumber)
            .where(PhoneNumber.account_id == account_id)
            .order_by(PhoneNumber.number)
        )
    )


def get_number(session: Session, account_id: str, number: str) -> PhoneNumber:
    """One of the account's numbers; 404 when it is not there or not the account's."""
    e164 = dialed_to_e164(number)
    row = session.scalar(select(PhoneNumber).where(PhoneNumber.number == e164)) if e164 else None
    if row is None or row.account_id != account_id:
        raise NotFound("number.not_found", f"The account holds no number {number}.")
    return row


def number_by_id(session: Session, account_id: str, number_id: str) -> PhoneNumber:
    """One of the account's numbers by its id (the console's links); 404 otherwise."""
    row = session.get(PhoneNumber, number_id)
    if row is None or row.account_id != account_id:
        raise NotFound("number.not_found", f"The account holds no number {number_id}.")
    return row


def release_number(session: Session, account_id: str, number: str) -> None:
    """Give a number back (404 when the account does not hold it)."""
    session.delete(get_number(session, account_id, number))
    session.flush()


def set_greeting(session: Session, account_id: str, number: str, greeting: str | None) -> None:
    """Set (or clear) the greeting a number plays to callers."""
    get_number(session, account_id, number).greeting = greeting
    session.flush()


def find_holder(session: Session, dialed: str | None) -> PhoneNumber | None:
    """The number record a call to ``dialed`` (a Request-URI user part) reaches."""
    e164 = dialed_to_e164(dialed)
    if e164 is None:
        return None
    return session.scalar(select(PhoneNumber).where(PhoneNumber.number == e164))
