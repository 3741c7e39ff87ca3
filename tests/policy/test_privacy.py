"""TERMS D4: error logs keep IP addresses 14 days at most, and the 100 latest errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialtone.policy.privacy import entries_to_keep, error_log_cutoff

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "ok"), [(0, False), (1, True), (13, True), (14, True), (15, False)]
)
def test_days_are_at_most_fourteen(days: int, ok: bool) -> None:
    if ok:
        assert error_log_cutoff(NOW, days=days) == NOW - timedelta(days=days)
    else:
        with pytest.raises(ValueError, match="D4"):
            error_log_cutoff(NOW, days=days)


@pytest.mark.parametrize(
    ("entries", "ok"), [(0, False), (1, True), (99, True), (100, True), (101, False)]
)
def test_entries_are_at_most_a_hundred(entries: int, ok: bool) -> None:
    if ok:
        assert entries_to_keep(entries) == entries
    else:
        with pytest.raises(ValueError, match="D4"):
            entries_to_keep(entries)
