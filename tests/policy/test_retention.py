"""TERMS V15: records are kept at least one calendar year after the agreement ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialtone.policy.retention import purge, retention_ends

CLOSED = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
TICK = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("closed_at", "now", "code"),
    [
        (None, CLOSED, "retention.account_open"),
        (CLOSED, CLOSED, "retention.hold"),
        (CLOSED, datetime(2027, 3, 31, 17, 0, tzinfo=UTC) - TICK, "retention.hold"),
        (CLOSED, datetime(2027, 3, 31, 17, 0, tzinfo=UTC), None),  # one calendar year
        (CLOSED, datetime(2027, 3, 31, 17, 0, tzinfo=UTC) + TICK, None),
    ],
)
def test_purge_waits_one_calendar_year(
    closed_at: datetime | None, now: datetime, code: str | None
) -> None:
    decision = purge(closed_at, now)
    assert decision.code == code
    if code is not None:
        assert (decision.rule, decision.http_status()) == ("V15", 409)


def test_longer_retention_and_leap_days() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert retention_ends(leap) == datetime(2029, 2, 28, tzinfo=UTC)
    assert retention_ends(CLOSED, years=3) == datetime(2029, 3, 31, 17, 0, tzinfo=UTC)
    assert purge(CLOSED, datetime(2028, 1, 1, tzinfo=UTC), years=3).code == "retention.hold"
    with pytest.raises(ValueError, match="at least one"):
        retention_ends(CLOSED, years=0)
