"""TERMS V8: recording consent by the parties' jurisdictions, and objection."""

from __future__ import annotations

import pytest

from dialtone.policy.recording import (
    Party,
    jurisdiction,
    needs_all_parties,
    objection,
    recording,
)


@pytest.mark.parametrize(
    ("number", "place"),
    [
        ("+14155550100", "US-CA"),  # "San Francisco, CA"
        ("+13055550100", "US-FL"),  # "Florida"
        ("+12125550100", "US-NY"),
        ("+12155550100", "US-PA"),
        ("+33123456789", "FR"),
        ("+442071838750", "GB"),
        ("+14165550100", "CA"),  # Canada, not California
        ("not a number", None),
    ],
)
def test_jurisdiction(number: str, place: str | None) -> None:
    assert jurisdiction(number) == place


@pytest.mark.parametrize(
    ("place", "all_parties"),
    [("US-CA", True), ("US-NY", False), ("US", False), ("FR", True), ("GB", False), (None, True)],
)
def test_which_places_want_every_party(place: str | None, all_parties: bool) -> None:
    assert needs_all_parties(place) is all_parties


NY, CA_STATE, LONDON, PARIS = "+12125550100", "+14155550100", "+442071838750", "+33123456789"


@pytest.mark.parametrize(
    ("parties", "notice", "code"),
    [
        ((Party(NY), Party(LONDON)), False, None),  # one-party places only
        ((Party(NY), Party(CA_STATE)), False, "recording.consent_required"),
        ((Party(NY), Party(PARIS)), False, "recording.consent_required"),
        ((Party(NY), Party(CA_STATE)), True, None),  # notice: continuing is consent
        ((Party(NY), Party(PARIS, objected=True)), True, "recording.objected"),
        ((Party(NY, objected=True), Party(LONDON)), False, "recording.objected"),
    ],
)
def test_recording(parties: tuple[Party, ...], notice: bool, code: str | None) -> None:
    decision = recording(parties, notice_played=notice)
    assert decision.code == code
    if code is not None:
        assert decision.rule == "V8"


def test_operators_may_list_the_places_themselves() -> None:
    parties = (Party(NY), Party(LONDON))
    assert recording(parties, notice_played=False, all_party_places={"GB"}).refused
    assert recording((Party(NY), Party(PARIS)), notice_played=False, all_party_places=()).allowed


@pytest.mark.parametrize(
    ("parties", "code"),
    [
        # The "one_party" policy asks with the call's two numbers, no notice played.
        ((NY, LONDON), None),
        ((NY, "+13125550100"), "recording.consent_required"),  # Chicago: Illinois
        ((NY, PARIS), "recording.consent_required"),
        # An extension places no one: an unknown place wants the notice.
        (("201", "202"), "recording.consent_required"),
        ((NY, "202"), "recording.consent_required"),
    ],
)
def test_one_party_policy_by_the_calls_numbers(parties: tuple[str, str], code: str | None) -> None:
    decision = recording([Party(n) for n in parties], notice_played=False)
    assert decision.code == code


def test_an_objection_is_on_record_with_the_calls_parties() -> None:
    decision = objection((NY, PARIS))
    assert (decision.refused, decision.rule, decision.code) == (True, "V8", "recording.objected")
    assert decision.details["parties"] == [NY, PARIS]
    assert "deleted" in decision.message
