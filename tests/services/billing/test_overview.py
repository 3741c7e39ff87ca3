"""The console's billing figures: the subscription summary ``GET /v1/billing`` gives,
spend per day from rated lines (B4, B5, B16) and availability per month (S4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import NotFound
from dialtone.services.billing import overview, sla, subscriptions
from dialtone.store.models import RatedLine

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
_KEYS = count()


def _line(
    account: str,
    at: datetime,
    *,
    overage: str = "0",
    credits: str = "0",
    penalty: str = "0",
    currency: str = "EUR",
    status: str = "rated",
) -> RatedLine:
    return RatedLine(
        usage_key=f"k{next(_KEYS)}", account_id=account, kind="call", started_at=at,
        destination="+33123456789", quantity=60, included=0, currency=currency,
        price=Decimal("0.50"), credits=Decimal(credits), overage=Decimal(overage),
        penalty=Decimal(penalty), buckets="", rules="", status=status, rated_at=at,
    )  # fmt: skip


def _subscribe(session: Session, account: str) -> None:
    subscriptions.subscribe(
        session, account, plan_code="essential", currency="EUR", country="FR",
        now=NOW - timedelta(days=60),
    )  # fmt: skip


def test_spend_per_day_sums_what_the_customer_paid_for_each_day(
    session: Session, account: str
) -> None:
    _subscribe(session, account)
    today = NOW.replace(hour=1)
    session.add_all(
        [
            # Overage, credits drawn and penalties all cost the customer; included
            # minutes (price without any of them) do not.
            _line(account, today, overage="0.06", credits="0.10", penalty="0.01"),
            _line(account, today + timedelta(hours=2), overage="0.03"),
            _line(account, today - timedelta(days=2)),
            _line(account, today - timedelta(days=1), overage="1.00", status="refused"),
            _line(account, today - timedelta(days=1), overage="2.00", currency="USD"),
            _line(account, today - timedelta(days=30), overage="5.00"),  # before the window
            _line("ACother", today, overage="9.00"),
        ]
    )
    session.flush()
    spend = overview.spend_per_day(session, account, until=NOW, days=30)
    assert spend.currency == "EUR"
    assert len(spend.days) == 30
    assert spend.days[0].day == date(2026, 2, 4)
    assert spend.days[-1] == overview.DaySpend(date(2026, 3, 5), Decimal("0.20"))
    assert [d.amount for d in spend.days[:-1]] == [Decimal("0.00")] * 29


def test_spend_needs_a_subscription(session: Session, account: str) -> None:
    with pytest.raises(NotFound):
        overview.spend_per_day(session, account, until=NOW)


def test_the_summary_is_what_get_billing_gives(session: Session, account: str) -> None:
    _subscribe(session, account)
    found = overview.summary(session, account, now=NOW)
    assert found.plan == "essential"
    assert found.period_start <= NOW < found.period_end
    assert found.included_seconds == sum(found.included_seconds_left.values())
    assert found.used_minutes == 0
    assert found.ends_at is None


@pytest.mark.parametrize(
    ("now", "months", "expected"),
    [
        (NOW, 3, ["2026-01", "2026-02", "2026-03"]),
        (NOW, 6, ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]),
        (datetime(2026, 1, 31, 23, tzinfo=UTC), 2, ["2025-12", "2026-01"]),
        (NOW, 1, ["2026-03"]),
    ],
)
def test_availability_per_month_covers_the_last_months_oldest_first(
    session: Session, now: datetime, months: int, expected: list[str]
) -> None:
    found = overview.availability_per_month(session, now=now, months=months)
    assert [m.month for m in found] == expected
    assert all(m.availability == 100 for m in found)


def test_availability_per_month_counts_the_months_incidents(session: Session) -> None:
    start = datetime(2026, 2, 10, tzinfo=UTC)
    sla.report_incident(
        session, location="paris-1", start=start, end=start + timedelta(minutes=40),
        cause="platform", now=NOW,
    )  # fmt: skip
    found = {m.month: m.availability for m in overview.availability_per_month(session, now=NOW)}
    feb = sla.monthly_report(session, 2026, 2, ZoneInfo("UTC"), now=NOW)
    assert found["2026-02"] == feb.availability < 100
    assert found["2026-01"] == found["2026-03"] == 100
