"""TERMS M1, M3–M8, M11 as decisions: every limit just under, at and just over."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.core.sms import GSM7_ALL, GSM7_EXTENSION
from dialtone.policy.messaging import (
    Consent,
    Keywords,
    MobileUsage,
    Segments,
    a2p_campaign,
    age_restricted,
    bulk,
    mobile_limits,
    proof_overdue,
    quota,
    quota_notice,
    registries,
    segments,
    sender_id,
    sms_consent,
    sms_content,
    sms_destination,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),  # at the single-message limit
        ("a" * 161, "GSM-7", 161, 2),  # just over: two parts of up to 153
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("é" * 160, "GSM-7", 160, 1),  # é is in the GSM alphabet
        ("ê" * 70, "UCS-2", 70, 1),  # ê is not: Unicode, 70 per message
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_m1_segments(text: str, encoding: str, units: int, parts: int) -> None:
    assert segments(text) == Segments(encoding, units, parts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("to", "business", "parts", "code"),
    [
        ("+33612345678", True, 1, None),
        ("+33891234567", False, 1, "sms.premium"),  # premium rate
        ("+3336111", False, 1, "sms.premium"),  # short: an SMS+ short code
        ("36111", False, 1, "sms.premium"),
        ("+447400123456", True, 1, "sms.international"),  # business plan, abroad
        ("+447400123456", False, 1, None),
        ("+33612345678", True, 10, None),
        ("+33612345678", True, 11, "sms.too_long"),
    ],
)
def test_m1_destination(to: str, business: bool, parts: int, code: str | None) -> None:
    decision = sms_destination(to, "fr", business_plan=business, parts=parts)
    assert decision.code == code
    if code is not None:
        assert decision.rule == "M1"


@pytest.mark.parametrize(
    ("consent", "marketing", "opted_out", "code"),
    [
        (Consent(NOW - SECOND), False, None, None),
        (Consent(NOW), False, None, None),  # given at this instant
        (Consent(NOW + SECOND), False, None, "sms.consent_missing"),  # not yet
        (None, False, None, "sms.consent_missing"),
        (Consent(NOW - SECOND), True, None, "sms.consent_missing"),  # not for marketing
        (Consent(NOW - SECOND, marketing=True), True, None, None),
        (Consent(NOW - SECOND, marketing=True), True, NOW, "sms.opted_out"),
        (Consent(NOW - SECOND, marketing=True), True, NOW + SECOND, None),
    ],
)
def test_m3_consent(
    consent: Consent | None, marketing: bool, opted_out: datetime | None, code: str | None
) -> None:
    decision = sms_consent(
        "+33612345678", consent, marketing=marketing, opted_out_at=opted_out, now=NOW
    )
    assert decision.code == code


@pytest.mark.parametrize(
    ("text", "business", "code"),
    [
        ("Your table is booked for 8pm", True, None),
        ("Best CBD oil in town", True, "sms.content_restricted"),
        ("Best CBD oil in town", False, None),  # M4's list binds business plans
        ("abcbd is a word, not cbd-free", True, None),  # whole words only
        ("Vaping kits -20%", True, "sms.content_restricted"),
    ],
)
def test_m4_restricted_content(text: str, business: bool, code: str | None) -> None:
    decision = sms_content(text, business_plan=business)
    assert decision.code == code


def test_m4_operators_edit_the_lists() -> None:
    mine = Keywords({"crypto": ["airdrop"]})
    assert sms_content("Claim your airdrop", business_plan=True, restricted=mine).refused
    assert sms_content("Best CBD oil", business_plan=True, restricted=mine).allowed


@pytest.mark.parametrize(
    ("local", "of_age", "emergency", "code"),
    [
        (time(7, 59), True, False, "sms.outside_daytime"),
        (time(8, 0), True, False, None),
        (time(19, 59), True, False, None),
        (time(20, 0), True, False, "sms.outside_daytime"),
        (time(23, 0), True, True, None),  # emergencies aside
        (time(12, 0), False, False, "sms.age_restricted"),
    ],
)
def test_m5_age_restricted_in_daytime(
    local: time, of_age: bool, emergency: bool, code: str | None
) -> None:
    moment = datetime.combine(NOW.date(), local)
    decision = age_restricted(
        "Wine tasting tonight", moment, recipient_of_age=of_age, emergency=emergency
    )
    assert decision.code == code
    assert age_restricted("Meeting at 9", moment, recipient_of_age=False).allowed


@pytest.mark.parametrize(
    ("sender", "code"),
    [
        ("+33123456789", None),
        ("ACME", None),
        ("+33999999999", "sms.sender_not_owned"),
        ("BANK", "sms.sender_not_owned"),
    ],
)
def test_m6_sender_id(sender: str, code: str | None) -> None:
    assert sender_id(sender, {"+33123456789"}, {"ACME"}).code == code


@pytest.mark.parametrize(
    ("recipients", "business", "code"),
    [(100, True, None), (101, True, "sms.bulk"), (5000, False, None)],
)
def test_m7_bulk(recipients: int, business: bool, code: str | None) -> None:
    assert bulk(recipients, business_plan=business).code == code


@pytest.mark.parametrize(
    ("listed_on", "code"),
    [(None, None), ("account", "sms.do_not_disturb"), ("bloctel", "sms.do_not_disturb")],
)
def test_m3_registers(listed_on: str | None, code: str | None) -> None:
    assert registries("+33612345678", listed_on).code == code


@pytest.mark.parametrize(
    ("sender", "to", "campaign", "code"),
    [
        ("+12025550123", "+12025550199", None, "sms.campaign_unregistered"),  # long code
        ("+12025550123", "+12025550199", "CABC123", None),  # registered campaign
        ("+18005550123", "+12025550199", None, None),  # toll-free: not 10DLC
        ("ACME", "+12025550199", None, None),  # alphanumeric sender
        ("+12025550123", "+33612345678", None, None),  # not to the US
        ("+33123456789", "+12025550199", None, None),  # not a US long code
    ],
)
def test_m7_us_a2p_needs_a_campaign(
    sender: str, to: str, campaign: str | None, code: str | None
) -> None:
    assert a2p_campaign(sender, to, campaign).code == code


@pytest.mark.parametrize(
    ("usage", "measures"),
    [
        (MobileUsage(100, 0, 3000, 500), []),  # every limit reached, none passed
        (MobileUsage(101, 0, 0, 0), ["sent_minus_received"]),
        (MobileUsage(3001, 2950, 0, 0), ["sent"]),
        (MobileUsage(0, 0, 3001, 0), ["minutes_received"]),
        (MobileUsage(0, 0, 0, 501), ["distinct_recipients"]),
        (
            MobileUsage(3001, 0, 3001, 501),
            ["sent_minus_received", "sent", "minutes_received", "distinct_recipients"],
        ),
    ],
)
def test_m8_mobile_limits(usage: MobileUsage, measures: list[str]) -> None:
    flags = mobile_limits(usage)
    assert [f.details["measure"] for f in flags] == measures
    assert all((f.code, f.rule) == ("mobile.limit_exceeded", "M8") for f in flags)


@pytest.mark.parametrize(
    ("used", "sent", "notice"),
    [
        (79, (), None),
        (80, (), "80%"),
        (80, ("80%",), None),  # once each
        (99, ("80%",), None),
        (100, ("80%",), "100%"),
        (100, (), "100%"),  # a jump past both: the one that matters
        (120, ("80%", "100%"), None),
    ],
)
def test_m11_quota_notices(used: int, sent: tuple[str, ...], notice: str | None) -> None:
    assert quota_notice(used, 100, sent) == notice  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("used", "free", "code"), [(99, True, None), (100, True, "quota.exhausted"), (100, False, None)]
)
def test_m11_free_plan_stops_at_its_limit(used: int, free: bool, code: str | None) -> None:
    assert quota(used, 100, free_plan=free).code == code


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*sorted(GSM7_ALL), "`", "é", "€", "😀", "ç"])))
def test_segments_count_units_as_the_alphabet_says(text: str) -> None:
    """Against the plain reading of M1: GSM 7-bit when every character is in the
    alphabet (extension characters taking two septets), UTF-16 units otherwise."""
    if set(text) <= GSM7_ALL:
        expected = ("GSM-7", len(text) + sum(ch in GSM7_EXTENSION for ch in text))
    else:
        expected = ("UCS-2", len(text.encode("utf-16-le")) // 2)
    got = segments(text)
    assert (got.encoding, got.units) == expected


REQUESTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "answered", "code"),
    [
        (timedelta(hours=24) - timedelta(seconds=1), None, None),  # just under
        (timedelta(hours=24), None, "sms.proof_overdue"),  # at
        (timedelta(hours=25), None, "sms.proof_overdue"),  # over
        (timedelta(hours=25), timedelta(hours=23), None),  # answered in time
        (timedelta(hours=30), timedelta(hours=26), None),  # answered late: over again
    ],
)
def test_m3_a_proof_request_unanswered_for_24_hours_is_overdue(
    after: timedelta, answered: timedelta | None, code: str | None
) -> None:
    answered_at = REQUESTED + answered if answered is not None else None
    decision = proof_overdue(REQUESTED, answered_at, REQUESTED + after)
    assert decision.code == code
    if code is not None:
        assert decision.rule == "M3"
