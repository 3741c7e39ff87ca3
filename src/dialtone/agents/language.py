"""The words an agent understands and says, per language, as tables (TERMS A1–A4).

The logic (``text``, ``guard``, ``intents``, ``when``, ``knowledge``, ``rules_brain``)
holds no word of any language: it reads a ``Language``. English is ``english.ENGLISH``;
another language is one more module building a ``Language`` and one line in
``LANGUAGES``.

Phrase patterns are small: words separated by spaces, ``a|b`` for alternatives in one
place (``a_lot|badly``: an alternative of several words joins them with ``_``),
``word+`` for any word starting with ``word`` (a crude stem), and ``*`` for up to three
words of anything. They are matched on text already normalised (``text.normalise``:
lower case, no punctuation, contractions spelled out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GuardPhrases:
    """What the guard listens for (A3, A4) and what it answers. A phrase family fires
    when one of ``triggers`` matches and none of ``unless`` does: ``unless`` holds the
    near misses ("fire the contractor", "an emergency appointment")."""

    emergency: tuple[str, ...]
    emergency_unless: tuple[str, ...]
    medical: tuple[str, ...]
    legal: tuple[str, ...]
    financial: tuple[str, ...]
    advice_unless: tuple[str, ...]
    identity: tuple[str, ...]
    claims_human: tuple[str, ...]
    claims_unless: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IntentPhrases:
    """What each intent sounds like (``intents.understand``)."""

    book: tuple[str, ...]
    transfer: tuple[str, ...]
    message: tuple[str, ...]
    hours: tuple[str, ...]
    goodbye: tuple[str, ...]
    thanks_only: tuple[str, ...]
    yes: tuple[str, ...]
    no: tuple[str, ...]
    # An hours question about the present ("are you open now?").
    now: tuple[str, ...]
    # Said with a "no" that means yes ("no problem").
    no_unless: tuple[str, ...]
    repeat: tuple[str, ...]
    first_choice: tuple[str, ...]
    second_choice: tuple[str, ...]
    # Regular expressions over the caller's own words (not normalised: the message is
    # kept as said): group 1 is the message.
    message_text: tuple[str, ...]
    # Regular expressions over normalised text: group 1 is the caller's name.
    caller_name: tuple[str, ...]
    # Words that are never a name on their own ("no", "sure", …).
    not_names: frozenset[str]


# Compared by identity: one language's tables are built once, and compiled patterns
# are cached per table (dicts inside would make them unhashable otherwise).
@dataclass(frozen=True, slots=True, eq=False)
class WhenWords:
    """The words of dates and times (``when.parse_when``)."""

    numbers: Mapping[str, int]
    ordinals: Mapping[str, int]
    ordinal_suffixes: tuple[str, ...]
    weekdays: Mapping[str, int]
    months: Mapping[str, int]
    today: tuple[str, ...]
    tomorrow: tuple[str, ...]
    day_after_tomorrow: tuple[str, ...]
    # "this afternoon": today, in that part of the day.
    this: tuple[str, ...]
    # "next Monday": said before a week day (the nearest one after today all the same).
    next: tuple[str, ...]
    noon: tuple[str, ...]
    midnight: tuple[str, ...]
    am: tuple[str, ...]
    pm: tuple[str, ...]
    oclock: tuple[str, ...]
    # "half past", "quarter to": minutes added to the hour that follows.
    relative_minutes: Mapping[str, int]
    # Minutes said before "past"/"to" ("ten past three"): the connecting words.
    past: tuple[str, ...]
    to: tuple[str, ...]
    # Words before a time ("at ten") that make a bare number an hour.
    at: tuple[str, ...]
    # The parts of the day, by the name said, with their (first, last) hour.
    day_parts: Mapping[str, tuple[str, int, int]]
    # "in 3 days": the word before a count of days, and the day's word (singular).
    in_days: tuple[str, str]
    # Words after a number that make it a count, never an hour ("at 3 people").
    counted: tuple[str, ...]
    # Words between an hour and a part of the day ("3 in the afternoon").
    part_joiners: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sayings:
    """Everything the agent says. ``{name}`` and similar fields are filled with
    ``str.format``; every sentence is short, the first of a reply shortest (it is
    synthesised first: the caller waits for it)."""

    disclosure: str
    disclosure_no_business: str
    default_greeting: str
    emergency_instruction: str
    emergency_connecting: str
    advice: tuple[str, ...]
    identity: tuple[str, ...]
    ask_day_and_time: str
    ask_day: str
    ask_time: str
    ask_time_in_part: str
    ask_name: str
    confirm_booking: str
    booking_now: str
    one_moment: str
    booked: str
    not_booked_alternatives: str
    not_booked_alternative: str
    not_booked_error: str
    closed: str
    past_time: str
    no_hours: str
    hours_intro: str
    open_now: str
    closed_now: str
    connecting: str
    connecting_to: str
    no_transfer: str
    hand_over_failed: str
    leave_message: str
    no_messages: str
    message_taken: str
    offer_help: str
    offer_message: str
    offer_transfer: str
    anything_else: str
    not_caught: str
    still_there: str
    silence_goodbye: str
    time_limit_goodbye: str
    goodbye: str
    you_are_welcome: str
    ok: str
    nothing_to_repeat: str
    summary_wanted: Mapping[str, str]
    summary_outcome: Mapping[str, str]
    summary_said: str
    caller: str
    agent: str


@dataclass(frozen=True, slots=True)
class SpokenTime:
    """How dates and times are said back (``when.say_when``)."""

    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    today: str
    tomorrow: str
    noon: str
    midnight: str
    # Format strings: {weekday} {day} {month}; {hour} {minute:02d} {half}.
    date: str
    time_on_hour: str
    time_with_minutes: str
    at: str
    am: str
    pm: str
    and_: str
    or_: str
    range_: str
    closed_days: str


@dataclass(frozen=True, slots=True)
class Language:
    """One language: how its text is normalised and its phrase tables."""

    code: str
    # (regular expression, replacement) applied in order to lower-cased raw text
    # before punctuation goes ("a.m." → "am", "9-1-1" → "911").
    spellings: tuple[tuple[str, str], ...]
    # Whole words replaced after punctuation goes ("can't" → "can not", "im" → "i am").
    contractions: Mapping[str, str]
    # Words dropped ("um", "uh"): speech-to-text keeps some hesitations.
    fillers: frozenset[str]
    stop_words: frozenset[str]
    # Suffixes stripped for retrieval, longest first.
    suffixes: tuple[str, ...]
    # Endings no suffix is stripped from ("access", "bus").
    keep_endings: tuple[str, ...]
    # Words retrieval treats as one (synonyms → a canonical word).
    synonyms: Mapping[str, str]
    guard: GuardPhrases
    intents: IntentPhrases
    when: WhenWords
    say: Sayings
    spoken: SpokenTime
