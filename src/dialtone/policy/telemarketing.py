"""Do-not-call lists, calling hours and artificial voices (TERMS V12).

Three decisions for outbound calls:

- ``do_not_call``: a number on the account's own do-not-call list is never called; a
  number on a national opposition register the operator imported (Bloctel, the US
  National DNC Registry, the Canadian DNCL, the UK TPS) is not called by a telemarketing
  account.
- ``calling_window``: a telemarketing account calls only within the hours the callee's
  country allows, in the callee's local time (the time zone of the number; a number of
  the North American plan is placed by area code, so a US number's state decides).
- ``artificial_voice``: a call with an artificial, prerecorded or AI-generated voice
  needs the callee's prior express written consent.

The hours are data (``PRESETS``), operators may replace them; the defaults follow:
FR décret n° 2022-1313 (weekdays 10:00–13:00 and 14:00–20:00, never on weekends or
public holidays); US 47 CFR 64.1200(c)(1) (8:00–21:00 local time); CA CRTC Unsolicited
Telecommunications Rules (weekdays 9:00–21:30, weekends 10:00–18:00); GB the Direct
Marketing Association's code (8:00–21:00).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.numbering import region_code

WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
EVERY_DAY = frozenset(range(7))
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Window:
    """Calls allowed on ``days`` (0 = Monday) from ``start`` to ``end`` (end excluded)."""

    days: frozenset[int]
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def describe(self) -> str:
        days = ",".join(_DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class CallingHours:
    """A country's telemarketing hours: its windows, its default time zone (for numbers
    the library cannot place) and whether public holidays are excluded."""

    windows: tuple[Window, ...]
    default_zone: str
    no_public_holidays: bool = False

    def describe(self) -> str:
        return _describe(self)


@lru_cache(maxsize=256)
def _describe(hours: CallingHours) -> str:
    text = "; ".join(w.describe() for w in hours.windows)
    return text + (", not on public holidays" if hours.no_public_holidays else "")


PRESETS: Mapping[str, CallingHours] = {
    "FR": CallingHours(
        (
            Window(WEEKDAYS, time(10), time(13)),
            Window(WEEKDAYS, time(14), time(20)),
        ),
        "Europe/Paris",
        no_public_holidays=True,
    ),
    "US": CallingHours((Window(EVERY_DAY, time(8), time(21)),), "America/New_York"),
    "CA": CallingHours(
        (
            Window(WEEKDAYS, time(9), time(21, 30)),
            Window(WEEKEND, time(10), time(18)),
        ),
        "America/Toronto",
    ),
    "GB": CallingHours((Window(EVERY_DAY, time(8), time(21)),), "Europe/London"),
}


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France (Code du travail L3133-1)."""
    easter = _easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(50)]
    return frozenset([date(year, m, d) for m, d in fixed] + movable)


_HOLIDAYS = {"FR": french_public_holidays}


@lru_cache(maxsize=4096)
def _zones_of_prefix(prefix: str) -> tuple[str, ...] | None:
    # The library's zones for one prefix, filtered once (prefixes repeat across numbers).
    zones = TIMEZONE_DATA.get(prefix)
    if zones is None:
        return None
    return tuple(z for z in zones if "/" in z and z != "Etc/Unknown")


def _zones(e164: str) -> tuple[str, ...]:
    """The time zones the library places a number in (by its longest known prefix), or
    () when it cannot place it."""
    digits = e164[1:]
    for size in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        prefix = digits[:size]
        if prefix in TIMEZONE_DATA:
            return _zones_of_prefix(prefix) or ()
    return ()


def local_time(e164: str, now: datetime, default_zone: str = "UTC") -> datetime:
    """``now`` (aware) in the time zone of ``e164`` (the first zone the library places
    the number in; ``default_zone`` when it cannot place it): the recipient's clock for
    TERMS M5's daytime."""
    zones = _zones(e164)
    return now.astimezone(ZoneInfo(zones[0] if zones else default_zone))


def calling_window(
    e164: str, now: datetime, presets: Mapping[str, CallingHours] = PRESETS
) -> Decision:
    """TERMS V12: may a telemarketing call reach ``e164`` at ``now`` (aware)? The hours
    are those of the callee's country, in every time zone the number may be in; a
    country without hours in ``presets`` has no restriction here."""
    region = region_code(e164)
    hours = presets.get(region or "")
    if hours is None:
        return ALLOWED
    holidays = _HOLIDAYS.get(region or "") if hours.no_public_holidays else None
    for zone in _zones(e164) or (hours.default_zone,):
        local = now.astimezone(ZoneInfo(zone))
        holiday = holidays is not None and local.date() in holidays(local.year)
        if holiday or not any(w.contains(local) for w in hours.windows):
            return refuse(
                "calling_window.closed",
                f"telemarketing calls to {region} numbers are allowed {hours.describe()} "
                f"(callee's time); it is {_DAY_NAMES[local.weekday()]} "
                f"{local.hour:02d}:{local.minute:02d} in {zone}"
                + (", a public holiday" if holiday else ""),
                number=e164,
                region=region,
                zone=zone,
                local_time=local.isoformat(" ", "minutes")[:16],
            )
    return ALLOWED


# Where a number on the do-not-call lists comes from: the account's own list, or a
# national opposition register the operator imported.
ACCOUNT_LIST = "account"


def do_not_call(listed_by: str | None, *, telemarketing: bool, number: str) -> Decision:
    """TERMS V12: ``listed_by`` is the list ``number`` is on (None: none). The account's
    own list stops every call; a national register stops telemarketing calls."""
    if listed_by is None:
        return ALLOWED
    if listed_by == ACCOUNT_LIST:
        return refuse(
            "dnc.listed",
            f"{number} is on the account's do-not-call list",
            number=number,
            list=listed_by,
        )
    if telemarketing:
        return refuse(
            "dnc.listed",
            f"{number} is on the {listed_by} do-not-call register",
            number=number,
            list=listed_by,
        )
    return ALLOWED


@dataclass(frozen=True, slots=True)
class VoiceConsent:
    """The callee's written consent to calls with an artificial voice (V12): when it was
    given and, if so, withdrawn."""

    given_at: datetime
    withdrawn_at: datetime | None = None


def artificial_voice(number: str, consent: VoiceConsent | None, now: datetime) -> Decision:
    """TERMS V12: a call with an artificial, prerecorded or AI-generated voice needs the
    callee's prior express written consent, given before ``now`` and not withdrawn."""
    if (
        consent is not None
        and consent.given_at <= now
        and (consent.withdrawn_at is None or consent.withdrawn_at > now)
    ):
        return ALLOWED
    withdrawn = consent is not None and consent.withdrawn_at is not None
    return refuse(
        "ai_voice.consent_missing",
        f"{number} has "
        + ("withdrawn its" if withdrawn else "given no")
        + " written consent to calls with an artificial voice",
        number=number,
    )
