"""The agent's BookAppointment carried out (runtime/agent_booking.py, TERMS A1, A4):
closed, past and taken times answered with the nearest free starts, calendar failures
and slowness with an error, the event labelled AI-generated; and once end to end
against a real Radicale."""

from __future__ import annotations

import asyncio
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from caldav.collection import Calendar as DavCollection
from caldav.davclient import DAVClient

from dialtone.agents.profile import AgentProfile, CalendarRef, OpenHours
from dialtone.agents.turns import AI_LABEL, BookAppointment, Booked, NotBooked
from dialtone.outside.calendar import CalDavCalendar, FakeCalendar
from dialtone.runtime.agent_booking import book_appointment, calendar_for
from tests.peers.radicale import CalendarAccess, radicale_calendar

PARIS = ZoneInfo("Europe/Paris")
HOURS = tuple(OpenHours(day, time(9), time(17)) for day in range(5))
PROFILE = AgentProfile(
    id="ag1",
    account_id="acc1",
    name="Clara",
    hours=HOURS,
    timezone="Europe/Paris",
    appointment_minutes=30,
)
# Monday 2026-11-02, 12:00 in Paris.
NOW = datetime(2026, 11, 2, 12, tzinfo=PARIS)


def paris(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def book(
    calendar: object, act: BookAppointment, *, profile: AgentProfile = PROFILE, **kw: object
) -> Booked | NotBooked:
    return asyncio.run(book_appointment(calendar, profile, act, NOW, **kw))  # type: ignore[arg-type]


def test_free_time_is_booked_and_labelled() -> None:
    cal = FakeCalendar()
    act = BookAppointment(paris(10), 30, caller_name="Ann Martin", note="a check-up")
    assert book(cal, act, caller_number="+33612345678") == Booked(paris(10), 30)
    [(start, end, summary, description)] = cal.events.values()
    assert (start, end) == (paris(10), paris(10, 30))
    assert summary.startswith(AI_LABEL)
    assert "Ann Martin" in summary
    assert "Clara" in summary
    assert description.startswith(AI_LABEL)
    assert "AI receptionist" in description
    assert "Caller: Ann Martin" in description
    assert "+33612345678" in description
    assert "About: a check-up" in description
    assert cal.calls == ["book"]


def test_the_profile_length_when_the_act_has_none() -> None:
    cal = FakeCalendar()
    profile = AgentProfile(
        id="a",
        account_id="b",
        name="C",
        hours=HOURS,
        timezone="Europe/Paris",
        appointment_minutes=45,
    )
    assert book(cal, BookAppointment(paris(10), 0), profile=profile) == Booked(paris(10), 45)


def test_a_start_in_utc_is_booked_in_the_business_zone() -> None:
    cal = FakeCalendar()
    result = book(cal, BookAppointment(datetime(2026, 11, 3, 9, tzinfo=UTC), 30))
    assert result == Booked(paris(10), 30)
    assert isinstance(result, Booked)
    assert result.start.tzinfo == PARIS


def test_a_naive_start_is_read_in_the_profile_zone() -> None:
    cal = FakeCalendar()
    assert book(cal, BookAppointment(datetime(2026, 11, 3, 10), 30)) == Booked(paris(10), 30)


@pytest.mark.parametrize(
    ("wanted", "alternatives"),
    [
        pytest.param(paris(8), (paris(9), paris(9, 30), paris(10)), id="before-opening"),
        pytest.param(
            paris(16, 45), (paris(15, 30), paris(16), paris(16, 30)), id="ends-after-closing"
        ),
        pytest.param(
            paris(10, day=7),
            (paris(15, 30, day=6), paris(16, day=6), paris(16, 30, day=6)),
            id="saturday",
        ),
        pytest.param(
            paris(10, day=1) - timedelta(days=30),
            (paris(12, day=2), paris(12, 30, day=2), paris(13, day=2)),
            id="a-month-ago",
        ),
        pytest.param(
            paris(10, day=2),
            (paris(12, day=2), paris(12, 30, day=2), paris(13, day=2)),
            id="in-the-past",
        ),
    ],
)
def test_closed_or_past_offers_the_nearest_free_starts_without_writing(
    wanted: datetime, alternatives: tuple[datetime, ...]
) -> None:
    cal = FakeCalendar()
    assert book(cal, BookAppointment(wanted, 30)) == NotBooked(wanted, alternatives)
    assert cal.events == {}
    assert cal.calls == ["busy"]


def test_taken_offers_the_nearest_free_starts() -> None:
    cal = FakeCalendar()
    cal.add_busy(paris(10), paris(11))
    result = book(cal, BookAppointment(paris(10, 30), 30))
    assert result == NotBooked(paris(10, 30), (paris(9, 30), paris(11), paris(11, 30)))
    assert cal.calls == ["book", "busy"]
    assert len(cal.events) == 1


def test_calendar_error_is_not_booked_with_the_error() -> None:
    cal = FakeCalendar(fail="calendar unreachable: refused")
    result = book(cal, BookAppointment(paris(10), 30))
    assert result == NotBooked(paris(10), error="calendar unreachable: refused")
    result = book(cal, BookAppointment(paris(8), 30))
    assert isinstance(result, NotBooked)
    assert result.error == "calendar unreachable: refused"


@dataclass
class SlowCalendar:
    seconds: float
    calls: list[str] = field(default_factory=list)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        clock.sleep(self.seconds)
        return []

    def book(self, start: datetime, end: datetime, summary: str, description: str) -> str:
        clock.sleep(self.seconds)
        return "late"


def test_a_slow_calendar_times_out() -> None:
    began = clock.monotonic()
    result = book(SlowCalendar(1.0), BookAppointment(paris(10), 30), timeout=0.2)
    assert isinstance(result, NotBooked)
    assert result.error is not None
    assert "0.2 s" in result.error
    assert clock.monotonic() - began < 0.9 + 0.5  # the answer did not wait for the thread


def test_no_calendar_or_no_timezone_is_an_error() -> None:
    result = book(None, BookAppointment(paris(10), 30))
    assert result == NotBooked(paris(10), error="no booking calendar")
    broken = AgentProfile(id="a", account_id="b", name="C", hours=HOURS, timezone="Mars/Olympus")
    result = book(FakeCalendar(), BookAppointment(paris(10), 30), profile=broken)
    assert isinstance(result, NotBooked)
    assert result.error is not None
    assert "timezone" in result.error


def test_calendar_for() -> None:
    assert calendar_for(None) is None
    assert calendar_for(CalendarRef(url="  ")) is None
    cal = calendar_for(CalendarRef("https://cal.example/u/bookings/", "u", "p"), "Europe/Paris")
    assert isinstance(cal, CalDavCalendar)
    assert (cal.url, cal.username, cal.password, cal.zone) == (
        "https://cal.example/u/bookings/",
        "u",
        "p",
        PARIS,
    )
    assert isinstance(calendar_for(CalendarRef("https://x/"), "Not/AZone"), CalDavCalendar)


# -- end to end against Radicale -----------------------------------------------------------


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CalendarAccess]:
    with radicale_calendar(tmp_path / "radicale") as access:
        yield access


@pytest.mark.interop
def test_radicale_booking_then_the_same_time_again(radicale: CalendarAccess) -> None:
    cal = calendar_for(
        CalendarRef(radicale.url, radicale.username, radicale.password), PROFILE.timezone
    )
    act = BookAppointment(paris(10), 30, caller_name="Ann")
    assert book(cal, act) == Booked(paris(10), 30)
    again = book(cal, BookAppointment(paris(10), 30, caller_name="Bob"))
    # Ties (09:30 and 10:30, then 09:00 and 11:00) go to the earlier.
    assert again == NotBooked(paris(10), (paris(9), paris(9, 30), paris(10, 30)))
    client = DAVClient(
        url=radicale.url,
        username=radicale.username,
        password=radicale.password,
        enable_rfc6764=False,
    )
    with client:
        [obj] = DavCollection(client=client, url=radicale.url).get_events()
        event: icalendar.Event = obj.icalendar_component
    assert event["dtstart"].dt == paris(10)
    assert str(event["dtstart"].dt.tzinfo) == "Europe/Paris"
    assert event["dtend"].dt - event["dtstart"].dt == timedelta(minutes=30)
    assert str(event["summary"]).startswith(AI_LABEL)
    assert "Ann" in str(event["summary"])
