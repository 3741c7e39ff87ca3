"""A reply cut into the pieces synthesised one after another, pure.

The agent's first audio should reach the caller as soon as possible: synthesising a
whole reply before playing any of it costs the whole reply's synthesis. Cut into
sentences, the first is made alone and plays while the rest are made (hibari makes
speech several times faster than it plays, so the next piece is ready before the
first has played). A long first sentence is cut once more at its first clause
boundary (a comma, semicolon, colon or dash after ``MIN_CLAUSE_WORDS`` words), so the
caller hears something within one short clause's synthesis; later sentences stay whole
(a pause at every comma sounds halting).

A sentence ends at ".", "!", "?" or "…" followed by a space, unless the word is a
known abbreviation ("Dr.", "Mr.", "a.m.", "e.g.") or the full stop sits in a number
("10.30", "$4.50").
"""

from __future__ import annotations

import re

# A first sentence longer than this many words is cut at a clause boundary.
LONG_FIRST_WORDS = 8
MIN_CLAUSE_WORDS = 3

ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "mt",
        "jr",
        "sr",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "approx",
        "dept",
        "tel",
        "ext",
    ]
)

_END = re.compile(r"([.!?…]+[\"')\]]*)\s+")
_CLAUSE = re.compile(r"([,;:]|\s[-–—])\s+")


def _is_abbreviation(before: str) -> bool:
    word = before.rsplit(maxsplit=1)[-1] if before.strip() else ""
    return word.lower().rstrip(".") in ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """``text``'s sentences in order, each stripped; none for blank text."""
    pieces: list[str] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end(1)
        if match.group(1) == "." and _is_abbreviation(text[start : match.start(1)]):
            continue
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def split_first_clause(sentence: str) -> list[str]:
    """A sentence of more than ``LONG_FIRST_WORDS`` words as its first clause and the
    rest (when it has a boundary after ``MIN_CLAUSE_WORDS`` words); else itself."""
    if len(sentence.split()) <= LONG_FIRST_WORDS:
        return [sentence]
    for match in _CLAUSE.finditer(sentence):
        head = sentence[: match.end(1)].strip()
        tail = sentence[match.end() :].strip()
        if len(head.split()) >= MIN_CLAUSE_WORDS and tail:
            return [head, tail]
    return [sentence]


def speech_pieces(text: str) -> list[str]:
    """What to synthesise, in order: the sentences of ``text``, the first cut at a
    clause when long (see the module)."""
    sentences = split_sentences(text)
    if not sentences:
        return []
    return [*split_first_clause(sentences[0]), *sentences[1:]]
