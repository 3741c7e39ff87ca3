"""In-band DTMF tones: each key's two Q.23 frequencies, and no other key's."""

from __future__ import annotations

import math
from array import array

import pytest

from dialtone.codecs.dtmf import FREQUENCIES, GAP_SECONDS, TONE_SECONDS, WAIT_SECONDS, tones

ALL = sorted({f for pair in FREQUENCIES.values() for f in pair})


def power(samples: array[int], freq: float, rate: int = 8000) -> float:
    """Goertzel: the signal's power at ``freq``."""
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


@pytest.mark.parametrize("digit", sorted(FREQUENCIES))
def test_each_key_is_its_two_frequencies(digit: str) -> None:
    pcm = array("h", tones(digit))
    assert len(pcm) == int(8000 * (TONE_SECONDS + GAP_SECONDS))
    tone = pcm[: int(8000 * TONE_SECONDS)]
    powers = {f: power(tone, f) for f in ALL}
    expected = set(FREQUENCIES[digit])
    strongest = set(sorted(powers, key=powers.__getitem__)[-2:])
    assert strongest == expected
    weakest_expected = min(powers[f] for f in expected)
    assert all(powers[f] < weakest_expected / 50 for f in ALL if f not in expected)
    assert max(abs(x) for x in tone) < 32767  # no clipping
    assert not any(pcm[int(8000 * TONE_SECONDS) :])  # then silence


@pytest.mark.parametrize(("digits", "seconds"), [("", 0.0), ("w", WAIT_SECONDS), ("1w2", 0.9)])
def test_waits_and_lengths(digits: str, seconds: float) -> None:
    assert len(tones(digits)) == 2 * round(8000 * seconds)


@pytest.mark.parametrize("bad", ["x", "1e", " "])
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a DTMF digit"):
        tones(bad)


def test_lower_case_letters_are_keys_too() -> None:
    assert tones("a") == tones("A")
