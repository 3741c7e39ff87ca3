"""SLA service (TERMS S1, S4): incidents and the health-check hook, monthly availability,
claims at their edges (bands, windows, trials, AI products, twice), and a claim that
reduces the next invoice. Expected amounts are worked by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.billing import invoicing, sla, subscriptions
from dialtone.store.models import SlaClaim, SlaIncident

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)  # April has 30 days: 43 200 minutes
MAY = datetime(2026, 5, 1, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
DAY = timedelta(days=1)


def _subscribe(session: Session, account: str, plan: str = "essential", accesses: int = 2) -> None:
    subscriptions.subscribe(
        session, account, plan_code=plan, currency="EUR", country="FR", now=JAN,
        accesses=accesses,
    )  # fmt: skip


def _down(
    session: Session, start: datetime, length: timedelta, location: str = "paris-1",
    cause: str = "platform",
) -> SlaIncident:  # fmt: skip
    return sla.report_incident(
        session, location=location, start=start, end=start + length, cause=cause,
        now=start + length,
    )  # fmt: skip


def _refusal(call: object) -> DialtoneError:
    with pytest.raises(DialtoneError) as info:
        call()  # type: ignore[operator]
    return info.value


def _claim_feb_s1(session: Session, account: str, location: str = "paris-1") -> SlaClaim:
    return sla.claim_s1(session, account, location, 2026, 2, tz=UTC_ZONE, now=MAR + 4 * DAY)


# S1 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "days", "amount"),
    [
        (timedelta(minutes=14), 0, None),
        (timedelta(minutes=14, seconds=1), 1, "1.27"),  # every started minute: 15
        (timedelta(minutes=15), 1, "1.27"),  # 2 × 19.00 = 38.00 a month; 38 / 30 = 1.2666…
        (timedelta(minutes=30), 1, "1.27"),
        (timedelta(minutes=31), 2, "2.53"),  # 76 / 30 = 2.5333…
        (timedelta(minutes=240), 6, "7.60"),  # 228 / 30
        (timedelta(minutes=241), 8, "10.13"),  # "SLA top band": 304 / 30 = 10.1333…
    ],
)
def test_s1_bands(
    session: Session, account: str, length: timedelta, days: int, amount: str | None
) -> None:
    _subscribe(session, account)
    _down(session, FEB + timedelta(days=10), length)
    report = sla.monthly_report(session, 2026, 2, UTC_ZONE, now=MAR)
    assert [(m.location, m.s1_days) for m in report.locations] == [("paris-1", days)]
    if amount is None:
        error = _refusal(lambda: _claim_feb_s1(session, account))
        assert (error.code, error.rule, error.status) == ("sla.nothing_due", "S1", 409)
        return
    claim = _claim_feb_s1(session, account)
    assert (claim.rule, claim.month, claim.location) == ("S1", "2026-02", "paris-1")
    assert claim.amount == Decimal(amount)
    assert f"{days} service day(s)" in claim.detail


def test_s1_annual_plan_values_a_month_as_a_twelfth(session: Session, account: str) -> None:
    _subscribe(session, account, plan="unlimited")
    _down(session, FEB + timedelta(days=3), timedelta(minutes=20))
    # 2 × 300.00 a year; a day is 600 / (12 × 30) = 1.6666… → 1.67
    assert _claim_feb_s1(session, account).amount == Decimal("1.67")


def test_s1_locations_and_causes(session: Session, account: str) -> None:
    _subscribe(session, account)
    day = FEB + timedelta(days=5)
    _down(session, day, timedelta(minutes=10))
    _down(session, day + timedelta(minutes=5), timedelta(minutes=10))  # overlaps: 15 in all
    _down(session, day, timedelta(minutes=60), location="lyon-1")
    _down(session, day + timedelta(hours=2), timedelta(minutes=60), cause="site_power")
    _down(session, day + timedelta(hours=4), timedelta(minutes=1), cause="maintenance")
    # paris-1: 15 (merged) + 1 (maintenance counts for S1) = 16 → 1 day; lyon-1 apart.
    report = sla.monthly_report(session, 2026, 2, UTC_ZONE, now=MAR)
    assert [(m.location, m.downtime_minutes, m.s1_days) for m in report.locations] == [
        ("lyon-1", 60, 2),
        ("paris-1", 16, 1),
    ]
    assert _claim_feb_s1(session, account).amount == Decimal("1.27")
    assert _claim_feb_s1(session, account, "lyon-1").amount == Decimal("2.53")
    error = _refusal(lambda: _claim_feb_s1(session, account, "nice-1"))
    assert error.code == "sla.nothing_due"


def test_s1_counts_in_the_locations_local_month(session: Session, account: str) -> None:
    _subscribe(session, account)
    # 28 February 23:30 UTC is 1 March 00:30 in Paris: March there, February in UTC.
    _down(session, datetime(2026, 2, 28, 23, 30, tzinfo=UTC), timedelta(minutes=20))
    later = datetime(2026, 4, 2, tzinfo=UTC)
    error = _refusal(
        lambda: sla.claim_s1(session, account, "paris-1", 2026, 2, tz=PARIS, now=MAR + DAY)
    )
    assert error.code == "sla.nothing_due"
    claim = sla.claim_s1(session, account, "paris-1", 2026, 3, tz=PARIS, now=later)
    assert claim.amount == Decimal("1.27")


def test_s1_claim_window_and_open_month(session: Session, account: str) -> None:
    _subscribe(session, account)
    _down(session, FEB + timedelta(days=1), timedelta(minutes=20))
    _down(session, MAR + timedelta(days=1), timedelta(minutes=20))
    error = _refusal(
        lambda: sla.claim_s1(
            session, account, "paris-1", 2026, 3, tz=UTC_ZONE, now=APR - timedelta(seconds=1)
        )
    )
    assert (error.code, error.status) == ("sla.month_open", 409)
    late = MAR + timedelta(days=30, seconds=1)
    error = _refusal(
        lambda: sla.claim_s1(session, account, "paris-1", 2026, 2, tz=UTC_ZONE, now=late)
    )
    assert (error.code, error.rule, error.status) == ("sla.claim_late", "S1", 409)
    # Exactly 30 days after the month's end is still in time.
    claim = sla.claim_s1(
        session, account, "paris-1", 2026, 2, tz=UTC_ZONE, now=MAR + timedelta(days=30)
    )
    assert claim.amount == Decimal("1.27")


def test_a_month_is_claimed_once_per_rule_and_location(session: Session, account: str) -> None:
    _subscribe(session, account)
    _down(session, FEB + timedelta(days=1), timedelta(minutes=20))
    _down(session, FEB + timedelta(days=1), timedelta(minutes=20), location="lyon-1")
    _claim_feb_s1(session, account)
    error = _refusal(lambda: _claim_feb_s1(session, account))
    assert (error.code, error.rule, error.status) == ("sla.already_claimed", "S1", 409)
    _claim_feb_s1(session, account, "lyon-1")  # another location: never combined
    assert len(sla.list_claims(session, account)) == 2


def test_claims_need_a_subscription(session: Session, account: str) -> None:
    error = _refusal(lambda: _claim_feb_s1(session, account))
    assert (error.code, error.status) == ("subscription.not_found", 404)


# S4 --------------------------------------------------------------------------------


def _april_invoice(session: Session, account: str, plan: str = "essential") -> None:
    subscriptions.subscribe(
        session, account, plan_code=plan, currency="EUR", country="FR", now=APR, accesses=2
    )
    invoicing.issue(session, account, now=APR)  # in advance: 2 × 19.00 = 38.00 before tax


def _claim_april_s4(session: Session, account: str, ai_product: bool | None = None) -> SlaClaim:
    return sla.claim_s4(
        session, account, 2026, 4, now=MAY + timedelta(days=1), ai_product=ai_product
    )


@pytest.mark.parametrize(
    ("down", "percent", "amount"),
    [
        (timedelta(seconds=1295), None, None),  # 99.95003 %: above the target
        (timedelta(seconds=1296), "5", "1.90"),  # 0.05 % of 43 200 min = 21.6 min: 99.95
        (timedelta(minutes=216), "5", "1.90"),  # 99.5 exactly
        (timedelta(minutes=216, seconds=1), "10", "3.80"),  # just under 99.5
        (timedelta(minutes=432), "10", "3.80"),  # 99 exactly
        (timedelta(minutes=432, seconds=1), "20", "7.60"),  # just under 99
    ],
)
def test_s4_availability_edges(
    session: Session, account: str, down: timedelta, percent: str | None, amount: str | None
) -> None:
    _april_invoice(session, account)
    # Two locations at once count once (S4 measures the service as a whole).
    _down(session, APR + timedelta(days=9), down)
    _down(session, APR + timedelta(days=9), down, location="lyon-1")
    # Maintenance is excluded by S4 (it still counts for S1).
    _down(session, APR + timedelta(days=20), timedelta(hours=3), cause="maintenance")
    report = sla.monthly_report(session, 2026, 4, UTC_ZONE, now=MAY)
    assert report.s4_percent == Decimal(percent or 0)
    if amount is None:
        error = _refusal(lambda: _claim_april_s4(session, account))
        assert (error.code, error.rule, error.status) == ("sla.nothing_due", "S4", 409)
        return
    claim = _claim_april_s4(session, account)
    assert (claim.rule, claim.month, claim.location, claim.amount) == (
        "S4", "2026-04", "", Decimal(amount),
    )  # fmt: skip


def test_s4_annual_invoice_counts_a_twelfth(session: Session, account: str) -> None:
    _april_invoice(session, account, plan="unlimited")  # 2 × 300.00 for the year
    _down(session, APR + timedelta(days=2), timedelta(hours=8))  # under 99 % → 20 %
    assert _claim_april_s4(session, account).amount == Decimal("10.00")  # 20 % of 50.00


def test_s4_window_is_one_month(session: Session, account: str) -> None:
    _april_invoice(session, account)
    _down(session, APR + timedelta(days=9), timedelta(hours=1))
    late = datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)
    error = _refusal(lambda: sla.claim_s4(session, account, 2026, 4, now=late))
    assert (error.code, error.rule) == ("sla.claim_late", "S4")
    error = _refusal(
        lambda: sla.claim_s4(session, account, 2026, 4, now=MAY - timedelta(seconds=1))
    )
    assert error.code == "sla.month_open"
    claim = sla.claim_s4(session, account, 2026, 4, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert claim.amount == Decimal("1.90")
    error = _refusal(lambda: _claim_april_s4(session, account))
    assert (error.code, error.status) == ("sla.already_claimed", 409)


def test_s4_not_for_trials_nor_ai_products(
    session: Session, account: str, other_account: str
) -> None:
    _april_invoice(session, account)
    _down(session, APR + timedelta(days=9), timedelta(hours=10))
    error = _refusal(lambda: _claim_april_s4(session, account, ai_product=True))
    assert (error.code, error.rule, error.status) == ("sla.not_covered", "S4", 403)
    assert error.details == {"reason": "ai_product"}
    subscriptions.subscribe(
        session, other_account, plan_code="trial", currency="EUR", country="FR", now=APR
    )
    error = _refusal(lambda: _claim_april_s4(session, other_account))
    assert (error.code, error.details) == ("sla.not_covered", {"reason": "trial"})
    assert sla.list_claims(session, account) == []


def test_s4_needs_the_months_invoice(session: Session, account: str) -> None:
    subscriptions.subscribe(
        session, account, plan_code="essential", currency="EUR", country="FR", now=APR
    )
    _down(session, APR + timedelta(days=9), timedelta(hours=10))
    error = _refusal(lambda: _claim_april_s4(session, account))
    assert error.code == "sla.nothing_due"


# Incidents and health checks -------------------------------------------------------


def test_incidents_are_checked_and_closed_once(session: Session) -> None:
    start = FEB + timedelta(days=1)
    for bad in (
        {"end": start - timedelta(seconds=1), "cause": "platform"},
        {"end": None, "cause": "gremlins"},
        {"end": None, "cause": "platform", "source": "rumour"},
    ):
        error = _refusal(
            lambda bad=bad: sla.report_incident(
                session, location="paris-1", start=start, now=MAR, **bad
            )
        )
        assert error.code == "sla.invalid"
    error = _refusal(
        lambda: sla.report_incident(
            session, location="paris-1", start=MAR, end=None, cause="platform", now=FEB
        )
    )
    assert error.code == "sla.invalid"  # not forecast
    row = sla.report_incident(
        session, location="paris-1", start=start, end=None, cause="platform", now=MAR
    )
    assert _refusal(lambda: sla.close_incident(session, "SIx", MAR)).status == 404
    assert _refusal(lambda: sla.close_incident(session, row.id, FEB)).code == "sla.invalid"
    sla.close_incident(session, row.id, start + timedelta(minutes=5))
    error = _refusal(lambda: sla.close_incident(session, row.id, start + timedelta(minutes=9)))
    assert (error.code, error.status) == ("sla.incident_closed", 409)


def test_health_checks_open_and_close_one_incident(session: Session) -> None:
    t0 = FEB + timedelta(days=2)
    assert sla.record_health(session, "paris-1", True, t0) is None
    opened = sla.record_health(session, "paris-1", False, t0 + timedelta(minutes=1))
    assert opened is not None
    assert (opened.source, opened.cause, opened.end) == ("health_check", "platform", None)
    again = sla.record_health(session, "paris-1", False, t0 + timedelta(minutes=2))
    assert again is not None
    assert again.id == opened.id
    # A hand-reported incident at the same place is the operator's to close.
    reported = sla.report_incident(
        session, location="paris-1", start=t0, end=None, cause="third_party_carrier", now=t0
    )
    closed = sla.record_health(session, "paris-1", True, t0 + timedelta(minutes=21))
    assert closed is not None
    assert closed.id == opened.id
    assert closed.end == t0 + timedelta(minutes=21)
    assert sla.record_health(session, "paris-1", True, t0 + timedelta(minutes=22)) is None
    assert reported.end is None
    report = sla.monthly_report(session, 2026, 2, UTC_ZONE, now=MAR)
    # 20 minutes from the failed check to the good one; the carrier's outage is excluded.
    assert [(m.location, m.downtime_minutes, m.s1_days) for m in report.locations] == [
        ("paris-1", 20, 1)
    ]
    reopened = sla.record_health(session, "paris-1", False, t0 + timedelta(hours=1))
    assert reopened is not None
    assert reopened.id != opened.id
    assert len(sla.list_incidents(session, location="paris-1")) == 3


def test_an_open_incident_counts_until_now(session: Session) -> None:
    sla.record_health(session, "paris-1", False, FEB)
    report = sla.monthly_report(session, 2026, 2, UTC_ZONE, now=FEB + timedelta(minutes=45))
    assert [(m.downtime_minutes, m.s1_days) for m in report.locations] == [(45, 2)]
    # The whole of February (40 320 minutes) down to now, at the month's end.
    report = sla.monthly_report(session, 2026, 2, UTC_ZONE, now=MAR + timedelta(days=3))
    assert report.locations[0].downtime_minutes == 40320
    assert report.availability == Decimal(0)
    assert report.s4_percent == Decimal(20)


# End to end ------------------------------------------------------------------------


def test_a_claim_reduces_the_next_invoice(session: Session, account: str) -> None:
    _subscribe(session, account)  # essential, 2 accesses from 1 January
    first = invoicing.issue(session, account, now=JAN)
    assert first.total == Decimal("45.60")  # 38.00 + 20 % VAT
    sla.record_health(session, "paris-1", False, JAN + timedelta(days=9))
    sla.record_health(session, "paris-1", True, JAN + timedelta(days=9, minutes=45))
    claim = sla.claim_s1(session, account, "paris-1", 2026, 1, tz=UTC_ZONE, now=FEB)
    assert claim.amount == Decimal("2.53")  # 45 min → 2 days: 38.00 × 2 / 30
    second = invoicing.issue(session, account, now=FEB)
    lines = [(ln.kind, ln.amount, ln.rule) for ln in second.lines]
    assert lines == [
        ("subscription", Decimal("38.00"), "B6"),
        ("sla_credit", Decimal("-2.53"), "S1"),
    ]
    # 35.47; VAT 20 % 7.094 → 7.09; 42.56
    assert (second.subtotal, second.tax, second.total) == (
        Decimal("35.47"), Decimal("7.09"), Decimal("42.56"),
    )  # fmt: skip
    assert sla.list_claims(session, account)[0].invoice_id == second.id
    third = invoicing.issue(session, account, now=FEB + timedelta(days=30))
    assert [ln.kind for ln in third.lines] == ["subscription"]
