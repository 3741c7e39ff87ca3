"""The agent's ``BookAppointment`` carried out (TERMS A1: it books appointments within
business hours and free time; A4: what it writes is labelled AI-generated).

``book_appointment`` answers the dialog with ``Booked`` or ``NotBooked``: a time outside
the profile's hours (or past) is refused with the nearest free starts, without writing;
otherwise the calendar books it, refusing a time already taken (then the nearest free
starts are offered too); a calendar that fails or is slow gives ``NotBooked(error=...)``.
The blocking CalDAV adapter runs in a worker thread under a timeout.

A booking that times out may still land after the caller was told it did not (the thread
cannot be stopped mid-request): the adapter's own HTTP timeout bounds each request, and
the event carries the AI label and the caller so staff can tell it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialtone.agents.profile import AgentProfile, CalendarRef
from dialtone.agents.slots import free_starts, refusal
from dialtone.agents.turns import AI_LABEL, BookAppointment, Booked, NotBooked
from dialtone.outside.calendar import (
    DEFAULT_TIMEOUT_SECONDS,
    CalDavCalendar,
    Calendar,
    CalendarError,
    SlotTaken,
)

log = logging.getLogger("dialtone.agent_booking")

T = TypeVar("T")

# The caller is waiting on the line: past this the agent says the calendar did not answer.
DEFAULT_BOOKING_TIMEOUT = 8.0
# How far either side of the wanted time the alternatives are looked for.
ALTERNATIVES_HORIZON_DAYS = 7
ALTERNATIVES = 3


def calendar_for(ref: CalendarRef | None, timezone: str = "UTC") -> Calendar | None:
    """The profile's booking calendar: CalDAV when ``ref`` has a URL, else None (the
    agent then cannot book). ``timezone`` (the profile's) places all-day events."""
    if ref is None or not ref.url.strip():
        return None
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return CalDavCalendar(
        url=ref.url.strip(),
        username=ref.username,
        password=ref.password,
        timeout=DEFAULT_TIMEOUT_SECONDS,
        zone=zone,
    )


def summary_of(profile: AgentProfile, act: BookAppointment) -> str:
    """The event's title: labelled (A4), with who booked it."""
    who = act.caller_name.strip() or "caller"
    return f"{AI_LABEL} Appointment with {who} (booked by {profile.name}, AI receptionist)"


def description_of(profile: AgentProfile, act: BookAppointment, caller_number: str) -> str:
    """The event's notes: labelled (A4), the caller, what they said it is about."""
    lines = [
        f"{AI_LABEL} Booked during a phone call by {profile.name}, an AI receptionist; "
        "check the details with the caller if in doubt.",
    ]
    if act.caller_name.strip():
        lines.append(f"Caller: {act.caller_name.strip()}")
    if caller_number:
        lines.append(f"Caller's number: {caller_number}")
    if act.note.strip():
        lines.append(f"About: {act.note.strip()}")
    return "\n".join(lines)


async def _in_thread(call: Callable[[], T], timeout: float) -> T:
    try:
        return await asyncio.wait_for(asyncio.to_thread(call), timeout)
    except TimeoutError as exc:
        raise CalendarError(f"calendar did not answer within {timeout:g} s") from exc


async def _alternatives(
    calendar: Calendar,
    profile: AgentProfile,
    zone: ZoneInfo,
    wanted: datetime,
    *,
    minutes: int,
    now: datetime,
    timeout: float,
) -> tuple[datetime, ...]:
    # A time already past is answered with the nearest times from now.
    around = max(wanted, now)
    horizon = timedelta(days=ALTERNATIVES_HORIZON_DAYS + 1)
    start = max(now, around - horizon)
    end = around + horizon
    busy = await _in_thread(lambda: calendar.busy(start, end), timeout)
    return free_starts(
        profile.hours,
        zone,
        busy,
        around=around,
        minutes=minutes,
        now=now,
        count=ALTERNATIVES,
        horizon_days=ALTERNATIVES_HORIZON_DAYS,
    )


async def book_appointment(
    calendar: Calendar | None,
    profile: AgentProfile,
    act: BookAppointment,
    now: datetime,
    *,
    caller_number: str = "",
    timeout: float = DEFAULT_BOOKING_TIMEOUT,
) -> Booked | NotBooked:
    """Book ``act`` in ``calendar`` if it lies within ``profile.hours`` and is free (A1);
    ``Booked``, or ``NotBooked`` with the nearest free starts (closed, past or taken) or
    with ``error`` (the calendar failed or was slower than ``timeout``). The event's title
    and notes are labelled AI-generated (A4). A naive ``act.start`` is read in the
    profile's timezone. No calendar (``calendar_for`` gave None): ``NotBooked(error=...)``."""
    if calendar is None:
        return NotBooked(act.start, error="no booking calendar")
    try:
        zone = ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return NotBooked(act.start, error=f"unknown timezone {profile.timezone!r}")
    start = act.start if act.start.tzinfo is not None else act.start.replace(tzinfo=zone)
    start = start.astimezone(zone)
    minutes = act.minutes if act.minutes > 0 else profile.appointment_minutes
    end = (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(zone)

    # Hours and the past need no calendar: only a time that could be booked is written.
    reason = refusal(profile.hours, zone, (), start, minutes=minutes, now=now)
    if reason is None:
        summary = summary_of(profile, act)
        description = description_of(profile, act, caller_number)
        try:
            uid = await _in_thread(lambda: calendar.book(start, end, summary, description), timeout)
        except SlotTaken:
            reason = "busy"
        except CalendarError as exc:
            log.warning("agent %s: booking %s failed: %s", profile.id, start.isoformat(), exc)
            return NotBooked(start, error=str(exc))
        else:
            log.info("agent %s: booked %s (%s)", profile.id, start.isoformat(), uid)
            return Booked(start=start, minutes=minutes)
    try:
        found = await _alternatives(
            calendar, profile, zone, start, minutes=minutes, now=now, timeout=timeout
        )
    except CalendarError as exc:
        log.warning("agent %s: no alternatives to %s: %s", profile.id, start.isoformat(), exc)
        return NotBooked(start, error=str(exc))
    return NotBooked(start, alternatives=found)
