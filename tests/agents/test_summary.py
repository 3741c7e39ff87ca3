"""Summaries and transcripts, labelled AI-generated (A4, V9)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialtone.agents.hours import closes_at, is_open, say_hours
from dialtone.agents.profile import OpenHours
from dialtone.agents.summary import label, summarise, transcript_lines, with_turn
from dialtone.agents.turns import AI_LABEL, DialogState, Reply

PARIS = ZoneInfo("Europe/Paris")


def test_label_once() -> None:
    assert label("Caller wanted X.") == f"{AI_LABEL} Caller wanted X."
    assert label(label("Caller wanted X.")) == f"{AI_LABEL} Caller wanted X."


def test_summary_says_what_was_wanted_said_and_achieved() -> None:
    state = with_turn(DialogState(), "I'd like an appointment tomorrow at ten", Reply(say=("Ok.",)))
    state = with_turn(state, "John", Reply())
    booked = DialogState(
        intent="booking",
        slots=(("start", "2024-12-10T10:00:00+01:00"), ("name", "John")),
        history=state.history,
    )
    assert summarise(booked, "booked") == (
        f"{AI_LABEL} Caller wanted an appointment (Tuesday 10 December at 10 a.m.), John; "
        'said "I\'d like an appointment tomorrow at ten"; booked.'
    )
    assert (
        summarise(DialogState(), topic="emergency") == f"{AI_LABEL} Caller described an emergency."
    )


def test_summary_quotes_are_bounded() -> None:
    state = with_turn(DialogState(), "word " * 100, Reply())
    assert len(summarise(state)) < 200


def test_transcript_lines_are_labelled() -> None:
    state = with_turn(DialogState(), "hello", Reply(say=("Hi.", "How can I help?")))
    assert transcript_lines(state.history) == [
        AI_LABEL,
        "Caller: hello",
        "Agent: Hi.",
        "Agent: How can I help?",
    ]


WEEK = (
    *(OpenHours(d, time(9), time(17)) for d in range(5)),
    OpenHours(5, time(10), time(12)),
)


@pytest.mark.parametrize(
    ("start", "minutes", "open_"),
    [
        (datetime(2024, 12, 9, 9, 0, tzinfo=PARIS), 30, True),
        (datetime(2024, 12, 9, 8, 59, tzinfo=PARIS), 30, False),
        (datetime(2024, 12, 9, 16, 30, tzinfo=PARIS), 30, True),  # ends as it closes
        (datetime(2024, 12, 9, 16, 31, tzinfo=PARIS), 30, False),
        (datetime(2024, 12, 15, 11, 0, tzinfo=PARIS), 30, False),  # Sunday
    ],
)
def test_is_open(start: datetime, minutes: int, open_: bool) -> None:
    assert is_open(WEEK, start, minutes) is open_
    assert is_open((), start, minutes) is True


def test_say_hours_groups_days() -> None:
    assert say_hours(WEEK) == ("Monday to Friday, 9 a.m. to 5 p.m., and Saturday, 10 a.m. to noon")
    assert closes_at(WEEK, datetime(2024, 12, 14, 11, tzinfo=PARIS)) == time(12)
    assert closes_at(WEEK, datetime(2024, 12, 14, 12, tzinfo=PARIS)) is None
