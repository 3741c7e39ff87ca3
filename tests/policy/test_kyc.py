"""TERMS N3: identity documents by number type and zone, and the 8-day correction window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.policy.kyc import (
    EU_REGIONS,
    REQUIREMENTS,
    AddressScope,
    Document,
    DocumentKind,
    Holder,
    NumberCategory,
    Requirement,
    ReviewState,
    activation,
    correction,
    correction_deadline,
    number_category,
    requirement,
)

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
CATEGORIES: tuple[NumberCategory, ...] = ("geographic", "national", "mobile", "toll_free")

FR_GEOGRAPHIC = "+33123456789"
FR_MOBILE = "+33612345678"
US_LOCAL = "+12015550123"
GB_LOCAL = "+442071234567"


def _docs(
    address: str = "FR", *, state: ReviewState = "approved", **states: ReviewState
) -> list[Document]:
    """A business's three documents, each ``state`` unless named in ``states``."""
    return [
        Document("company_registration", states.get("company_registration", state)),
        Document("identity", states.get("identity", state)),
        Document("proof_of_address", states.get("proof_of_address", state), address),
    ]


@pytest.mark.parametrize(
    ("e164", "category"),
    [
        (FR_GEOGRAPHIC, "geographic"),
        (FR_MOBILE, "mobile"),
        ("+33912345678", "national"),  # French 09: VoIP, not tied to an area
        ("+33800123456", "toll_free"),
        (US_LOCAL, "geographic"),  # North American plan: fixed or mobile, geographic
        ("+18005550123", "toll_free"),
        ("+443001234567", "national"),  # UK 03
        ("+447400123456", "mobile"),
        ("+3980012345", None),  # not a valid number
    ],
)
def test_number_categories(e164: str, category: str | None) -> None:
    assert number_category(e164) == category


@pytest.mark.parametrize(
    ("category", "region", "holder", "documents", "address"),
    [
        (
            "geographic",
            "FR",
            "business",
            {"company_registration", "identity", "proof_of_address"},
            "country",
        ),
        ("geographic", "FR", "individual", {"identity", "proof_of_address"}, "country"),
        (
            "mobile",
            "FR",
            "business",
            {"company_registration", "identity", "proof_of_address"},
            "eu",
        ),
        (
            "national",
            "DE",
            "business",
            {"company_registration", "identity", "proof_of_address"},
            "eu",
        ),
        ("geographic", "GP", "individual", {"identity", "proof_of_address"}, "country"),  # EU row
        ("geographic", "US", "business", {"identity", "proof_of_address"}, "anywhere"),
        ("geographic", "CA", "business", {"identity", "proof_of_address"}, "anywhere"),
        (
            "toll_free",
            "US",
            "business",
            {"company_registration", "identity", "proof_of_address"},
            "anywhere",
        ),
        ("geographic", "GB", "business", {"identity", "proof_of_address"}, "country"),
        ("mobile", "GB", "business", {"identity", "proof_of_address"}, "anywhere"),
        ("geographic", "CH", "business", {"identity", "proof_of_address"}, "country"),  # default
        ("mobile", "JP", "business", {"identity", "proof_of_address"}, "anywhere"),
    ],
)
def test_requirements_by_type_and_zone(
    category: NumberCategory,
    region: str,
    holder: Holder,
    documents: set[DocumentKind],
    address: AddressScope,
) -> None:
    found = requirement(category, region, holder=holder)
    assert found == Requirement(frozenset(documents), address)


@given(
    region=st.sampled_from(sorted(EU_REGIONS)),
    category=st.sampled_from(CATEGORIES),
    holder=st.sampled_from(["business", "individual"]),
)
def test_every_eu_number_needs_an_eu_address(
    region: str, category: NumberCategory, holder: Holder
) -> None:
    found = requirement(category, region, holder=holder)
    assert {"identity", "proof_of_address"} <= found.documents
    assert found.address in ("country", "eu")  # never "anywhere"


@pytest.mark.parametrize(
    ("e164", "documents", "holder", "code"),
    [
        (FR_GEOGRAPHIC, _docs(), "business", None),
        (FR_GEOGRAPHIC, [], "business", "kyc.documents_missing"),
        (FR_GEOGRAPHIC, _docs(identity="rejected"), "business", "kyc.documents_missing"),
        (FR_GEOGRAPHIC, _docs()[1:], "business", "kyc.documents_missing"),
        (FR_GEOGRAPHIC, _docs()[1:], "individual", None),  # no registration to give
        (FR_GEOGRAPHIC, _docs("DE"), "business", "kyc.address_outside_zone"),  # not in FR
        (FR_MOBILE, _docs("DE"), "business", None),  # an EU address will do
        (FR_MOBILE, _docs("CH"), "business", "kyc.address_outside_zone"),  # not in the EU
        (FR_MOBILE, _docs("ch"), "business", "kyc.address_outside_zone"),
        (FR_GEOGRAPHIC, _docs("fr"), "business", None),  # the country in either case
        (US_LOCAL, _docs("FR"), "business", None),  # no address rule in the US
        (GB_LOCAL, _docs("IE")[1:], "business", "kyc.address_outside_zone"),
        (GB_LOCAL, _docs("GB")[1:], "business", None),
        (FR_GEOGRAPHIC, _docs(identity="pending"), "business", "kyc.documents_pending"),
        (FR_GEOGRAPHIC, _docs(state="pending"), "business", "kyc.documents_pending"),
        # A proof of address outside the zone is refused while still under review.
        (FR_GEOGRAPHIC, _docs("DE", state="pending"), "business", "kyc.address_outside_zone"),
        # Missing documents come first: the customer has to supply them anyway.
        (FR_GEOGRAPHIC, _docs("DE")[1:], "business", "kyc.documents_missing"),
        # An approved address abroad and a pending one in the zone: wait for the review.
        (
            FR_GEOGRAPHIC,
            [*_docs("DE"), Document("proof_of_address", "pending", "FR")],
            "business",
            "kyc.documents_pending",
        ),
        # A rejected address in the zone does not count.
        (
            FR_GEOGRAPHIC,
            [*_docs("DE"), Document("proof_of_address", "rejected", "FR")],
            "business",
            "kyc.address_outside_zone",
        ),
        (
            FR_GEOGRAPHIC,
            [*_docs(proof_of_address="rejected"), Document("proof_of_address", "approved", "FR")],
            "business",
            None,
        ),
        ("+3980012345", _docs(), "business", "number.invalid"),
    ],
)
def test_activation(e164: str, documents: list[Document], holder: Holder, code: str | None) -> None:
    decision = activation(e164, documents, holder=holder)
    assert decision.code == code
    if code is not None and code.startswith("kyc."):
        assert decision.rule == "N3"


def test_missing_documents_are_listed() -> None:
    decision = activation(FR_GEOGRAPHIC, [Document("identity", "rejected")])
    assert decision.details["missing"] == ("company_registration", "identity", "proof_of_address")
    assert decision.http_status() == 422


def test_pending_documents_are_listed() -> None:
    decision = activation(FR_GEOGRAPHIC, _docs(identity="pending", company_registration="pending"))
    assert decision.details["pending"] == ("company_registration", "identity")
    assert decision.http_status() == 409


def test_address_outside_zone_says_where() -> None:
    decision = activation(FR_GEOGRAPHIC, _docs("DE"))
    assert decision.details["required"] == "country"
    assert decision.details["region"] == "FR"
    assert decision.details["address_countries"] == ("DE",)


def test_operators_pass_their_own_table() -> None:
    lax = {"*": dict.fromkeys(CATEGORIES, Requirement(frozenset({"identity"}), "anywhere"))}
    assert activation(FR_GEOGRAPHIC, [Document("identity", "approved")], table=lax).allowed
    assert requirement("geographic", "FR", table=lax).documents == {"identity"}
    assert REQUIREMENTS["FR"]["geographic"].address == "country"  # the preset is untouched


def test_a_proof_of_address_names_its_country() -> None:
    with pytest.raises(ValueError, match="country"):
        Document("proof_of_address", "approved")


# -- the 8-day correction window ------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "corrected_after", "code"),
    [
        (7 * DAY, None, None),
        (8 * DAY - SECOND, None, None),
        (8 * DAY, None, "kyc.correction_overdue"),  # 8 days after the notice: it ends
        (9 * DAY, None, "kyc.correction_overdue"),
        (9 * DAY, 7 * DAY, None),  # fixed in time
        (9 * DAY, 8 * DAY - SECOND, None),
        (9 * DAY, 8 * DAY, "kyc.correction_overdue"),  # fixed when the service ended
        (30 * DAY, 9 * DAY, "kyc.correction_overdue"),  # too late
    ],
)
def test_n3_correction_window(
    elapsed: timedelta, corrected_after: timedelta | None, code: str | None
) -> None:
    corrected_at = None if corrected_after is None else T0 + corrected_after
    decision = correction(T0, T0 + elapsed, corrected_at=corrected_at)
    assert decision.code == code
    if code is not None:
        assert decision.rule == "N3"
        assert decision.details["deadline"] == (T0 + 8 * DAY).isoformat()


def test_n3_correction_deadline_and_window_setting() -> None:
    assert correction_deadline(T0) == T0 + 8 * DAY
    assert correction(T0, T0 + 3 * DAY, window=3 * DAY).code == "kyc.correction_overdue"
    assert correction(T0, T0 + 3 * DAY - SECOND, window=3 * DAY).allowed


@given(
    elapsed=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    window_days=st.integers(min_value=1, max_value=30),
)
def test_n3_service_ends_exactly_when_the_window_has_passed(
    elapsed: timedelta, window_days: int
) -> None:
    window = timedelta(days=window_days)
    decision = correction(T0, T0 + elapsed, window=window)
    assert decision.refused is (elapsed >= window)
