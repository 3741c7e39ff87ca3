"""TERMS V12: calling hours by the callee's country and time zone (each preset, just
before, at and just after each bound), do-not-call lists and artificial-voice consent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialtone.policy.telemarketing import (
    PRESETS,
    VoiceConsent,
    artificial_voice,
    calling_window,
    do_not_call,
    french_public_holidays,
)

PARIS = ZoneInfo("Europe/Paris")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")
TORONTO = ZoneInfo("America/Toronto")
LONDON = ZoneInfo("Europe/London")

FR = "+33123456789"
US_CA = "+14155550100"  # San Francisco: Pacific time
US_NY = "+12125550100"  # New York: Eastern time
CA_ON = "+14165550100"  # Toronto
GB = "+442071838750"


def at(zone: ZoneInfo, text: str) -> datetime:
    """A wall-clock time in ``zone`` (ISO ``YYYY-MM-DD HH:MM``) as the UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("number", "moment", "allowed"),
    [
        # FR: weekdays 10:00-13:00 and 14:00-20:00 (2026-12-07 is a Monday).
        (FR, at(PARIS, "2026-12-07 09:59"), False),
        (FR, at(PARIS, "2026-12-07 10:00"), True),
        (FR, at(PARIS, "2026-12-07 12:59"), True),
        (FR, at(PARIS, "2026-12-07 13:00"), False),
        (FR, at(PARIS, "2026-12-07 13:59"), False),
        (FR, at(PARIS, "2026-12-07 14:00"), True),
        (FR, at(PARIS, "2026-12-07 19:59"), True),
        (FR, at(PARIS, "2026-12-07 20:00"), False),
        (FR, at(PARIS, "2026-12-12 11:00"), False),  # Saturday
        (FR, at(PARIS, "2026-12-13 11:00"), False),  # Sunday
        (FR, at(PARIS, "2026-07-14 11:00"), False),  # Bastille Day, a Tuesday
        (FR, at(PARIS, "2026-04-06 11:00"), False),  # Easter Monday
        (FR, at(PARIS, "2026-04-07 11:00"), True),  # the day after
        # Summer time: 10:00 in Paris is 08:00 UTC in July, 09:00 UTC in December.
        (FR, datetime(2026, 7, 15, 8, 0, tzinfo=UTC), True),
        (FR, datetime(2026, 12, 8, 8, 0, tzinfo=UTC), False),
        # US (TCPA): 8:00-21:00 in the callee's time zone, by area code.
        (US_CA, at(LOS_ANGELES, "2026-12-07 07:59"), False),
        (US_CA, at(LOS_ANGELES, "2026-12-07 08:00"), True),
        (US_CA, at(LOS_ANGELES, "2026-12-07 20:59"), True),
        (US_CA, at(LOS_ANGELES, "2026-12-07 21:00"), False),
        (US_CA, at(LOS_ANGELES, "2026-12-13 12:00"), True),  # Sunday: no federal ban
        (US_NY, at(LOS_ANGELES, "2026-12-07 17:59"), True),  # 20:59 in New York
        (US_NY, at(LOS_ANGELES, "2026-12-07 18:00"), False),  # 21:00 in New York
        (US_NY, at(NEW_YORK, "2026-12-07 21:00"), False),
        (US_CA, at(NEW_YORK, "2026-12-07 10:30"), False),  # 07:30 in San Francisco
        # CA (CRTC): weekdays 9:00-21:30, weekends 10:00-18:00.
        (CA_ON, at(TORONTO, "2026-12-07 08:59"), False),
        (CA_ON, at(TORONTO, "2026-12-07 09:00"), True),
        (CA_ON, at(TORONTO, "2026-12-07 21:29"), True),
        (CA_ON, at(TORONTO, "2026-12-07 21:30"), False),
        (CA_ON, at(TORONTO, "2026-12-12 09:59"), False),
        (CA_ON, at(TORONTO, "2026-12-12 10:00"), True),
        (CA_ON, at(TORONTO, "2026-12-12 17:59"), True),
        (CA_ON, at(TORONTO, "2026-12-12 18:00"), False),
        # GB: 8:00-21:00.
        (GB, at(LONDON, "2026-12-07 07:59"), False),
        (GB, at(LONDON, "2026-12-07 08:00"), True),
        (GB, at(LONDON, "2026-12-07 20:59"), True),
        (GB, at(LONDON, "2026-12-07 21:00"), False),
        # No preset for Germany: no restriction here.
        ("+4930123456", datetime(2026, 12, 7, 3, 0, tzinfo=UTC), True),
    ],
)
def test_calling_window(number: str, moment: datetime, allowed: bool) -> None:
    decision = calling_window(number, moment)
    assert decision.allowed is allowed, decision.message
    if not allowed:
        assert (decision.code, decision.rule) == ("calling_window.closed", "V12")
        assert decision.details["number"] == number


def test_the_new_york_number_at_half_past_nine_there() -> None:
    decision = calling_window(US_NY, at(NEW_YORK, "2026-12-07 21:30"))
    assert decision.details["zone"] == "America/New_York"
    assert decision.details["local_time"] == "2026-12-07 21:30"


def test_operators_may_replace_the_hours() -> None:
    presets = {**PRESETS, "DE": PRESETS["GB"]}
    assert calling_window("+4930123456", datetime(2026, 12, 7, 3, 0, tzinfo=UTC), presets).refused


@pytest.mark.parametrize(
    ("year", "holidays"),
    [
        (2026, {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)}),
        (2027, {date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)}),
    ],
)
def test_french_movable_holidays(year: int, holidays: set[date]) -> None:
    found = french_public_holidays(year)
    assert len(found) == 11
    assert holidays <= found
    assert date(year, 12, 25) in found
    assert date(year, 12, 26) not in found


@pytest.mark.parametrize(
    ("listed_by", "telemarketing", "code"),
    [
        (None, False, None),
        (None, True, None),
        ("account", False, "dnc.listed"),  # the account's own list stops every call
        ("account", True, "dnc.listed"),
        ("bloctel", False, None),  # a register stops telemarketing only
        ("bloctel", True, "dnc.listed"),
    ],
)
def test_do_not_call(listed_by: str | None, telemarketing: bool, code: str | None) -> None:
    decision = do_not_call(listed_by, telemarketing=telemarketing, number=FR)
    assert decision.code == code
    if code is not None:
        assert (decision.rule, decision.details["list"]) == ("V12", listed_by)


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("consent", "allowed"),
    [
        (None, False),
        (VoiceConsent(given_at=NOW - SECOND), True),
        (VoiceConsent(given_at=NOW), True),  # at the instant it was given
        (VoiceConsent(given_at=NOW + SECOND), False),  # not yet
        (VoiceConsent(given_at=NOW - SECOND, withdrawn_at=NOW + SECOND), True),
        (VoiceConsent(given_at=NOW - SECOND, withdrawn_at=NOW), False),
        (VoiceConsent(given_at=NOW - SECOND, withdrawn_at=NOW - SECOND), False),
    ],
)
def test_artificial_voice_needs_written_consent(
    consent: VoiceConsent | None, allowed: bool
) -> None:
    decision = artificial_voice(FR, consent, NOW)
    assert decision.allowed is allowed
    if not allowed:
        assert (decision.code, decision.rule) == ("ai_voice.consent_missing", "V12")
