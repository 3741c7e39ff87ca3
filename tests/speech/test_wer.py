"""Word error rate (speech.wer): one spelling for numbers and times, the edit distance,
a corpus's rate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.speech.wer import (
    Score,
    edit_distance,
    normalize,
    number_words,
    ordinal_words,
    score,
    total,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (19, "nineteen"),
        (20, "twenty"),
        (21, "twenty one"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (1000, "one thousand"),
        (1030, "one thousand thirty"),
        (9999, "nine thousand nine hundred ninety nine"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


@pytest.mark.parametrize("n", [-1, 10000])
def test_numbers_out_of_range_are_refused(n: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        number_words(n)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (4, "fourth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty first"),
        (100, "one hundredth"),
    ],
)
def test_ordinal_words(n: int, words: str) -> None:
    assert ordinal_words(n) == words


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("I'd like an appointment tomorrow at 10.", "i'd like an appointment tomorrow at ten"),
        ("at 10:30", "at ten thirty"),
        ("at 10:00", "at ten"),
        ("at 9:05", "at nine oh five"),
        ("at 2 p.m.", "at two pm"),
        ("at 2pm", "at two PM"),
        ("at 7 A.M.", "at seven am"),
        ("on the 3rd of March", "on the third of march"),
        ("It's 1,000 euros", "its one thousand euros"),
        ("follow-up", "follow up"),
        ("Yes, that's right!", "yes thats right"),
        ("Mr. Dupont", "mr dupont"),
    ],
)
def test_one_spelling(written: str, said: str) -> None:
    assert normalize(written) == normalize(said)


def test_normalized_words() -> None:
    assert normalize("I'd like it at 10:30, please.") == [
        "id",
        "like",
        "it",
        "at",
        "ten",
        "thirty",
        "please",
    ]
    assert normalize("") == []


@pytest.mark.parametrize(
    ("reference", "hypothesis", "distance"),
    [
        ("", "", 0),
        ("a b c", "a b c", 0),
        ("a b c", "a x c", 1),  # substitution
        ("a b c", "a c", 1),  # deletion
        ("a b c", "a b c d", 1),  # insertion
        ("a b c", "", 3),
        ("", "a b", 2),
        ("a b c d", "b c d a", 2),
    ],
)
def test_edit_distance(reference: str, hypothesis: str, distance: int) -> None:
    assert edit_distance(reference.split(), hypothesis.split()) == distance


words = st.lists(st.sampled_from(["a", "b", "c"]), max_size=8)


@given(words, words)
def test_edit_distance_is_a_distance(a: list[str], b: list[str]) -> None:
    d = edit_distance(a, b)
    assert d == edit_distance(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert (d == 0) == (a == b)


def test_a_corpus_rate_sums_errors_over_words() -> None:
    one = score(
        "I would like an appointment tomorrow at ten", "I would like an appointment tomorrow at 10"
    )
    assert one == Score(0, 8)
    two = score("can I speak to someone", "can I speak to some one")  # 1 sub + 1 ins
    assert two == Score(2, 5)
    assert total([one, two]) == Score(2, 13)
    assert total([one, two]).rate == pytest.approx(2 / 13)
    assert Score(0, 0).rate == 0.0
