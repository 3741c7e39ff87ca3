"""Answers from the agent's knowledge base (TERMS A1: its FAQ), by word overlap.

A small BM25: each entry is its question's words (and, weighing less, its answer's),
stop words out, synonyms folded ("cost" → "price"), a crude stem. An entry answers when
enough of the caller's meaningful words weigh in it; an unrelated question gets None
(the brain then says it did not understand rather than answer beside the point).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from dialtone.agents.english import ENGLISH
from dialtone.agents.language import Language
from dialtone.agents.profile import KnowledgeEntry
from dialtone.agents.text import normalise

# BM25's usual constants.
K1 = 1.2
B = 0.75
# An answer's words count this much against a question's.
ANSWER_WEIGHT = 0.4
# The share of the caller's words' weight (by inverse frequency) an entry must cover.
THRESHOLD = 0.45
# Shortest stem kept when a suffix is stripped ("parking" → "park", not "bus" → "bu").
MIN_STEM = 3


def stem(word: str, lang: Language) -> str:
    """``word`` without its longest known suffix, if what is left is long enough."""
    if word.endswith(lang.keep_endings):
        return word
    for suffix in lang.suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def terms(text: str, lang: Language = ENGLISH) -> list[str]:
    """The meaningful words of ``text``: normalised, synonyms folded, stop words out,
    stemmed."""
    found = []
    for word in normalise(text, lang).split():
        folded = lang.synonyms.get(word, word)
        if folded in lang.stop_words:
            continue
        found.append(stem(folded, lang))
    return found


@dataclass(frozen=True, slots=True)
class Match:
    """The entry found and how much of the question it covers (0–1)."""

    entry: KnowledgeEntry
    score: float
    coverage: float


def _idf(term: str, frequency: Counter[str], count: int) -> float:
    seen = frequency.get(term, 0)
    return math.log(1 + (count - seen + 0.5) / (seen + 0.5))


def search(
    question: str,
    entries: tuple[KnowledgeEntry, ...],
    lang: Language = ENGLISH,
    threshold: float = THRESHOLD,
) -> Match | None:
    """The entry that best answers ``question``, or None when none covers at least
    ``threshold`` of its words' weight."""
    asked = list(dict.fromkeys(terms(question, lang)))
    if not asked or not entries:
        return None
    documents: list[dict[str, float]] = []
    for entry in entries:
        weights: dict[str, float] = {}
        for term in terms(entry.question, lang):
            weights[term] = weights.get(term, 0.0) + 1.0
        for term in terms(entry.answer, lang):
            weights[term] = weights.get(term, 0.0) + ANSWER_WEIGHT
        documents.append(weights)
    frequency: Counter[str] = Counter(t for d in documents for t in d)
    count = len(documents)
    average = sum(sum(d.values()) for d in documents) / count or 1.0
    total = sum(_idf(t, frequency, count) for t in asked)
    best: Match | None = None
    for entry, weights in zip(entries, documents, strict=True):
        length = sum(weights.values())
        score = 0.0
        covered = 0.0
        for term in asked:
            tf = weights.get(term, 0.0)
            if tf <= 0:
                continue
            idf = _idf(term, frequency, count)
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
            covered += idf * min(1.0, tf)
        coverage = covered / total if total else 0.0
        if coverage >= threshold and (best is None or score > best.score):
            best = Match(entry=entry, score=score, coverage=coverage)
    return best


def answer(
    question: str, entries: tuple[KnowledgeEntry, ...], lang: Language = ENGLISH
) -> str | None:
    """The answer to ``question`` from ``entries``, if one fits."""
    found = search(question, entries, lang)
    return found.entry.answer if found else None
