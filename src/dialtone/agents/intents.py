"""What the caller wants, from what they said (TERMS A1: the tasks an agent carries out).

``understand`` reads one utterance into an intent (book, transfer, message, hours,
repeat, goodbye, thanks; None when none: the brain then tries the knowledge base), a
yes or no (a confirmation), a choice between offered times, the transfer target named
("sales", "Alice"), the message when it is in the same breath ("please take a message,
tell Bob I'll be late") and the caller's name when they give it.

Precedence, when an utterance holds several: a message with its text, a message, an
explicit transfer, a booking, opening hours, a transfer target named alone, repeat,
goodbye, thanks. A booking asked "to speak to someone about" is a transfer: the caller
asked for a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dialtone.agents.language import Language
from dialtone.agents.languages import language_for
from dialtone.agents.profile import AgentProfile, TransferTarget
from dialtone.agents.text import fires, matches, normalise

Intent = Literal["book", "transfer", "message", "hours", "repeat", "goodbye", "thanks"]
Answer = Literal["yes", "no"]

# A message said in the same breath has at least this many words ("I'll be late").
MIN_MESSAGE_WORDS = 2
# A target's word shorter than this is never matched alone ("Al", "IT" match whole).
MIN_TARGET_WORD = 3


@dataclass(frozen=True, slots=True)
class Understood:
    """One utterance, read. ``choice`` is 0 for the first offered option, 1 for the
    second."""

    intent: Intent | None = None
    answer: Answer | None = None
    target: TransferTarget | None = None
    message: str | None = None
    name: str | None = None
    choice: int | None = None


def message_text(text: str, lang: Language) -> str | None:
    """The message itself when the caller said it with the request ("take a message:
    I'll be late", "tell Bob I'll be late"), in the caller's own words."""
    for pattern in lang.intents.message_text:
        found = re.search(pattern, text.strip(), flags=re.IGNORECASE)
        if found:
            said = found[1].strip(" .,;:!?-\"'")
            if len(said.split()) >= MIN_MESSAGE_WORDS:
                return said
    return None


def caller_name(normalised: str, lang: Language) -> str | None:
    """The name in "my name is …", "this is … speaking", capitalised; None when what
    follows is no name ("I am calling about…")."""
    for pattern in lang.intents.caller_name:
        found = re.search(pattern, normalised)
        if not found:
            continue
        words: list[str] = []
        for word in found[1].split():
            if word in lang.intents.not_names or word in lang.stop_words:
                break
            words.append(word)
        if words:
            return " ".join(w.capitalize() for w in words)
    return None


def bare_name(normalised: str, lang: Language) -> str | None:
    """A name said alone, answering "May I have your name?" ("John Smith", "it's
    John"): the introduction's name, else up to three words none of which is a common
    word."""
    introduced = caller_name(normalised, lang)
    if introduced is not None:
        return introduced
    words = normalised.split()
    if not 1 <= len(words) <= 3:
        return None
    if any(w in lang.intents.not_names or w in lang.stop_words or w.isdigit() for w in words):
        return None
    return " ".join(w.capitalize() for w in words)


def _target_words(target: TransferTarget, lang: Language) -> tuple[str, ...]:
    label = normalise(target.label, lang)
    if not label:
        return ()
    words = tuple(
        w for w in label.split() if len(w) >= MIN_TARGET_WORD and w not in lang.stop_words
    )
    # A person may be asked for by one of their names; a team only by its whole label
    # ("front desk", not "front").
    if target.kind == "user":
        return (label, *words)
    return (label, *(words if len(words) == 1 else ()))


def find_target(
    normalised: str, targets: tuple[TransferTarget, ...], lang: Language
) -> TransferTarget | None:
    """The transfer target whose label the caller named, the longest label first."""
    padded = f" {normalised} "
    best: tuple[int, TransferTarget] | None = None
    for target in targets:
        for phrase in _target_words(target, lang):
            if f" {phrase} " in padded and (best is None or len(phrase) > best[0]):
                best = (len(phrase), target)
    return best[1] if best else None


def _answer(normalised: str, lang: Language) -> Answer | None:
    phrases = lang.intents
    if fires(phrases.no, phrases.no_unless, normalised):
        return "no"
    if matches(phrases.yes, normalised):
        return "yes"
    return None


def _choice(normalised: str, lang: Language) -> int | None:
    if matches(lang.intents.second_choice, normalised):
        return 1
    if matches(lang.intents.first_choice, normalised):
        return 0
    return None


def _intent(
    normalised: str, message: str | None, target: TransferTarget | None, lang: Language
) -> Intent | None:
    phrases = lang.intents
    if message is not None or matches(phrases.message, normalised):
        return "message"
    if matches(phrases.transfer, normalised):
        return "transfer"
    if matches(phrases.book, normalised):
        return "book"
    if matches(phrases.hours, normalised):
        return "hours"
    if target is not None:
        return "transfer"
    if matches(phrases.repeat, normalised):
        return "repeat"
    if matches(phrases.goodbye, normalised):
        return "goodbye"
    if matches(phrases.thanks_only, normalised):
        return "thanks"
    return None


def understand(text: str, profile: AgentProfile, lang: Language | None = None) -> Understood:
    """What ``text`` asks for (see the module's precedence)."""
    lang = lang or language_for(profile)
    normalised = normalise(text, lang)
    message = message_text(text, lang)
    target = find_target(normalised, profile.transfer_targets, lang)
    return Understood(
        intent=_intent(normalised, message, target, lang),
        answer=_answer(normalised, lang),
        target=target,
        message=message,
        name=caller_name(normalised, lang),
        choice=_choice(normalised, lang),
    )
