"""Why a user's devices are not rung (issue 13, item 10): busy (TERMS V2, 486) only when
the one-call-per-user rule refuses, else unavailable (480)."""

from __future__ import annotations

import pytest

from dialtone.policy.call_setup import user_concurrency
from dialtone.runtime.setup_decision import not_rung


@pytest.mark.parametrize(
    ("active", "channels", "why", "status"),
    [
        (0, 1, "no registered device", 480),  # free, but nothing to ring
        (1, 2, "no registered device", 480),  # just under the channels
        (1, 1, "busy (V2)", 486),  # at the channels
        (2, 1, "busy (V2)", 486),  # over
    ],
)
def test_busy_only_when_the_one_call_per_user_rule_refuses(
    active: int, channels: int, why: str, status: int
) -> None:
    assert not_rung(user_concurrency(active, channels)) == (why, status)
