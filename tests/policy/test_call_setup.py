"""Call-setup rules at their boundaries (TERMS V2, V10/N13, N10)."""

from __future__ import annotations

import pytest

from dialtone.policy.call_setup import caller_id, forward_target, sip_headers, user_concurrency


@pytest.mark.parametrize(
    ("active", "channels", "refused"),
    [(0, 1, False), (1, 1, True), (2, 1, True), (1, 2, False), (2, 2, True), (3, 2, True)],
)
def test_user_concurrency(active: int, channels: int, refused: bool) -> None:
    refusal = user_concurrency(active, channels)
    assert (refusal is not None) is refused
    if refusal is not None:
        assert (refusal.code, refusal.rule, refusal.sip_status) == (
            "concurrency.user_limit",
            "V2",
            486,
        )


@pytest.mark.parametrize(
    ("candidate", "refused"),
    [("+33123456789", False), ("+33123456788", True), (None, True), ("alice", True)],
)
def test_caller_id_must_be_held(candidate: str | None, refused: bool) -> None:
    refusal = caller_id(candidate, {"+33123456789", "+442071838750"})
    assert (refusal is not None) is refused
    if refusal is not None:
        assert (refusal.code, refusal.rule, refusal.sip_status) == (
            "caller_id.not_held",
            "V10",
            403,
        )


def test_forward_target_inactive() -> None:
    assert forward_target(True, "+33123456789") is None
    refusal = forward_target(False, "+33123456789")
    assert refusal is not None
    assert (refusal.code, refusal.rule) == ("route.inactive_endpoint", "N10")


def test_sip_headers_carry_the_code() -> None:
    refusal = user_concurrency(1, 1)
    assert refusal is not None
    headers = dict(sip_headers(refusal))
    assert headers["Reason"] == 'SIP;cause=486;text="concurrency.user_limit"'
    assert headers["Warning"].startswith('399 dialtone "concurrency.user_limit (V2)')
