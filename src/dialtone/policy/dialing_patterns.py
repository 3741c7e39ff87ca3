"""Dialing patterns a person does not make (TERMS F3, F4 and V3).

- F4: no autodialing, predictive or sequential dialing. ``autodialing`` looks at an
  account's (or a user's) outbound call attempts for three signs of a machine: a run of
  numbers that step through a block (+33612345600, …601, …602), more attempts per user
  in a short window than a person can dial, and more attempts at once per user than a
  person holds.
- F3: normal use is the calling pattern of at least 95 % of business customers on the
  same plan. ``redial_pattern`` finds excessive hang-up-and-redial (the same number
  dialled again right after a short or unanswered attempt, too many times in a day);
  ``outside_normal_use`` compares any metric of an account with the same metric for
  every account on its plan (above the 95th percentile, nearest-rank: outside).
- V3: a user account is used by its user only: no PBX, switchboard, autodialer or
  call-centre trunk behind a user. ``shared_or_pbx`` reads a user's current
  registrations: a User-Agent naming a PBX, dialer or switch, or more source addresses
  at once than one person's devices.

The terms give no numbers for F3's redials, F4 or V3; every threshold is a keyword
argument whose default is a module constant, with the reason for its value beside it.
F5 decides what happens once abuse is found (``fraud.sanction``).

"Within" a window means inclusively: two attempts 60 s apart are within 60 s of each
other. Times must be timezone-aware: a naive time would need the host's local zone,
which a pure check does not read.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_CEILING, Decimal
from typing import Literal

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.fraud import SHORT_CALL_SECONDS, is_short_call

# F4 sequential dialing. Ten numbers of one block in a row is a list being worked
# through: people call contacts, not consecutive numbers, and a company's numbers tried
# one after the other (its direct lines) rarely reach ten. An hour keeps a dialer paced
# slowly enough to pass the pace check in view, and a step of 1 is "incrementing the
# last digits"; an operator who sees dialers skip scrubbed numbers widens the step.
SEQUENTIAL_RUN = 10
SEQUENTIAL_WINDOW = timedelta(hours=1)
SEQUENTIAL_STEP = 1

# F4 predictive pace: dialling a number, hearing it ring or fail and hanging up takes a
# person several seconds; more than 20 attempts in one minute (one every 3 s for a
# whole minute) is a machine's pace, not a busy salesperson's.
PACE_ATTEMPTS = 20
PACE_WINDOW = timedelta(seconds=60)

# F4 concurrent attempts: a person holds a call, one on hold and a consultation or
# conference leg, three at once. A predictive dialer launches more calls than it has
# agents, so more than three attempts of one user in progress at once is a dialer.
CONCURRENT_ATTEMPTS = 3

# F3 hang-up-and-redial: 30 s is the time to redial by hand after a call that failed or
# was cut; a person trying a busy line does that a few times, not more than 5 times a
# day to one number. A short call is F1's (under 15 s), so the two rules agree.
REDIAL_WITHIN = timedelta(seconds=30)
REDIALS_PER_DAY = 5

# F3 normal use: "the calling pattern of at least 95 % of business customers on the same
# plan"; above the plan's 95th percentile is outside it.
NORMAL_USE_PERCENTILE = Decimal(95)

# V3: User-Agent substrings (matched case-insensitively) of PBXs, dialers and switches.
# Operators edit this list (pass ``agents=``). Bare vendor names that also make phones
# are avoided: "Grandstream GXP2170" is a desk phone, "Grandstream UCM6302" a PBX; the
# free "3CXPhone" softphone is a phone, "3CXPhoneSystem" the 3CX PBX; FreePBX announces
# itself as "FPBX-<version>" by default. Issabel, Elastix, VICIdial and GoAutoDial are
# Asterisk inside, but some builds rename the User-Agent.
PBX_USER_AGENTS: tuple[str, ...] = (
    "Asterisk",
    "FreeSWITCH",
    "FreePBX",
    "FPBX-",
    "3CXPhoneSystem",
    "Kamailio",
    "OpenSIPS",
    "Yeastar",
    "MyPBX",
    "Grandstream UCM",
    "Issabel",
    "Elastix",
    "VICIdial",
    "GoAutoDial",
    "Wazo",
    "Cisco-CUCM",
)

# V3: one person's devices at once: a desk phone, a softphone and the mobile app, each
# possibly on its own network. A roaming phone's old binding counts until it expires,
# which is why the limit is not lower.
MAX_SOURCE_ADDRESSES = 3

_E164 = re.compile(r"\+([0-9]{1,15})")

PatternKind = Literal["sequential", "pace", "concurrent"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One outbound call attempt: when it started, the E.164 number dialled, how long it
    lasted (talk time when answered; 0, or the ringing time, when not), whether it was
    answered, and the user who placed it (None: the account itself, e.g. its API)."""

    at: datetime
    to: str
    duration_seconds: Decimal
    answered: bool
    user_id: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("an attempt's time must be timezone-aware")
        if self.duration_seconds < 0:
            raise ValueError("an attempt cannot last less than zero seconds")

    @property
    def ends(self) -> datetime:
        return self.at + _seconds(self.duration_seconds)


@dataclass(frozen=True, slots=True)
class DialingPattern:
    """An F4 pattern found: its kind, how many attempts make it (for "concurrent", how
    many were in progress at once), the first and last of them, and the user (None for a
    sequential run, which is looked for across the whole account)."""

    kind: PatternKind
    count: int
    first: Attempt
    last: Attempt
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """One current registration of a user: its User-Agent (None: the REGISTER had none),
    the address it came from (an IP; a port, and the registrar's ``transport:host:port``
    form, are accepted and ignored) and its Contact."""

    user_agent: str | None
    source: str
    contact: str


def _seconds(value: Decimal) -> timedelta:
    # Through microseconds, not float: durations stay exact to the microsecond.
    return timedelta(microseconds=int(value * 1_000_000))


def _chronological(attempts: Iterable[Attempt]) -> list[Attempt]:
    # Sorted here rather than required of callers; the sort is stable, so attempts at the
    # same instant keep the order they were given in.
    return sorted(attempts, key=lambda attempt: attempt.at)


def _number(e164: str) -> tuple[int, int] | None:
    """The number as (digit count, value), so that consecutive numbers are consecutive
    integers of one length; None for what is not E.164 (it cannot be in a run)."""
    match = _E164.fullmatch(e164)
    if match is None:
        return None
    digits = match.group(1)
    return len(digits), int(digits)


def sequential_run(
    attempts: Iterable[Attempt],
    *,
    run_length: int = SEQUENTIAL_RUN,
    window: timedelta = SEQUENTIAL_WINDOW,
    max_step: int = SEQUENTIAL_STEP,
) -> DialingPattern | None:
    """F4 sequential dialing: the first time ``run_length`` attempts within ``window``
    step through consecutive numbers, each to the number after the previous one's (up,
    or down, by 1 to ``max_step``; same length). Across the account: a dialer spreading a
    list over several users still works through one list. Other calls in between do not
    break a run, nor does dialling one of its numbers again. The pattern's ``count`` is
    ``run_length`` (the run is reported when it reaches it)."""
    if run_length < 1 or max_step < 1 or window < timedelta(0):
        raise ValueError("run_length and max_step must be at least 1, the window not negative")
    ordered = _chronological(attempts)
    numbers = [_number(attempt.to) for attempt in ordered]
    # Where each number was dialled (positions in ``ordered``, ascending).
    dialled: dict[tuple[int, int], list[int]] = {}
    for index, number in enumerate(numbers):
        if number is None:
            continue
        dialled.setdefault(number, []).append(index)
        for direction in (1, -1):
            first = _run_start(
                ordered,
                numbers,
                dialled,
                index,
                direction=direction,
                run_length=run_length,
                max_step=max_step,
                window=window,
            )
            if first is not None:
                return DialingPattern("sequential", run_length, ordered[first], ordered[index])
    return None


def _run_start(
    ordered: Sequence[Attempt],
    numbers: Sequence[tuple[int, int] | None],
    dialled: dict[tuple[int, int], list[int]],
    last: int,
    *,
    direction: int,
    run_length: int,
    max_step: int,
    window: timedelta,
) -> int | None:
    """The position of the first attempt of a run of ``run_length`` ending with attempt
    ``last`` (going ``direction``), or None when there is none. Walks back one number a
    level. For each earlier number only its latest attempt before the current one is
    followed: any run through an earlier attempt to that number also runs through the
    latest (what preceded the earlier one precedes the latest too), so nothing is missed
    and the levels stay small."""
    cutoff = ordered[last].at - window
    level = [last]
    for _ in range(run_length - 1):
        found: set[int] = set()
        for position in level:
            number = numbers[position]
            if number is None:  # never: only dialled numbers are walked
                continue
            length, value = number
            for step in range(1, max_step + 1):
                earlier = dialled.get((length, value - direction * step))
                if not earlier:
                    continue
                before = bisect_left(earlier, position) - 1
                if before >= 0 and ordered[earlier[before]].at >= cutoff:
                    found.add(earlier[before])
        if not found:
            return None
        level = sorted(found)
    return level[0]


def _by_user(attempts: Iterable[Attempt]) -> dict[str | None, list[Attempt]]:
    users: dict[str | None, list[Attempt]] = {}
    for attempt in _chronological(attempts):
        users.setdefault(attempt.user_id, []).append(attempt)
    return users


def pace_burst(
    attempts: Iterable[Attempt],
    *,
    limit: int = PACE_ATTEMPTS,
    window: timedelta = PACE_WINDOW,
) -> DialingPattern | None:
    """F4 predictive pace: the earliest moment a user (attempts without a user count as
    one caller, the account) has placed more than ``limit`` attempts within ``window``."""
    if window < timedelta(0):
        raise ValueError("the window cannot be negative")
    found: DialingPattern | None = None
    for user, own in _by_user(attempts).items():
        recent: deque[Attempt] = deque()
        for attempt in own:
            recent.append(attempt)
            while attempt.at - recent[0].at > window:
                recent.popleft()
            if len(recent) > limit:
                if found is None or attempt.at < found.last.at:
                    found = DialingPattern("pace", len(recent), recent[0], attempt, user)
                break
    return found


def overlapping_attempts(
    attempts: Iterable[Attempt], *, limit: int = CONCURRENT_ATTEMPTS
) -> DialingPattern | None:
    """F4 concurrent attempts: the earliest moment a user has more than ``limit``
    attempts in progress at once. An attempt is in progress from its start until its
    end, the end excluded (a call placed as the previous one ends is not concurrent with
    it); an attempt lasting 0 s is in progress at its instant, so attempts launched
    together are concurrent even when none of them was answered."""
    found: DialingPattern | None = None
    for user, own in _by_user(attempts).items():
        # (time, order, index, delta): at one instant ends of lasting attempts go first,
        # then starts, then the ends of instant ones.
        events: list[tuple[datetime, int, int, int]] = []
        for index, attempt in enumerate(own):
            instant = attempt.ends == attempt.at  # 0 s, or under a microsecond
            events.append((attempt.at, 1, index, 1))
            events.append((attempt.ends, 2 if instant else 0, index, -1))
        active: dict[int, Attempt] = {}
        for when, _order, index, delta in sorted(events):
            if delta < 0:
                del active[index]
                continue
            active[index] = own[index]
            if len(active) > limit:
                if found is None or when < found.last.at:
                    first = min(active.values(), key=lambda a: a.at)
                    found = DialingPattern("concurrent", len(active), first, own[index], user)
                break
    return found


def autodialing(
    attempts: Iterable[Attempt],
    *,
    run_length: int = SEQUENTIAL_RUN,
    sequential_window: timedelta = SEQUENTIAL_WINDOW,
    max_step: int = SEQUENTIAL_STEP,
    pace_limit: int = PACE_ATTEMPTS,
    pace_window: timedelta = PACE_WINDOW,
    concurrent_limit: int = CONCURRENT_ATTEMPTS,
) -> Decision:
    """F4: refused with ``fair_use.autodialing`` when the attempts show sequential
    dialing, a predictive pace or too many attempts at once (looked for in that order;
    the first found is reported), else allowed. The details name the pattern, how many
    attempts make it, its first and last numbers and times, and its window."""
    attempts = list(attempts)
    sequential = sequential_run(
        attempts, run_length=run_length, window=sequential_window, max_step=max_step
    )
    if sequential is not None:
        return _autodialing(
            sequential,
            f"{sequential.count} calls to consecutive numbers within {_span(sequential_window)}",
            limit=run_length,
            window=sequential_window,
        )
    pace = pace_burst(attempts, limit=pace_limit, window=pace_window)
    if pace is not None:
        return _autodialing(
            pace,
            f"{pace.count} call attempts by one user within {_span(pace_window)} "
            f"(a person dials at most {pace_limit})",
            limit=pace_limit,
            window=pace_window,
        )
    concurrent = overlapping_attempts(attempts, limit=concurrent_limit)
    if concurrent is not None:
        return _autodialing(
            concurrent,
            f"{concurrent.count} call attempts by one user at once "
            f"(a person holds at most {concurrent_limit})",
            limit=concurrent_limit,
            window=None,
        )
    return ALLOWED


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    return f"{seconds // 3600} h" if seconds and not seconds % 3600 else f"{seconds} s"


def _autodialing(
    pattern: DialingPattern, found: str, *, limit: int, window: timedelta | None
) -> Decision:
    return refuse(
        "fair_use.autodialing",
        f"autodialing: {found}; the terms forbid autodialing, predictive and sequential "
        "dialing (TERMS F4)",
        pattern=pattern.kind,
        count=pattern.count,
        limit=limit,
        first_number=pattern.first.to,
        last_number=pattern.last.to,
        first_at=pattern.first.at.isoformat(),
        last_at=pattern.last.at.isoformat(),
        window_seconds=None if window is None else int(window.total_seconds()),
        user_id=pattern.user_id,
    )


def redial_pattern(
    attempts: Iterable[Attempt],
    *,
    within: timedelta = REDIAL_WITHIN,
    limit: int = REDIALS_PER_DAY,
    short_seconds: Decimal = SHORT_CALL_SECONDS,
    zone: tzinfo = UTC,
) -> Decision:
    """F3 excessive hang-up-and-redial. A redial is an attempt to the number the
    account's previous attempt to it went to, started within ``within`` of that attempt's
    end, when that attempt was unanswered or short (F1's short: under ``short_seconds``).
    More than ``limit`` redials of one number on one day (in ``zone``) is refused with
    ``fair_use.redial_pattern``: the number that first went over, with its day's count."""
    previous: dict[str, Attempt] = {}
    counts: dict[tuple[date, str], int] = {}
    first_over: tuple[date, str] | None = None
    for attempt in _chronological(attempts):
        before = previous.get(attempt.to)
        previous[attempt.to] = attempt
        if before is None or attempt.at - before.ends > within:
            continue
        if before.answered and not is_short_call(before.duration_seconds, short_seconds):
            continue
        key = (attempt.at.astimezone(zone).date(), attempt.to)
        counts[key] = counts.get(key, 0) + 1
        if first_over is None and counts[key] > limit:
            first_over = key
    if first_over is None:
        return ALLOWED
    day, number = first_over
    redials = counts[first_over]
    return refuse(
        "fair_use.redial_pattern",
        f"{number} was redialled {redials} times on {day.isoformat()} within "
        f"{int(within.total_seconds())} s of a short or unanswered call (normal use: at most "
        f"{limit}); excessive hang-up-and-redial is outside normal use (TERMS F3)",
        number=number,
        day=day.isoformat(),
        redials=redials,
        limit=limit,
        within_seconds=int(within.total_seconds()),
    )


def nearest_rank(values: Iterable[Decimal], percentile: Decimal) -> Decimal:
    """The ``percentile``-th percentile of ``values`` by the nearest-rank method: sorted
    ascending, the value of rank ⌈percentile / 100 × n⌉ (ranks from 1). It is always one
    of the values, and at least ``percentile`` % of the values are at or under it."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("a percentile needs at least one value")
    if not Decimal(0) < percentile <= Decimal(100):
        raise ValueError("the percentile must be above 0 and at most 100")
    rank = (percentile * len(ordered) / 100).to_integral_value(rounding=ROUND_CEILING)
    return ordered[int(rank) - 1]


def outside_normal_use(
    value: Decimal,
    plan_values: Iterable[Decimal],
    *,
    percentile: Decimal = NORMAL_USE_PERCENTILE,
    metric: str = "",
) -> Decision:
    """F3: an account whose ``metric`` (e.g. redials per day, short calls per user) is
    above the plan's ``percentile``-th percentile (``nearest_rank`` over ``plan_values``,
    the same metric for every account on the plan, this one included) is outside the
    pattern of 95 % of the plan's customers: ``fair_use.outside_normal_use``. At the
    percentile is inside. No values to compare with: allowed. With the account included,
    a plan of fewer than 20 accounts never flags one (its 95th percentile is its maximum)."""
    values = list(plan_values)
    if not values:
        return ALLOWED
    threshold = nearest_rank(values, percentile)
    if value <= threshold:
        return ALLOWED
    name = metric or "the metric"
    return refuse(
        "fair_use.outside_normal_use",
        f"{name} is {value}, above the {percentile}th percentile of the accounts on the "
        f"plan ({threshold}); normal use is the pattern of {percentile} % of them (TERMS F3)",
        metric=metric,
        value=str(value),
        percentile=str(percentile),
        threshold=str(threshold),
        accounts=len(values),
    )


def pbx_agent(user_agent: str | None, agents: Sequence[str] = PBX_USER_AGENTS) -> str | None:
    """V3: the entry of ``agents`` the User-Agent contains (case-insensitively), or None."""
    if not user_agent:
        return None
    folded = user_agent.casefold()
    return next((agent for agent in agents if agent.casefold() in folded), None)


def _host(source: str) -> str:
    """The IP address of a registration's source, normalised (so one address written
    two ways counts once); a source that holds no IP address counts as itself."""
    text = source.strip()
    without_port = text.rsplit(":", 1)[0]
    without_transport = text.split(":", 1)[-1].rsplit(":", 1)[0]
    for candidate in (text, without_port, without_transport):
        try:
            return str(ipaddress.ip_address(candidate.strip("[]")))
        except ValueError:
            continue
    return text.casefold()


def shared_or_pbx(
    registrations: Iterable[Registration],
    *,
    agents: Sequence[str] = PBX_USER_AGENTS,
    max_sources: int = MAX_SOURCE_ADDRESSES,
    user_id: str | None = None,
) -> Decision:
    """V3: one person per user account. Refused with ``access.shared_or_pbx`` when one of
    the user's current registrations comes from a PBX, dialer or switch (its User-Agent
    contains an entry of ``agents``), or when they come from more than ``max_sources``
    IP addresses at once (several phones at one site share its address and count once)."""
    current = list(registrations)
    for registration in current:
        agent = pbx_agent(registration.user_agent, agents)
        if agent is not None:
            return refuse(
                "access.shared_or_pbx",
                f"the user registers from a PBX, dialer or switch ({registration.user_agent}); "
                "a user account is for one person, not a system behind it (TERMS V3)",
                reason="user_agent",
                user_id=user_id,
                user_agent=registration.user_agent,
                matched=agent,
                contact=registration.contact,
                source=registration.source,
            )
    sources = tuple(sorted({_host(registration.source) for registration in current}))
    if len(sources) <= max_sources:
        return ALLOWED
    return refuse(
        "access.shared_or_pbx",
        f"the user is registered from {len(sources)} addresses at once (one person's devices: "
        f"at most {max_sources}); a user account is for one person (TERMS V3)",
        reason="sources",
        user_id=user_id,
        sources=sources,
        count=len(sources),
        limit=max_sources,
    )
