"""Rate changes through the low-pass (speech.resample): the band passes, what would
alias is stopped; and the linear interpolation of codecs.resample, which does not."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.codecs.resample import to_mono_8k
from dialtone.speech.resample import from_pcm16, resample, to_pcm16


def tone(frequency: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def level_db(samples: np.ndarray) -> float:
    """RMS of the middle half against the 0.5-amplitude tone's, in dB."""
    middle = samples[len(samples) // 4 : -len(samples) // 4].astype(np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(middle**2)) / (0.5 / np.sqrt(2)) + 1e-12))


@pytest.mark.parametrize(
    ("frequency", "low", "high"),
    [
        (300, -0.1, 0.1),
        (1000, -0.1, 0.1),
        (3300, -0.5, 0.1),  # the telephone band passes
        (3500, -3.0, 0.1),  # the filter's edge
        (4200, -200, -60),  # would fold to 3.8 kHz
        (5000, -200, -60),  # would fold to 3 kHz
        (11000, -200, -60),
    ],
)
def test_24k_to_8k(frequency: float, low: float, high: float) -> None:
    out = resample(tone(frequency, 24000), 24000, 8000)
    assert len(out) == 8000
    assert low <= level_db(out) <= high


def test_linear_interpolation_would_alias_what_the_filter_stops() -> None:
    """Why the engines do not use codecs.resample: 5 kHz at 24 kHz comes out of it as a
    loud 3 kHz tone, where the filter leaves nothing."""
    pcm = to_pcm16(tone(5000, 24000))
    linear = from_pcm16(to_mono_8k(pcm, channels=1, rate=24000))
    assert level_db(linear) > -10
    assert level_db(resample(tone(5000, 24000), 24000, 8000)) < -60


@pytest.mark.parametrize("frequency", [300, 1000, 3300])
def test_8k_to_16k_keeps_the_band_and_no_image(frequency: float) -> None:
    out = resample(tone(frequency, 8000), 8000, 16000)
    assert len(out) == 16000
    assert abs(level_db(out)) < 0.1
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    freqs = np.fft.rfftfreq(len(out), 1 / 16000)
    # The image of the tone at 8000 - f is 80 dB down or more.
    assert 20 * np.log10(spectrum[freqs > 4300].max() / spectrum.max()) < -80


@pytest.mark.parametrize(("rate_in", "rate_out"), [(44100, 16000), (48000, 8000), (16000, 8000)])
def test_other_ratios(rate_in: int, rate_out: int) -> None:
    out = resample(tone(1000, rate_in), rate_in, rate_out)
    assert len(out) == rate_out
    assert abs(level_db(out)) < 0.2


def test_edges() -> None:
    assert resample(np.zeros(0, np.float32), 24000, 8000).size == 0
    same = tone(1000, 8000)
    assert np.array_equal(resample(same, 8000, 8000), same)
    with pytest.raises(ValueError, match="positive"):
        resample(same, 0, 8000)


@given(st.lists(st.integers(-32768, 32767), max_size=200))
def test_pcm16_round_trip(samples: list[int]) -> None:
    pcm = np.array(samples, dtype="<i2").tobytes()
    assert to_pcm16(from_pcm16(pcm)) == pcm


def test_pcm16_clips() -> None:
    assert to_pcm16(np.array([2.0, -2.0], np.float32)) == np.array([32767, -32768], "<i2").tobytes()
    assert from_pcm16(b"\x01").size == 0
