"""Answers from the knowledge base (A1's FAQ): the best entry, or none."""

from __future__ import annotations

import pytest

from dialtone.agents.english import ENGLISH
from dialtone.agents.knowledge import answer, search, stem
from dialtone.agents.profile import KnowledgeEntry

KB = (
    KnowledgeEntry("Do you have parking?", "Yes, free parking behind the building."),
    KnowledgeEntry("What is your address?", "We are at 12 Rue de la Paix, Paris."),
    KnowledgeEntry("How much does a cleaning cost?", "A cleaning costs 60 euros."),
    KnowledgeEntry("Do you accept credit cards?", "We accept all major cards and cash."),
    KnowledgeEntry("Do you treat children?", "Yes, we see patients of all ages."),
    KnowledgeEntry("Is there wheelchair access?", "Yes, the clinic is step-free."),
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("is there parking", 0),
        ("where can I park my car", 0),
        ("where are you located", 1),
        ("what's your address", 1),
        ("what's the price of a cleaning", 2),
        ("how much is a cleaning", 2),
        ("can I pay by card", 3),
        ("do you take credit cards?", 3),
        ("do you see kids", 4),
        ("is the building accessible for wheelchairs", 5),
    ],
)
def test_best_entry(question: str, expected: int) -> None:
    assert answer(question, KB) == KB[expected].answer


@pytest.mark.parametrize(
    "question",
    [
        "what's the weather like",
        "who won the game last night",
        "hello",
        "",
        "I'd like to cancel my subscription",
    ],
)
def test_unrelated_questions_get_nothing(question: str) -> None:
    assert search(question, KB) is None


def test_no_entries_no_answer() -> None:
    assert answer("is there parking", ()) is None


def test_a_match_says_how_much_it_covers() -> None:
    found = search("do you have parking", KB)
    assert found is not None
    assert found.coverage == pytest.approx(1.0)
    assert found.score > 0


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [("parking", "park"), ("cards", "card"), ("bus", "bus"), ("accessible", "access")],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word, ENGLISH) == stemmed
