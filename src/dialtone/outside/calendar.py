"""The agent's booking calendar (TERMS A1: it books appointments): one small interface, a
real adapter and a fake.

- ``Calendar``: ``busy(start, end)`` (the busy intervals overlapping a span) and
  ``book(start, end, summary, description)`` (an event; its UID back).
- ``CalDavCalendar`` speaks CalDAV (RFC 4791) to one calendar collection through the
  maintained ``caldav`` client. It is synchronous and blocking (the runtime calls it in a
  thread) and every request has a timeout.
- ``FakeCalendar`` keeps events in memory, for tests and demos.

Booking is safe against a race with another booker (another call, another process, a
person in their calendar client): the calendar is read again right before the write, the
event is PUT with ``If-None-Match: *`` to a resource named by its start (so two bookings
of the same start cannot both be stored: the server refuses the second), under a fresh
UID, and read once more after the write; if something else now overlaps it, the event is
withdrawn and the slot reported taken. Two overlapping bookings of *different* starts
written at the same moment may then both withdraw: never both kept.

Errors are ``CalendarError`` (unreachable, refused, unreadable); a slot that is not free
is ``SlotTaken``, a ``CalendarError`` too.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Imported where used: caldav and its HTTP stack take half a second to load, paid
    # only by a process whose agent books.
    from caldav.davclient import DAVClient

Interval = tuple[datetime, datetime]

# Our events' product identifier (RFC 5545 PRODID).
PRODID = "-//dialtone//AI receptionist booking//EN"
DEFAULT_TIMEOUT_SECONDS = 10.0
# A booking's start in the name of its resource: UTC, second precision.
_SLOT_NAME = "dialtone-%Y%m%dT%H%M%SZ"


class CalendarError(Exception):
    """The calendar could not be read or written; the appointment is not booked."""


class SlotTaken(CalendarError):
    """The wanted time is not free (found busy before the write, or taken meanwhile)."""


class Calendar(Protocol):
    """A booking calendar (A1). Times are timezone-aware."""

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """The busy intervals overlapping ``[start, end)``, sorted."""
        ...

    def book(self, start: datetime, end: datetime, summary: str, description: str) -> str:
        """Store an event ``[start, end)`` if that time is free; its UID. ``summary`` and
        ``description`` carry the caller and the AI label (A4). Raises ``SlotTaken``."""
        ...


def _check_span(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    if end <= start:
        raise ValueError(f"an event ends after it starts: {start} .. {end}")


def _overlapping(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return sorted((s, e) for s, e in intervals if s < end and start < e)


@dataclass(frozen=True, slots=True)
class _Busy:
    uid: str
    start: datetime
    end: datetime


def _as_aware(value: datetime | date, zone: tzinfo) -> datetime:
    # All-day dates and floating times belong to the calendar's own zone (RFC 5545 3.3.4,
    # 3.3.5): the business's, where the day begins at its midnight.
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime(value.year, value.month, value.day, tzinfo=zone)


def busy_of(component: Any, zone: tzinfo) -> Interval | None:
    """The interval one VEVENT keeps busy, or None when it keeps none (cancelled,
    transparent, or without a start)."""
    if str(component.get("status", "")).upper() == "CANCELLED":
        return None
    if str(component.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    dtstart = component.get("dtstart")
    if dtstart is None:
        return None
    raw_start = dtstart.dt
    start = _as_aware(raw_start, zone)
    if component.get("dtend") is not None:
        end = _as_aware(component.get("dtend").dt, zone)
    elif component.get("duration") is not None:
        end = start + component.get("duration").dt
    elif not isinstance(raw_start, datetime):
        end = start + timedelta(days=1)  # an all-day event without an end: that day
    else:
        end = start  # RFC 5545 3.6.1: it ends when it starts
    return start, end


def event_ics(
    uid: str, start: datetime, end: datetime, *, summary: str, description: str, stamp: datetime
) -> str:
    """One VCALENDAR holding our VEVENT, with the VTIMEZONE of the start's zone so a
    client shows the appointment in the business's local time."""
    import icalendar  # noqa: PLC0415 (see the imports)

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end.astimezone(start.tzinfo))
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    cal.add_missing_timezones()
    text: str = cal.to_ical().decode()
    return text


def _failure(what: str, exc: Exception) -> CalendarError:
    from caldav.lib.error import DAVError  # noqa: PLC0415 (see the imports)

    if isinstance(exc, DAVError):  # the server answered, with an error
        return CalendarError(f"{what}: {exc}")
    return CalendarError(f"calendar unreachable: {type(exc).__name__}: {exc}")


@dataclass
class CalDavCalendar:
    """One CalDAV calendar collection (``url`` ends with the collection's slash).
    ``zone`` places all-day and floating events (the profile's timezone)."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    zone: tzinfo = UTC

    def _client(self) -> DAVClient:
        # A client per operation: the runtime calls from worker threads, and a booking is
        # rare enough that a connection per call costs nothing that matters.
        from caldav.davclient import DAVClient  # noqa: PLC0415 (see the imports)

        return DAVClient(
            url=self.url,
            username=self.username or None,
            password=self.password or None,
            timeout=max(1, math.ceil(self.timeout)),
            enable_rfc6764=False,
        )

    def _collection(self) -> str:
        return self.url if self.url.endswith("/") else self.url + "/"

    def _events(self, client: DAVClient, start: datetime, end: datetime) -> list[_Busy]:
        from caldav.collection import Calendar as DavCollection  # noqa: PLC0415

        collection = DavCollection(client=client, url=self._collection())
        found: Any = collection.search(start=start, end=end, event=True, expand=True)
        # The same method serves the library's async client; ours is the sync one.
        assert isinstance(found, list)
        out: list[_Busy] = []
        for obj in found:
            component = obj.icalendar_component
            interval = busy_of(component, self.zone)
            if interval is not None and interval[0] < end and start < interval[1]:
                out.append(_Busy(str(component.get("uid", "")), *interval))
        return out

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        """The busy intervals overlapping ``[start, end)`` (recurrences expanded)."""
        _check_span(start, end)
        try:
            with self._client() as client:
                return sorted((b.start, b.end) for b in self._events(client, start, end))
        except Exception as exc:  # the library's errors, the network's, timeouts
            raise _failure("calendar unreadable", exc) from exc

    def book(self, start: datetime, end: datetime, summary: str, description: str) -> str:
        """Store the event if ``[start, end)`` is free (see the module's race rules)."""
        _check_span(start, end)
        try:
            with self._client() as client:
                return self._book(client, start, end, summary, description)
        except CalendarError:
            raise
        except Exception as exc:
            raise _failure("calendar refused the booking", exc) from exc

    def _book(
        self, client: DAVClient, start: datetime, end: datetime, summary: str, desc: str
    ) -> str:
        if self._events(client, start, end):
            raise SlotTaken(f"{start.isoformat()} is not free")
        uid = f"{uuid.uuid4()}@dialtone"
        body = event_ics(
            uid, start, end, summary=summary, description=desc, stamp=datetime.now(UTC)
        )
        name = start.astimezone(UTC).strftime(_SLOT_NAME)
        href = self._collection() + name + ".ics"
        status = self._put(client, href, body)
        if status == 412:
            # A resource of that start exists: a booking of the same start won the race,
            # or an event once booked there was moved. Only the second leaves it free.
            if self._events(client, start, end):
                raise SlotTaken(f"{start.isoformat()} was taken meanwhile")
            href = self._collection() + f"{name}-{uid.split('@', maxsplit=1)[0]}.ics"
            status = self._put(client, href, body)
        if status not in (200, 201, 204):
            raise CalendarError(f"calendar refused the booking: HTTP {status}")
        try:
            others = [b for b in self._events(client, start, end) if b.uid != uid]
        except Exception:
            # The event is stored and the time was free just before: say so, rather than
            # tell the caller it failed while it stands in the calendar.
            return uid
        if others:
            withdrawn = client.delete(href)
            if int(withdrawn.status) not in (200, 204, 404):
                raise CalendarError(
                    f"{start.isoformat()} was taken meanwhile and our event at {href} "
                    f"could not be withdrawn: HTTP {withdrawn.status}"
                )
            raise SlotTaken(f"{start.isoformat()} was taken meanwhile")
        return uid

    @staticmethod
    def _put(client: DAVClient, href: str, body: str) -> int:
        response = client.put(
            href,
            body,
            {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"},
        )
        return int(response.status)


@dataclass
class FakeCalendar:
    """Events in memory (the same rules: busy is refused, back-to-back is not).
    ``fail`` makes every call raise ``CalendarError`` with that text."""

    events: dict[str, tuple[datetime, datetime, str, str]] = field(default_factory=dict)
    fail: str | None = None
    calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_busy(self, start: datetime, end: datetime, summary: str = "busy") -> str:
        """Put an event in directly (someone else's appointment); its UID."""
        uid = f"{uuid.uuid4()}@fake"
        self.events[uid] = (start, end, summary, "")
        return uid

    def busy(self, start: datetime, end: datetime) -> list[Interval]:
        _check_span(start, end)
        self.calls.append("busy")
        if self.fail is not None:
            raise CalendarError(self.fail)
        return _overlapping(((s, e) for s, e, _, _ in self.events.values()), start, end)

    def book(self, start: datetime, end: datetime, summary: str, description: str) -> str:
        _check_span(start, end)
        self.calls.append("book")
        if self.fail is not None:
            raise CalendarError(self.fail)
        with self._lock:
            if _overlapping(((s, e) for s, e, _, _ in self.events.values()), start, end):
                raise SlotTaken(f"{start.isoformat()} is not free")
            uid = f"{uuid.uuid4()}@fake"
            self.events[uid] = (start, end, summary, description)
            return uid
