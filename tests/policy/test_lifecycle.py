"""TERMS N6, N7, N8: what the lifecycle says is due, at each boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dialtone.policy.lifecycle import (
    NumberFacts,
    add_months,
    due,
    quarantine_ends,
    revocation_delay,
)

T0 = datetime(2026, 1, 31, 9, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("plan", "kind", "app_store", "days"),
    [
        ("personal", "random", False, 21),
        ("professional", "random", False, 21),
        ("business", "random", False, 30),
        ("enterprise", "random", False, 30),
        ("personal", "custom", False, 30),
        ("professional", "ported", False, 30),
        ("enterprise", "ported", True, 16),  # app store: whatever the plan
        ("personal", "random", True, 16),
    ],
)
def test_n6_revocation_delays(plan: str, kind: str, app_store: bool, days: int) -> None:
    assert revocation_delay(plan, kind, app_store=app_store) == timedelta(days=days)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 7, 15, tzinfo=UTC), 6, datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), 0, datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert add_months(moment, months) == expected


FACTS = NumberFacts(
    number="+33123456789",
    kind="random",
    plan="professional",
    app_store=False,
    account_status="active",
    account_closed_at=None,
    deactivated_at=None,
    leased_at=T0,
    last_traffic_at=T0 + DAY,
    reclaim_notice_at=None,
)


def _action(facts: NumberFacts, now: datetime) -> str | None:
    found = due(facts, now)
    return None if found is None else found.action


@pytest.mark.parametrize(
    ("offset", "action"),
    [(timedelta(days=21) - SECOND, None), (timedelta(days=21), "revoke_unpaid")],
)
def test_n6_revoked_when_the_delay_ends(offset: timedelta, action: str | None) -> None:
    facts = replace(FACTS, deactivated_at=T0)
    assert _action(facts, T0 + offset) == action
    if action is not None:
        assert due(facts, T0 + offset) == due(facts, T0 + offset + 10 * DAY)  # same due date


def test_n6_deactivated_numbers_get_no_idle_notice() -> None:
    facts = replace(FACTS, deactivated_at=T0 + 200 * DAY)
    assert _action(facts, T0 + 200 * DAY) is None


def test_n7_a_closed_accounts_numbers_go_to_quarantine() -> None:
    facts = replace(FACTS, account_status="closed", account_closed_at=T0)
    found = due(facts, T0 + 3 * DAY)
    assert found is not None
    assert (found.action, found.rule, found.due_at) == ("quarantine", "N7", T0)
    assert quarantine_ends(T0) == datetime(2026, 7, 31, 9, tzinfo=UTC)


IDLE_FROM = add_months(T0 + DAY, 3)  # three calendar months after the last call


@pytest.mark.parametrize(
    ("changes", "now", "action"),
    [
        ({}, IDLE_FROM - SECOND, None),
        ({}, IDLE_FROM, "notify_idle"),
        ({"last_traffic_at": None}, add_months(T0, 3), "notify_idle"),  # never used
        ({"account_status": "suspended"}, IDLE_FROM, None),
        ({"reclaim_notice_at": IDLE_FROM}, IDLE_FROM + 7 * DAY - SECOND, None),
        ({"reclaim_notice_at": IDLE_FROM}, IDLE_FROM + 7 * DAY, "reclaim_idle"),
        (
            {"reclaim_notice_at": IDLE_FROM, "last_traffic_at": IDLE_FROM + DAY},
            IDLE_FROM + 7 * DAY,
            "cancel_notice",  # used again after the notice
        ),
    ],
)
def test_n8_idle_numbers(changes: dict[str, object], now: datetime, action: str | None) -> None:
    assert _action(replace(FACTS, **changes), now) == action  # type: ignore[arg-type]
