"""Text as the dialog reads it: normalised, and matched against phrase tables.

Speech-to-text writes the same words many ways ("I can't", "I cant", "I cannot";
"10 a.m.", "10am"; "9-1-1"): ``normalise`` makes them one string so that the phrase
tables of ``language`` stay short. Patterns are compiled once per table.
"""

from __future__ import annotations

import re
from functools import lru_cache

from dialtone.agents.language import Language

_PUNCTUATION = re.compile(r"[^\w:' ]+")
_STRAY_COLON = re.compile(r"(?<!\d):|:(?!\d)")
_DECIMAL_TIME = re.compile(r"\b(\d{1,2})\.(\d{2})\b")
# Up to three words; never across a near miss taken out (marked "#").
_GAP = r"(?:[^\s#]+ ){0,3}"


def normalise(text: str, lang: Language) -> str:
    """Lower case, the language's spellings unified, punctuation gone (a colon between
    digits stays: "10:30"), contractions spelled out, hesitations dropped, one space
    between words."""
    lowered = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    lowered = _DECIMAL_TIME.sub(r"\1:\2", lowered)
    for pattern, replacement in lang.spellings:
        lowered = re.sub(pattern, replacement, lowered)
    lowered = _STRAY_COLON.sub(" ", _PUNCTUATION.sub(" ", lowered))
    words: list[str] = []
    for raw in lowered.split():
        word = raw.strip("'")
        if not word or word in lang.fillers:
            continue
        expanded = lang.contractions.get(word)
        if expanded is None:
            expanded = word.replace("'", "")
        words.append(expanded)
    return " ".join(" ".join(words).split())


def _compile_one(pattern: str) -> str:
    parts: list[str] = []
    for token in pattern.split():
        if token == "*":
            parts.append(_GAP)
            continue
        choices = []
        for alternative in token.split("|"):
            choice = alternative.replace("_", " ")
            if choice.endswith("+"):
                choices.append(re.escape(choice[:-1]) + r"\w*")
            else:
                choices.append(re.escape(choice))
        parts.append("(?:" + "|".join(choices) + ") ")
    # Each word is followed by a space; the text is matched with one appended.
    return "".join(parts)


@lru_cache(maxsize=256)
def compile_phrases(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regular expression matching any of ``phrases`` on whole words (None for no
    phrases: nothing matches)."""
    if not phrases:
        return None
    body = "|".join(_compile_one(p) for p in phrases)
    return re.compile(r"(?:^| )(?:" + body + ")")


def matches(phrases: tuple[str, ...], normalised: str) -> bool:
    """Whether any of ``phrases`` occurs in ``normalised`` (from ``normalise``)."""
    compiled = compile_phrases(phrases)
    return compiled is not None and compiled.search(normalised + " ") is not None


def fires(triggers: tuple[str, ...], unless: tuple[str, ...], normalised: str) -> bool:
    """A phrase family fires when a trigger matches once the near misses of ``unless``
    are taken out of the text ("fire the contractor" leaves nothing of "fire")."""
    compiled = compile_phrases(unless)
    remaining = normalised
    if compiled is not None:
        remaining = compiled.sub(" # ", normalised + " ")
        remaining = " ".join(remaining.split())
    return matches(triggers, remaining)


def sentences(text: str) -> tuple[str, ...]:
    """``text`` cut after each full stop, question or exclamation mark (kept)."""
    pieces = re.split(r"(?<=[.!?])\s+", text.strip())
    return tuple(p for p in pieces if p)
