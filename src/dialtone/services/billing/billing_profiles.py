"""An account's billing profile: who its invoices are made out to (issue 13).

A B2B invoice names the customer by its legal name and postal address, with its VAT
number (French Code général des impôts art. 242 nonies A; EU VAT directive art. 226).
The profile is kept apart from the subscription so it can be set before the account
subscribes; an invoice copies it when it is issued, so a later change never alters an
issued invoice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts.accounts import get_account
from dialtone.store.models import BillingProfile

MAX_NAME = 200
MAX_ADDRESS_LINES = 6
MAX_ADDRESS_LINE = 100
# An EU VAT number is its country's two letters and 2 to 13 letters or digits, digits
# among them (Greece's prefix is EL); other countries' tax numbers follow the same shape.
_VAT = re.compile(r"^[A-Z]{2}(?=(?:[^0-9]*[0-9]){2})[0-9A-Z+*]{2,13}$")


@dataclass(frozen=True, slots=True)
class Profile:
    """A billing profile as entered (the address may span lines)."""

    legal_name: str
    address: str
    vat_number: str


def _invalid(message: str) -> DialtoneError:
    return DialtoneError("billing.profile_invalid", message)


def normalise_vat(text: str) -> str:
    """``fr 40 123456824`` → ``FR40123456824``; a wrong shape raises
    ``billing.profile_invalid``. Empty stays empty (a customer without one)."""
    vat = re.sub(r"[\s.\-]", "", text).upper()
    if vat and not _VAT.match(vat):
        raise _invalid(
            f"vat_number: {text!r} is not a VAT number (two letters, then 2 to 13 letters or "
            "digits, e.g. FR40123456824)"
        )
    return vat


def normalise_address(text: str) -> str:
    """Lines stripped, blank lines dropped; at most 6 lines of 100 characters."""
    lines = [ln.strip() for ln in text.replace("\r", "").split("\n") if ln.strip()]
    if len(lines) > MAX_ADDRESS_LINES:
        raise _invalid(f"address: at most {MAX_ADDRESS_LINES} lines, not {len(lines)}")
    long = next((ln for ln in lines if len(ln) > MAX_ADDRESS_LINE), None)
    if long is not None:
        raise _invalid(f"address: a line has at most {MAX_ADDRESS_LINE} characters: {long!r}")
    return "\n".join(lines)


def get_profile(session: Session, account_id: str) -> Profile | None:
    """The account's billing profile, None when it has none yet."""
    get_account(session, account_id)
    row = session.get(BillingProfile, account_id)
    if row is None:
        return None
    return Profile(row.legal_name, row.address, row.vat_number)


def set_profile(
    session: Session,
    account_id: str,
    *,
    legal_name: str,
    address: str,
    vat_number: str,
    now: datetime,
) -> Profile:
    """Set the account's billing profile (invoices issued from now on carry it)."""
    get_account(session, account_id)
    name = " ".join(legal_name.split())
    if not name:
        raise _invalid("legal_name: the customer's legal name is required")
    if len(name) > MAX_NAME:
        raise _invalid(f"legal_name: at most {MAX_NAME} characters")
    profile = Profile(name, normalise_address(address), normalise_vat(vat_number))
    row = session.get(BillingProfile, account_id)
    if row is None:
        row = BillingProfile(account_id=account_id)
        session.add(row)
    row.legal_name, row.address, row.vat_number = (
        profile.legal_name, profile.address, profile.vat_number,
    )  # fmt: skip
    row.updated_at = now
    session.flush()
    return profile
