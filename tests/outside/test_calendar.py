"""The booking calendar (outside/calendar.py, TERMS A1, A4): the events read as busy,
the event written, the fake, and the CalDAV adapter against a real Radicale (Debian's
``radicale``, started per test): booked events read back at the right time in the right
zone, busy times refused, and races of two bookers won by one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from caldav.collection import Calendar as DavCollection
from caldav.davclient import DAVClient

from dialtone.outside.calendar import (
    CalDavCalendar,
    CalendarError,
    FakeCalendar,
    SlotTaken,
    busy_of,
    event_ics,
)
from tests.peers.radicale import CalendarAccess, radicale_calendar

PARIS = ZoneInfo("Europe/Paris")


def paris(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def vevent(text: str) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:x\r\nDTSTAMP:20260101T000000Z\r\n{text}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    [event] = cal.walk("VEVENT")
    return event


# -- what an event keeps busy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            "DTSTART:20261103T090000Z\r\nDTEND:20261103T100000Z\r\n",
            (datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 11, 3, 10, tzinfo=UTC)),
            id="utc",
        ),
        pytest.param(
            "DTSTART;TZID=Europe/Paris:20261103T090000\r\nDURATION:PT45M\r\n",
            (paris(9), paris(9, 45)),
            id="duration",
        ),
        pytest.param(
            "DTSTART:20261103T090000\r\nDTEND:20261103T093000\r\n",
            (paris(9), paris(9, 30)),
            id="floating-in-the-calendar-zone",
        ),
        pytest.param(
            "DTSTART;VALUE=DATE:20261103\r\n",
            (paris(0), paris(0, day=4)),
            id="all-day-without-end",
        ),
        pytest.param(
            "DTSTART;VALUE=DATE:20261103\r\nDTEND;VALUE=DATE:20261105\r\n",
            (paris(0), paris(0, day=5)),
            id="two-days",
        ),
        pytest.param(
            "DTSTART:20261103T090000Z\r\n",
            (datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 11, 3, 9, tzinfo=UTC)),
            id="no-end-is-an-instant",
        ),
        pytest.param(
            "DTSTART:20261103T090000Z\r\nDTEND:20261103T100000Z\r\nSTATUS:CANCELLED\r\n",
            None,
            id="cancelled",
        ),
        pytest.param(
            "DTSTART:20261103T090000Z\r\nDTEND:20261103T100000Z\r\nTRANSP:TRANSPARENT\r\n",
            None,
            id="transparent",
        ),
    ],
)
def test_busy_of(lines: str, expected: tuple[datetime, datetime] | None) -> None:
    assert busy_of(vevent(lines), PARIS) == expected


def test_event_ics_carries_the_zone_and_the_label() -> None:
    text = event_ics(
        "u1@dialtone",
        paris(10),
        paris(10, 30),
        summary="[AI-generated] Appointment with Ann",
        description="[AI-generated] booked\nCaller: Ann",
        stamp=datetime(2026, 11, 2, tzinfo=UTC),
    )
    assert "DTSTART;TZID=Europe/Paris:20261103T100000" in text
    assert "DTEND;TZID=Europe/Paris:20261103T103000" in text
    assert "BEGIN:VTIMEZONE" in text
    assert "TZID:Europe/Paris" in text
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["summary"]).startswith("[AI-generated]")
    assert busy_of(event, UTC) == (paris(10), paris(10, 30))


# -- the fake ---------------------------------------------------------------------------


def test_fake_books_refuses_overlap_allows_back_to_back() -> None:
    cal = FakeCalendar()
    uid = cal.book(paris(10), paris(10, 30), "s", "d")
    assert uid in cal.events
    assert cal.busy(paris(0), paris(23)) == [(paris(10), paris(10, 30))]
    with pytest.raises(SlotTaken):
        cal.book(paris(10, 29), paris(11), "s", "d")
    cal.book(paris(10, 30), paris(11), "s", "d")
    cal.book(paris(9, 30), paris(10), "s", "d")
    assert len(cal.events) == 3
    assert cal.busy(paris(11), paris(12)) == []


def test_fake_fails_when_told() -> None:
    cal = FakeCalendar(fail="down")
    with pytest.raises(CalendarError, match="down"):
        cal.busy(paris(0), paris(23))
    with pytest.raises(CalendarError, match="down"):
        cal.book(paris(10), paris(11), "s", "d")


def test_the_password_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(CalDavCalendar("https://cal.example/", "u", "s3cret"))


@pytest.mark.parametrize("cal", [FakeCalendar(), CalDavCalendar("http://127.0.0.1:9/")])
def test_spans_are_checked(cal: FakeCalendar | CalDavCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        cal.busy(datetime(2026, 11, 3, 10), paris(11))
    with pytest.raises(ValueError, match="ends after"):
        cal.book(paris(11), paris(11), "s", "d")


# -- the CalDAV adapter without a server --------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_caldav_unreachable_is_a_calendar_error() -> None:
    cal = CalDavCalendar(f"http://127.0.0.1:{_closed_port()}/agent/bookings/", timeout=2)
    with pytest.raises(CalendarError, match="unreachable"):
        cal.busy(paris(0), paris(23))
    with pytest.raises(CalendarError):
        cal.book(paris(10), paris(11), "s", "d")


def test_caldav_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        cal = CalDavCalendar(f"http://127.0.0.1:{port}/agent/bookings/", timeout=1)
        with pytest.raises(CalendarError):
            cal.busy(paris(0), paris(23))


# -- against Radicale -------------------------------------------------------------------


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CalendarAccess]:
    with radicale_calendar(tmp_path / "radicale") as access:
        yield access


def adapter(access: CalendarAccess) -> CalDavCalendar:
    return CalDavCalendar(access.url, access.username, access.password, zone=PARIS)


def collection(access: CalendarAccess) -> tuple[DAVClient, DavCollection]:
    client = DAVClient(
        url=access.url,
        username=access.username,
        password=access.password,
        timeout=10,
        enable_rfc6764=False,
    )
    return client, DavCollection(client=client, url=access.url)


def someone_elses(access: CalendarAccess, start: datetime, end: datetime, **extra: str) -> None:
    """An event written by another client (a person's calendar app)."""
    client, cal = collection(access)
    with client:
        cal.add_event(dtstart=start, dtend=end, summary="dentist", **extra)


def events(access: CalendarAccess) -> list[icalendar.Event]:
    client, cal = collection(access)
    with client:
        return [e.icalendar_component for e in cal.get_events()]


@pytest.mark.interop
def test_radicale_booked_event_reads_back_in_its_zone(radicale: CalendarAccess) -> None:
    cal = adapter(radicale)
    assert cal.busy(paris(0), paris(23)) == []
    uid = cal.book(
        paris(10), paris(10, 30), "[AI-generated] Appointment with Ann", "[AI-generated] x"
    )
    [event] = events(radicale)
    assert str(event["uid"]) == uid
    start, end = event["dtstart"].dt, event["dtend"].dt
    assert (start, end) == (paris(10), paris(10, 30))
    assert str(start.tzinfo) == "Europe/Paris"
    assert start.utcoffset() == timedelta(hours=1)
    assert str(event["summary"]) == "[AI-generated] Appointment with Ann"
    assert cal.busy(paris(0), paris(23)) == [(paris(10), paris(10, 30))]
    # Read back through another client too: the raw resource names its zone.
    client, dav = collection(radicale)
    with client:
        [obj] = dav.get_events()
        assert "TZID=Europe/Paris" in obj.data
        assert "BEGIN:VTIMEZONE" in obj.data


@pytest.mark.interop
def test_radicale_busy_is_refused_back_to_back_is_not(radicale: CalendarAccess) -> None:
    someone_elses(radicale, paris(11), paris(12))
    cal = adapter(radicale)
    assert cal.busy(paris(0), paris(23)) == [(paris(11), paris(12))]
    with pytest.raises(SlotTaken):
        cal.book(paris(11, 59), paris(12, 29), "s", "d")
    with pytest.raises(SlotTaken):
        cal.book(paris(10, 31), paris(11, 1), "s", "d")
    cal.book(paris(12), paris(12, 30), "s", "d")
    cal.book(paris(10, 30), paris(11), "s", "d")
    assert len(events(radicale)) == 3


@pytest.mark.interop
def test_radicale_recurring_and_all_day_events_are_busy(radicale: CalendarAccess) -> None:
    someone_elses(radicale, paris(9), paris(10), rrule={"FREQ": "WEEKLY"})  # type: ignore[arg-type]
    client, cal = collection(radicale)
    with client:
        cal.add_event(dtstart=date(2026, 11, 5), dtend=date(2026, 11, 6), summary="off")
    booking = adapter(radicale)
    # The Tuesday three weeks on.
    assert booking.busy(paris(0, day=24), paris(23, day=24)) == [
        (paris(9, day=24), paris(10, day=24))
    ]
    with pytest.raises(SlotTaken):
        booking.book(paris(9, 30, day=17), paris(10, day=17), "s", "d")
    with pytest.raises(SlotTaken):
        booking.book(paris(15, day=5), paris(15, 30, day=5), "s", "d")


def race(access: CalendarAccess, starts: tuple[datetime, ...]) -> list[str]:
    """Book 30 minutes from each of ``starts`` at once, one thread and adapter each;
    each booker's UID or ``"taken"``."""
    barrier = threading.Barrier(len(starts))
    outcomes: list[str] = []

    def book(start: datetime) -> None:
        cal = adapter(access)
        barrier.wait()
        try:
            outcomes.append(cal.book(start, start + timedelta(minutes=30), "s", "d"))
        except SlotTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=book, args=(start,)) for start in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == len(starts)
    return outcomes


@pytest.mark.interop
def test_radicale_race_for_one_slot_has_one_winner(radicale: CalendarAccess) -> None:
    for hour in (9, 10, 11, 12):
        outcomes = race(radicale, (paris(hour), paris(hour)))
        assert sorted(o == "taken" for o in outcomes) == [False, True], outcomes
    starts = sorted(e["dtstart"].dt for e in events(radicale))
    assert starts == [paris(9), paris(10), paris(11), paris(12)]


@pytest.mark.interop
def test_radicale_overlapping_race_never_keeps_both(radicale: CalendarAccess) -> None:
    outcomes = race(radicale, (paris(10), paris(10, 15)))
    kept = [o for o in outcomes if o != "taken"]
    assert len(kept) <= 1
    assert len(events(radicale)) == len(kept)


@pytest.mark.interop
def test_radicale_write_meanwhile_withdraws_ours(radicale: CalendarAccess) -> None:
    """Someone books an overlapping time between our check and our write: ours is
    withdrawn and the slot reported taken."""

    class Interrupted(CalDavCalendar):
        @staticmethod
        def _put(client: DAVClient, href: str, body: str) -> int:
            someone_elses(radicale, paris(10, 15), paris(10, 45))
            return CalDavCalendar._put(client, href, body)

    cal = Interrupted(radicale.url, radicale.username, radicale.password, zone=PARIS)
    with pytest.raises(SlotTaken, match="meanwhile"):
        cal.book(paris(10), paris(10, 30), "s", "d")
    [left] = events(radicale)
    assert str(left["summary"]) == "dentist"


@pytest.mark.interop
def test_radicale_moved_event_does_not_block_its_old_start(radicale: CalendarAccess) -> None:
    cal = adapter(radicale)
    cal.book(paris(10), paris(10, 30), "first", "d")
    # A person moves the event to the afternoon in their calendar client: its resource
    # keeps the name of its first start.
    client, dav = collection(radicale)
    with client:
        [obj] = dav.get_events()
        obj.icalendar_component["dtstart"].dt = paris(15)
        obj.icalendar_component["dtend"].dt = paris(15, 30)
        obj.save()
    uid = cal.book(paris(10), paris(10, 30), "second", "d")
    assert sorted(e["dtstart"].dt for e in events(radicale)) == [paris(10), paris(15)]
    assert uid in {str(e["uid"]) for e in events(radicale)}
    # The second went to a resource of its own, the name of the start taken.
    with client:
        names = sorted(str(o.url).rsplit("/", 1)[-1] for o in dav.get_events())
    assert "dialtone-20261103T090000Z.ics" in names
    [other] = [n for n in names if n != "dialtone-20261103T090000Z.ics"]
    assert other.startswith("dialtone-20261103T090000Z-")


@pytest.mark.interop
def test_radicale_wrong_password_is_a_calendar_error(radicale: CalendarAccess) -> None:
    cal = CalDavCalendar(radicale.url, radicale.username, "wrong", zone=PARIS)
    with pytest.raises(CalendarError):
        cal.busy(paris(0), paris(23))
    with pytest.raises(CalendarError):
        cal.book(paris(10), paris(10, 30), "s", "d")
    assert events(radicale) == []


@pytest.mark.interop
def test_radicale_without_authentication(tmp_path: Path) -> None:
    with radicale_calendar(tmp_path / "open", auth=False) as access:
        assert (access.username, access.password) == ("", "")
        cal = CalDavCalendar(access.url, zone=PARIS)
        uid = cal.book(paris(10), paris(10, 30), "s", "d")
        assert [str(e["uid"]) for e in events(access)] == [uid]


@pytest.mark.interop
def test_radicale_stored_event_is_booked_when_the_check_after_fails(
    radicale: CalendarAccess,
) -> None:
    """The read after the write fails: the event stands, so the answer is booked."""

    class FailsAfter(CalDavCalendar):
        reads = 0

        def _events(self, client: DAVClient, start: datetime, end: datetime) -> list[Any]:
            FailsAfter.reads += 1
            if FailsAfter.reads > 1:
                raise OSError("connection reset")
            return super()._events(client, start, end)

    cal = FailsAfter(radicale.url, radicale.username, radicale.password, zone=PARIS)
    uid = cal.book(paris(10), paris(10, 30), "s", "d")
    assert [str(e["uid"]) for e in events(radicale)] == [uid]
