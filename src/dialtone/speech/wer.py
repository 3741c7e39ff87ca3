"""Word error rate, pure: how far a recognised text is from what was said.

A recogniser writes "10:30" and "3 p.m." where a reference says "ten thirty" and
"three pm"; both are brought to one spelling first (``normalize``): lower case, the
punctuation and apostrophes gone ("I'd" is "id" on both sides), hyphens as spaces,
numbers up to 9999 and clock times in words, "a.m."/"p.m." as "am"/"pm", ordinals
("3rd") in words. The error rate is the word-level edit distance (substitutions,
deletions, insertions) over the reference's length, summed over a corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_MAX_NUMBER = 9999


def number_words(n: int) -> str:
    """``n`` (0 to 9999) in English words, as said: 1030 "one thousand thirty"."""
    if not 0 <= n <= _MAX_NUMBER:
        raise ValueError(f"{n} is out of range")
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = f"{_ONES[hundreds]} hundred"
        return head if rest == 0 else f"{head} {number_words(rest)}"
    thousands, rest = divmod(n, 1000)
    head = f"{_ONES[thousands]} thousand"
    return head if rest == 0 else f"{head} {number_words(rest)}"


def ordinal_words(n: int) -> str:
    """``n`` as an ordinal in words: 3 "third", 21 "twenty first"."""
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINALS:
        words[-1] = _ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _clock(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f" {number_words(hours)} "
    if minutes < 10:
        return f" {number_words(hours)} oh {number_words(minutes)} "
    return f" {number_words(hours)} {number_words(minutes)} "


def normalize(text: str) -> list[str]:
    """The words of ``text`` in one spelling for comparison (see the module)."""
    s = text.lower()
    s = re.sub(r"\b(a|p)\.\s?m\.?", r"\1m", s)
    s = re.sub(r"\b(\d{1,2}):(\d{2})\b", _clock, s)
    s = re.sub(r"(\d)(am|pm)\b", r"\1 \2", s)
    s = re.sub(r"\b(\d{1,4})(st|nd|rd|th)\b", lambda m: f" {ordinal_words(int(m.group(1)))} ", s)
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 1,000
    s = re.sub(r"\b\d{1,4}\b", lambda m: f" {number_words(int(m.group()))} ", s)
    s = s.replace("'", "").replace("\u2019", "")
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return s.split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance between two word lists (each edit costs 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, word in enumerate(reference, start=1):
        current = [i]
        for j, heard in enumerate(hypothesis, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != heard))
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class Score:
    """Word errors against reference words, over one or many utterances."""

    errors: int
    words: int

    @property
    def rate(self) -> float:
        """Errors per reference word (0 for no words)."""
        return self.errors / self.words if self.words else 0.0


def score(reference: str, hypothesis: str) -> Score:
    """One utterance's word errors, both texts normalised."""
    ref = normalize(reference)
    return Score(edit_distance(ref, normalize(hypothesis)), len(ref))


def total(scores: Iterable[Score]) -> Score:
    """A corpus's word error rate: errors and words summed (not a mean of rates)."""
    errors = words = 0
    for one in scores:
        errors += one.errors
        words += one.words
    return Score(errors, words)
