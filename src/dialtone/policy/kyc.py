"""Identity documents for activating a number (TERMS N3), as data and decisions.

- Which documents a number needs depends on its type and zone (``REQUIREMENTS``): a
  company registration (the French Kbis extract or its equivalent), an identity
  document of the person who signs up, and a proof of address, which for some numbers
  must lie in the number's country. The source's list ends with "…": the table is the
  shipped preset, and operators pass their own.
- EU users need an EU address: every number of an EU country needs a proof of address
  in the EU at least (a geographic number, one in its own country).
- No activation until the documents are in: missing ones are listed in the refusal;
  documents still under review hold the activation back until approved.
- A false or incorrect declaration not fixed ``CORRECTION_WINDOW`` (8 days) after the
  platform's notice ends the service.

Pure: documents, their review states and ``now`` come in as arguments.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from phonenumbers import PhoneNumberType

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.numbering import number_type, region_code

CORRECTION_WINDOW = timedelta(days=8)

DocumentKind = Literal["company_registration", "identity", "proof_of_address"]
ReviewState = Literal["pending", "approved", "rejected"]
NumberCategory = Literal["geographic", "national", "mobile", "toll_free"]
Holder = Literal["business", "individual"]
# Where a proof of address must lie: in the number's country, anywhere in the EU, or
# anywhere at all.
AddressScope = Literal["country", "eu", "anywhere"]

# EU member states, and the outermost regions phonenumbers gives a region code of their
# own (French Guiana, Guadeloupe, Martinique, Réunion, Mayotte, Saint-Martin): they are
# part of the EU.
EU_REGIONS = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        "GF", "GP", "MQ", "RE", "YT", "MF",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Requirement:
    """The documents a number needs (from a business; an individual has no company
    registration to give) and where its proof of address must lie."""

    documents: frozenset[DocumentKind]
    address: AddressScope


@dataclass(frozen=True, slots=True)
class Document:
    """A document the customer supplied, and where its review stands. A proof of
    address says which country (ISO 3166 alpha-2) the address is in."""

    kind: DocumentKind
    state: ReviewState
    country: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "proof_of_address" and not self.country:
            raise ValueError("a proof of address needs the country of the address")


_BASIC: frozenset[DocumentKind] = frozenset({"identity", "proof_of_address"})
_COMPANY: frozenset[DocumentKind] = _BASIC | {"company_registration"}


def _zone(
    geographic: Requirement, national: Requirement, mobile: Requirement, toll_free: Requirement
) -> Mapping[NumberCategory, Requirement]:
    return MappingProxyType(
        {"geographic": geographic, "national": national, "mobile": mobile, "toll_free": toll_free}
    )


# The shipped preset, by zone ("EU": an EU country without a row of its own, "*": any
# other country). France and the EU: regulators assign geographic numbers to users of
# the area (kept at the country: the table has no finer zones), the terms want an EU
# address for every other EU number, and businesses show their registration. GB:
# geographic numbers go to users with a UK address (Ofcom's numbering conditions); the
# preset asks the same of toll-free numbers. US and CA: no address rule for a number
# (the emergency address of V7 is another matter); a toll-free number is verified
# against a registered business.
_EU = _zone(
    Requirement(_COMPANY, "country"),
    Requirement(_COMPANY, "eu"),
    Requirement(_COMPANY, "eu"),
    Requirement(_COMPANY, "eu"),
)
_NANP = _zone(
    Requirement(_BASIC, "anywhere"),
    Requirement(_BASIC, "anywhere"),
    Requirement(_BASIC, "anywhere"),
    Requirement(_COMPANY, "anywhere"),
)
REQUIREMENTS: Mapping[str, Mapping[NumberCategory, Requirement]] = MappingProxyType(
    {
        "FR": _EU,
        "EU": _EU,
        "US": _NANP,
        "CA": _NANP,
        "GB": _zone(
            Requirement(_BASIC, "country"),
            Requirement(_BASIC, "anywhere"),
            Requirement(_BASIC, "anywhere"),
            Requirement(_COMPANY, "country"),
        ),
        "*": _zone(
            Requirement(_BASIC, "country"),
            Requirement(_BASIC, "anywhere"),
            Requirement(_BASIC, "anywhere"),
            Requirement(_COMPANY, "anywhere"),
        ),
    }
)

# phonenumbers' types as N3's categories: a number of the North American plan may be
# fixed or mobile and is geographic either way; every other non-geographic type (VoIP
# such as the French 09, UK 03 "UAN", shared cost, personal, premium rate) is national.
_CATEGORIES: Mapping[int, NumberCategory] = MappingProxyType(
    {
        PhoneNumberType.FIXED_LINE: "geographic",
        PhoneNumberType.FIXED_LINE_OR_MOBILE: "geographic",
        PhoneNumberType.MOBILE: "mobile",
        PhoneNumberType.TOLL_FREE: "toll_free",
        PhoneNumberType.VOIP: "national",
        PhoneNumberType.UAN: "national",
        PhoneNumberType.SHARED_COST: "national",
        PhoneNumberType.PERSONAL_NUMBER: "national",
        PhoneNumberType.PREMIUM_RATE: "national",
    }
)


def number_category(e164: str) -> NumberCategory | None:
    """N3's category of ``e164`` (None: not a number anyone can activate)."""
    return _CATEGORIES.get(number_type(e164))


def zone_of(region: str, table: Mapping[str, Mapping[NumberCategory, Requirement]]) -> str:
    """The row of ``table`` a number of ``region`` uses: its own, else "EU" for an EU
    country, else "*"."""
    if region in table:
        return region
    return "EU" if region in EU_REGIONS and "EU" in table else "*"


def requirement(
    category: NumberCategory,
    region: str,
    *,
    holder: Holder = "business",
    table: Mapping[str, Mapping[NumberCategory, Requirement]] = REQUIREMENTS,
) -> Requirement:
    """TERMS N3: what a number of ``category`` in ``region`` needs from ``holder``."""
    found = table[zone_of(region, table)][category]
    if holder == "individual":
        # An individual has no company registration to give.
        return Requirement(found.documents - {"company_registration"}, found.address)
    return found


def _in_scope(country: str | None, scope: AddressScope, region: str) -> bool:
    if scope == "anywhere":
        return True
    country = (country or "").upper()
    return country == region if scope == "country" else country in EU_REGIONS


def activation(
    e164: str,
    documents: Collection[Document],
    *,
    holder: Holder = "business",
    table: Mapping[str, Mapping[NumberCategory, Requirement]] = REQUIREMENTS,
) -> Decision:
    """TERMS N3: whether ``e164`` may be activated with ``documents``.

    A rejected document counts as not supplied. Refusals come in the order the customer
    can act on them: documents missing (all listed), then a proof of address outside the
    number's zone (knowable while it is still under review), then documents awaiting
    review."""
    category, region = number_category(e164), region_code(e164)
    if category is None or region is None:
        return refuse("number.invalid", f"{e164} is not a number that can be activated")
    needed = requirement(category, region, holder=holder, table=table)
    live = [d for d in documents if d.state != "rejected"]
    missing = sorted(kind for kind in needed.documents if all(d.kind != kind for d in live))
    if missing:
        return refuse(
            "kyc.documents_missing",
            f"activating {e164} needs: {', '.join(k.replace('_', ' ') for k in missing)}",
            number=e164,
            category=category,
            missing=tuple(missing),
        )

    def counts(doc: Document) -> bool:
        # A proof of address counts only where the number's zone wants the address.
        return doc.kind != "proof_of_address" or _in_scope(doc.country, needed.address, region)

    addresses = [d for d in live if d.kind == "proof_of_address"]
    if "proof_of_address" in needed.documents and not any(counts(d) for d in addresses):
        where = region if needed.address == "country" else "the EU"
        return refuse(
            "kyc.address_outside_zone",
            f"a {category.replace('_', '-')} number of {region} needs an address in {where}",
            number=e164,
            category=category,
            required=needed.address,
            region=region,
            address_countries=tuple(sorted({d.country or "" for d in addresses})),
        )
    approved = {d.kind for d in live if d.state == "approved" and counts(d)}
    pending = sorted(needed.documents - approved)
    if pending:
        return refuse(
            "kyc.documents_pending",
            f"awaiting review: {', '.join(k.replace('_', ' ') for k in pending)}",
            number=e164,
            pending=tuple(pending),
        )
    return ALLOWED


def correction_deadline(
    notified_at: datetime, *, window: timedelta = CORRECTION_WINDOW
) -> datetime:
    """TERMS N3: the instant the service ends if a declaration notified as false at
    ``notified_at`` is still not fixed."""
    return notified_at + window


def correction(
    notified_at: datetime,
    now: datetime,
    *,
    corrected_at: datetime | None = None,
    window: timedelta = CORRECTION_WINDOW,
) -> Decision:
    """TERMS N3: whether the service goes on after a false or incorrect declaration was
    notified at ``notified_at``. It ends once ``window`` has passed since the notice
    without a correction; a correction made in time settles it, one made at or after
    the deadline comes too late (the service ended then)."""
    deadline = correction_deadline(notified_at, window=window)
    if corrected_at is not None and corrected_at < deadline:
        return ALLOWED
    if now < deadline:
        return ALLOWED
    return refuse(
        "kyc.correction_overdue",
        f"the declaration notified on {notified_at:%Y-%m-%d %H:%M} was not fixed within "
        f"{window.days} days",
        notified_at=notified_at.isoformat(),
        deadline=deadline.isoformat(),
    )
