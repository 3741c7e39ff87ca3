"""Down-mix and resample to 8 kHz mono 16-bit; RMS tells audio from silence."""

from __future__ import annotations

import math
import random
import struct
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.codecs.resample import rms, to_mono_8k


def _pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def _samples(pcm: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def _tone(rate: int, seconds: float, *, channels: int = 1, hz: float = 440.0) -> bytes:
    n = int(rate * seconds)
    return b"".join(
        struct.pack("<h", round(10000 * math.sin(2 * math.pi * hz * i / rate))) * channels
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("samples", "channels", "rate", "expected"),
    [
        pytest.param([5, -7, 32767, -32768], 1, 8000, [5, -7, 32767, -32768], id="identity"),
        pytest.param([1000, 3000, -200, 200], 2, 8000, [2000, 0], id="stereo-average"),
        pytest.param([-1, 0], 2, 8000, [-1], id="average-rounds-down"),
        pytest.param([30, 60, 90, 0, 0, 0], 3, 8000, [60, 0], id="three-channels"),
        pytest.param(list(range(0, 80, 10)), 1, 16000, [0, 20, 40, 60], id="16k-takes-every-2nd"),
        pytest.param([0, 30, 60, 90, 120, 150], 1, 12000, [0, 45, 90, 135], id="12k"),
        pytest.param([0, 100], 1, 4000, [0, 50, 100, 100], id="4k-upsample"),
        pytest.param([0, 1], 1, 16000, [0], id="16k-two-samples-give-one"),
        pytest.param([7], 1, 48000, [7], id="one-sample-stays"),
        pytest.param([], 2, 44100, [], id="empty"),
        pytest.param([10, 20, 30], 2, 8000, [15], id="partial-frame-ignored"),
    ],
)
def test_known_conversions(
    samples: list[int], channels: int, rate: int, expected: list[int]
) -> None:
    assert _samples(to_mono_8k(_pcm(*samples), channels=channels, rate=rate)) == expected


@pytest.mark.parametrize(
    ("pcm", "width", "expected"),
    [
        pytest.param(bytes([128, 255, 0, 129]), 1, [0, 127 << 8, -32768, 256], id="u8"),
        pytest.param(b"\x56\x34\x12\xff\xff\xff", 3, [0x1234, -1], id="s24"),
        pytest.param(b"\x00\x00\x80\x00\x00\x7f", 3, [-32768, 0x7F00], id="s24-extremes"),
        pytest.param(
            struct.pack("<3i", 2**31 - 1, -(2**31), 0x00010000), 4, [32767, -32768, 1], id="s32"
        ),
        pytest.param(b"\x56\x34\x12\x00", 3, [0x1234], id="s24-partial-ignored"),
        pytest.param(b"\x01\x02\x03", 2, [0x0201], id="s16-odd-byte-ignored"),
    ],
)
def test_sample_widths(pcm: bytes, width: int, expected: list[int]) -> None:
    assert _samples(to_mono_8k(pcm, channels=1, rate=8000, sample_width=width)) == expected


@pytest.mark.parametrize(
    ("rate", "channels"), [(8000, 1), (11025, 1), (16000, 1), (22050, 2), (44100, 2), (48000, 2)]
)
def test_duration_and_level_are_kept(rate: int, channels: int) -> None:
    out = to_mono_8k(_tone(rate, 1.0, channels=channels), channels=channels, rate=rate)
    assert len(out) == 2 * 8000
    assert rms(out) == pytest.approx(10000 / math.sqrt(2), rel=0.02)


@given(
    samples=st.lists(st.integers(-32768, 32767), max_size=300),
    channels=st.integers(1, 4),
    rate=st.sampled_from([4000, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000]),
)
def test_length_and_range_properties(samples: list[int], channels: int, rate: int) -> None:
    out = _samples(to_mono_8k(_pcm(*samples), channels=channels, rate=rate))
    frames = len(samples) // channels
    expected_length = max(1, frames * 8000 // rate) if frames else 0
    assert len(out) == expected_length
    if frames:
        # Averaging and linear interpolation never leave the input's range.
        assert min(samples) <= min(out)
        assert max(out) <= max(samples)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": 0, "rate": 8000}, "channels"),
        ({"channels": -1, "rate": 8000}, "channels"),
        ({"channels": 1, "rate": 0}, "rate"),
        ({"channels": 1, "rate": 8000, "sample_width": 5}, "sample width"),
        ({"channels": 1, "rate": 8000, "sample_width": 0}, "sample width"),
    ],
)
def test_bad_arguments(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_mono_8k(b"", **kwargs)


@pytest.mark.parametrize(
    ("pcm", "expected"),
    [
        (b"", 0.0),
        (b"\x00", 0.0),
        (_pcm(0) * 100, 0.0),
        (_pcm(3, -4), math.sqrt(12.5)),
        (_pcm(1000, -1000) * 50, 1000.0),
        (_pcm(-32768), 32768.0),
    ],
)
def test_rms(pcm: bytes, expected: float) -> None:
    assert rms(pcm) == pytest.approx(expected)


def test_rms_tells_a_tone_from_silence() -> None:
    assert rms(_tone(8000, 0.1)) == pytest.approx(10000 / math.sqrt(2), rel=0.01)
    assert rms(_pcm(0, 1, -1, 0) * 100) < 1.0


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [1, 2])
def test_width_conversion_and_downmix_equal_audioop(width: int, channels: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # removed in Python 3.13
    data = random.Random(width * 10 + channels).randbytes(width * channels * 500)
    # audioop treats 8-bit as signed; WAV's 8-bit is unsigned.
    signed = audioop.bias(data, 1, -128) if width == 1 else data
    expected = audioop.lin2lin(signed, width, 2)
    if channels == 2:
        expected = audioop.tomono(expected, 2, 0.5, 0.5)
    assert to_mono_8k(data, channels=channels, rate=8000, sample_width=width) == expected
