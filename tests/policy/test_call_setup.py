"""Call-setup rules at their boundaries (TERMS V2, V10/N13, N10)."""

from __future__ import annotations

import pytest

from dialtone.policy.call_setup import (
    HeldNumbers,
    caller_id,
    default_caller_id,
    forward_target,
    sip_headers,
    user_concurrency,
)
from dialtone.policy.decision import ALLOWED


@pytest.mark.parametrize(
    ("active", "channels", "refused"),
    [(0, 1, False), (1, 1, True), (2, 1, True), (1, 2, False), (2, 2, True), (3, 2, True)],
)
def test_user_concurrency(active: int, channels: int, refused: bool) -> None:
    decision = user_concurrency(active, channels)
    assert decision.refused is refused
    if refused:
        assert (decision.code, decision.rule, decision.sip_status(), decision.http_status()) == (
            "concurrency.user_limit",
            "V2",
            486,
            409,
        )
        assert decision.details == {"active_calls": active, "channels": channels}
    else:
        assert decision is ALLOWED


@pytest.mark.parametrize(
    ("candidate", "refused"),
    [("+33123456789", False), ("+33123456788", True), (None, True), ("alice", True)],
)
def test_caller_id_must_be_held(candidate: str | None, refused: bool) -> None:
    decision = caller_id(candidate, {"+33123456789", "+442071838750"})
    assert decision.refused is refused
    if refused:
        assert (decision.code, decision.rule, decision.sip_status()) == (
            "caller_id.not_held",
            "V10",
            403,
        )


def test_forward_target_inactive() -> None:
    assert forward_target(True, "+33123456789").allowed
    decision = forward_target(False, "+33123456789")
    assert (decision.code, decision.rule, decision.sip_status()) == (
        "route.inactive_endpoint",
        "N10",
        480,
    )


def test_sip_headers_carry_the_code() -> None:
    headers = dict(sip_headers(user_concurrency(1, 1)))
    assert headers["Reason"] == 'SIP;cause=486;text="concurrency.user_limit"'
    assert headers["Warning"].startswith('399 dialtone "concurrency.user_limit (V2)')


def test_an_allowed_decision_has_no_status() -> None:
    with pytest.raises(ValueError, match="no SIP status"):
        ALLOWED.sip_status()
    with pytest.raises(ValueError, match="no HTTP status"):
        ALLOWED.http_status()


@pytest.mark.parametrize(
    ("routed", "held", "expected"),
    [
        (["+33123456789"], ["+33198765432", "+33123456789"], "+33123456789"),
        ([], ["+33198765432", "+33123456789"], "+33198765432"),
        ([], [], None),
    ],
)
def test_default_caller_id(routed: list[str], held: list[str], expected: str | None) -> None:
    assert default_caller_id(routed, held) == expected


@pytest.mark.parametrize(
    ("candidate", "code"),
    [
        ("+33123456789", None),
        ("+33987654321", "caller_id.inbound_only"),
        ("+15555550123", "caller_id.not_held"),
        (None, "caller_id.not_held"),
    ],
)
def test_n13_inbound_only_numbers_are_never_presented(
    candidate: str | None, code: str | None
) -> None:
    held = HeldNumbers(("+33123456789", "+33987654321"), frozenset({"+33987654321"}))
    decision = caller_id(candidate, held.numbers, held.inbound_only)
    assert decision.code == code
    assert held.outbound == ("+33123456789",)
    if code == "caller_id.inbound_only":
        assert (decision.rule, decision.sip_status()) == ("N13", 403)
    assert default_caller_id([], held.outbound) == "+33123456789"
