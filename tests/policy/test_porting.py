"""TERMS N4 port-in steps and N5 (with N2) port-out, at each boundary."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.policy.decision import Decision
from dialtone.policy.porting import (
    PORT_IN_DOCUMENTS,
    TECHNICAL_WINDOW,
    PortIn,
    PortOutFacts,
    cancel,
    complete,
    port_out,
    reject,
    schedule,
    submit,
)
from dialtone.policy.telemarketing import WEEKDAYS, Window

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
THURSDAY, FRIDAY, SATURDAY, MONDAY = (date(2026, 3, d) for d in (5, 6, 7, 9))
MINUTE = timedelta(minutes=1)

DRAFT = PortIn(numbers=("+33123456789", "+33123456790"), documents=PORT_IN_DOCUMENTS)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def _ok(result: PortIn | Decision) -> PortIn:
    assert isinstance(result, PortIn), result
    return result


def _code(result: PortIn | Decision) -> str | None:
    return result.code if isinstance(result, Decision) else None


SUBMITTED = _ok(submit(DRAFT, now=NOW))
SCHEDULED = _ok(schedule(SUBMITTED, _at(FRIDAY, 9), now=NOW))


# -- submit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "code"),
    [
        (DRAFT, None),
        (replace(DRAFT, numbers=()), "port_in.incomplete"),  # no number listed
        (replace(DRAFT, documents=PORT_IN_DOCUMENTS - {"mandate"}), "port_in.incomplete"),
        (replace(DRAFT, documents=frozenset()), "port_in.incomplete"),
        (replace(DRAFT, documents=PORT_IN_DOCUMENTS | {"extra"}), None),
        (SUBMITTED, "port_in.wrong_state"),  # already started
    ],
)
def test_n4_submit_needs_a_complete_file(port: PortIn, code: str | None) -> None:
    result = submit(port, now=NOW)
    assert _code(result) == code
    if code is None:
        assert _ok(result).state == "submitted"
        assert _ok(result).submitted_at == NOW


def test_n4_incomplete_file_lists_what_is_missing() -> None:
    result = submit(PortIn(documents=frozenset({"identity"})), now=NOW)
    assert isinstance(result, Decision)
    assert result.rule == "N4"
    assert result.details == {"numbers": 0, "missing_documents": ("carrier_bill", "mandate")}
    assert result.http_status() == 422


def test_n4_operators_set_the_documents() -> None:
    bare = PortIn(numbers=("+33123456789",))
    assert _code(submit(bare, now=NOW)) == "port_in.incomplete"
    assert _code(submit(bare, now=NOW, required=())) is None


# -- schedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effective_at", "accept_fee", "code", "fee"),
    [
        (_at(FRIDAY, 8), False, None, False),  # window start
        (_at(FRIDAY, 7, 59), False, "port_in.outside_window", None),  # a minute early
        (_at(FRIDAY, 11, 59), False, None, False),  # last minute inside
        (_at(FRIDAY, 12), False, "port_in.outside_window", None),  # window end, excluded
        (_at(SATURDAY, 9), False, "port_in.outside_window", None),  # weekend
        (_at(MONDAY, 8), False, None, False),
        (_at(SATURDAY, 9), True, None, True),  # accepted: the fee is recorded
        (_at(FRIDAY, 7, 59), True, None, True),
        (_at(FRIDAY, 12), True, None, True),
        (_at(FRIDAY, 10), True, None, False),  # inside: no fee though accepted
    ],
)
def test_n4_weekday_technical_window(
    effective_at: datetime, accept_fee: bool, code: str | None, fee: bool | None
) -> None:
    result = schedule(SUBMITTED, effective_at, now=NOW, accept_fee=accept_fee)
    assert _code(result) == code
    if code is None:
        port = _ok(result)
        assert (port.state, port.effective_at, port.out_of_window_fee) == (
            "scheduled",
            effective_at,
            fee,
        )


def test_n4_window_reads_the_time_as_given_in_the_carriers_zone() -> None:
    instant = datetime(2026, 3, 6, 7, 30, tzinfo=UTC)  # 08:30 in Paris (winter time)
    assert _code(schedule(SUBMITTED, instant.astimezone(PARIS), now=NOW)) is None
    # The caller converts: the same instant written in UTC reads 07:30, before the window.
    assert _code(schedule(SUBMITTED, instant, now=NOW)) == "port_in.outside_window"


def test_n4_window_is_a_setting() -> None:
    afternoon = Window(WEEKDAYS, time(14), time(18))
    assert _code(schedule(SUBMITTED, _at(FRIDAY, 9), now=NOW, window=afternoon)) == (
        "port_in.outside_window"
    )
    assert _code(schedule(SUBMITTED, _at(FRIDAY, 14), now=NOW, window=afternoon)) is None
    refused = schedule(SUBMITTED, _at(SATURDAY, 9), now=NOW)
    assert isinstance(refused, Decision)
    assert (
        refused.details["window"]
        == TECHNICAL_WINDOW.describe()
        == "Mon,Tue,Wed,Thu,Fri 08:00-12:00"
    )


@pytest.mark.parametrize(
    ("port", "effective_at", "now", "code"),
    [
        (DRAFT, _at(FRIDAY, 9), NOW, "port_in.wrong_state"),  # not submitted
        (SUBMITTED, NOW, NOW, "request.invalid"),  # not in the future
        (SUBMITTED, NOW - MINUTE, NOW, "request.invalid"),
        (SCHEDULED, _at(MONDAY, 9), _at(THURSDAY, 23, 59), None),  # moved the day before
        (SCHEDULED, _at(MONDAY, 9), _at(FRIDAY, 0), "port_in.wrong_state"),  # on the day
        (SCHEDULED, _at(MONDAY, 9), _at(SATURDAY, 9), "port_in.wrong_state"),
    ],
)
def test_n4_schedule_states(
    port: PortIn, effective_at: datetime, now: datetime, code: str | None
) -> None:
    assert _code(schedule(port, effective_at, now=now)) == code


@given(
    effective_at=st.datetimes(
        min_value=datetime(2026, 3, 3), max_value=datetime(2027, 3, 3), timezones=st.just(PARIS)
    ),
    accept_fee=st.booleans(),
)
def test_n4_fee_exactly_outside_the_window(effective_at: datetime, accept_fee: bool) -> None:
    result = schedule(SUBMITTED, effective_at, now=NOW, accept_fee=accept_fee)
    inside = effective_at.weekday() < 5 and time(8) <= effective_at.time() < time(12)
    if inside or accept_fee:
        assert _ok(result).out_of_window_fee is not inside
    else:
        assert _code(result) == "port_in.outside_window"


# -- cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (_at(THURSDAY, 12), None),  # the day before
        (_at(THURSDAY, 23, 59), None),
        (_at(FRIDAY, 0), "port_in.too_late_to_cancel"),  # on the day, before the window
        (_at(FRIDAY, 8, 59), "port_in.too_late_to_cancel"),
        (_at(SATURDAY, 9), "port_in.too_late_to_cancel"),  # the day after
        # 23:30 UTC on Thursday is already Friday in Paris, the carriers' day.
        (datetime(2026, 3, 5, 23, 30, tzinfo=UTC), "port_in.too_late_to_cancel"),
        (datetime(2026, 3, 5, 22, 59, tzinfo=UTC), None),
    ],
)
def test_n4_cancel_before_the_effective_date(now: datetime, code: str | None) -> None:
    result = cancel(SCHEDULED, now=now)
    assert _code(result) == code
    if code is None:
        assert (_ok(result).state, _ok(result).closed_at) == ("cancelled", now)
    else:
        assert isinstance(result, Decision)
        assert (result.rule, result.http_status()) == ("N4", 409)


@pytest.mark.parametrize(
    ("port", "code"),
    [
        (DRAFT, None),
        (SUBMITTED, None),  # no date yet
        (_ok(complete(SCHEDULED, now=NOW)), "port_in.too_late_to_cancel"),
        (_ok(cancel(SUBMITTED, now=NOW)), "port_in.wrong_state"),
        (_ok(reject(SUBMITTED, "mandate unsigned", now=NOW)), "port_in.wrong_state"),
    ],
)
def test_n4_cancel_states(port: PortIn, code: str | None) -> None:
    assert _code(cancel(port, now=NOW)) == code


# -- complete and reject ------------------------------------------------------------------------


def test_n4_completing_ends_the_previous_line() -> None:
    done = _ok(complete(SCHEDULED, now=_at(FRIDAY, 9)))
    assert (done.state, done.previous_line_ended, done.closed_at) == (
        "completed",
        True,
        _at(FRIDAY, 9),
    )
    assert not SCHEDULED.previous_line_ended  # values are not changed in place
    assert _code(complete(SUBMITTED, now=NOW)) == "port_in.wrong_state"
    assert _code(complete(done, now=NOW)) == "port_in.wrong_state"


def test_n4_rejection_ends_the_request() -> None:
    rejected = _ok(reject(SCHEDULED, "number not held by the customer", now=NOW))
    assert (rejected.state, rejected.rejection) == ("rejected", "number not held by the customer")
    assert _code(reject(DRAFT, "x", now=NOW)) == "port_in.wrong_state"
    assert _code(submit(rejected, now=NOW)) == "port_in.wrong_state"
    assert _code(schedule(rejected, _at(MONDAY, 9), now=NOW)) == "port_in.wrong_state"


# -- N5 port-out --------------------------------------------------------------------------------

PERIOD_END = date(2026, 6, 30)
FACTS = PortOutFacts(
    number="+33123456789",
    origin="ported_in",
    local_address_proven=True,
    period_end=PERIOD_END,
)


@pytest.mark.parametrize(
    ("changes", "days_before", "code"),
    [
        ({}, 31, None),
        ({}, 30, None),  # at least 30 calendar days: exactly 30 will do
        ({}, 29, "port_out.notice_too_short"),
        ({}, 0, "port_out.notice_too_short"),
        ({}, -1, "port_out.notice_too_short"),  # the period is over
        ({"terminated_on": PERIOD_END - timedelta(days=31)}, 31, "port_out.after_termination"),
        ({"terminated_on": PERIOD_END - timedelta(days=40)}, 31, "port_out.after_termination"),
        ({"terminated_on": PERIOD_END - timedelta(days=30)}, 31, None),  # not yet terminated
        ({"origin": "platform"}, 31, None),  # allowed by default (TERMS "Portability")
        ({"local_address_proven": False}, 31, "port_out.address_unproven"),
        # After termination nothing else matters.
        (
            {"terminated_on": PERIOD_END - timedelta(days=60), "local_address_proven": False},
            10,
            "port_out.after_termination",
        ),
    ],
)
def test_n5_port_out(changes: dict[str, object], days_before: int, code: str | None) -> None:
    facts = replace(FACTS, **changes)  # type: ignore[arg-type]
    decision = port_out(facts, PERIOD_END - timedelta(days=days_before))
    assert decision.code == code
    if code is not None:
        assert decision.rule == "N5"


@pytest.mark.parametrize(
    ("origin", "code"),
    [("platform", "port_out.platform_number"), ("ported_in", None)],
)
def test_n2_platform_numbers_where_the_operator_forbids_them(origin: str, code: str | None) -> None:
    facts = replace(FACTS, origin=origin)  # type: ignore[arg-type]
    decision = port_out(facts, PERIOD_END - timedelta(days=45), platform_numbers=False)
    assert decision.code == code
    if code is not None:
        assert (decision.rule, decision.http_status()) == ("N2", 403)


def test_n5_notice_is_a_setting_and_the_refusal_says_how_short() -> None:
    decision = port_out(FACTS, PERIOD_END - timedelta(days=29))
    assert decision.details["days_left"] == 29
    assert decision.details["notice_days"] == 30
    assert port_out(FACTS, PERIOD_END - timedelta(days=10), notice_days=10).allowed
    assert port_out(FACTS, PERIOD_END - timedelta(days=9), notice_days=10).refused


@given(days_before=st.integers(min_value=-400, max_value=400))
def test_n5_notice_boundary_holds_everywhere(days_before: int) -> None:
    decision = port_out(FACTS, PERIOD_END - timedelta(days=days_before))
    assert decision.allowed is (days_before >= 30)
