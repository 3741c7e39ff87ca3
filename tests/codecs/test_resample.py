"""Down-mix and resample to 8 kHz mono; RMS tells audio from silence."""

from __future__ import annotations

import math
import struct

import pytest

from dialtone.codecs.resample import rms, to_mono_8k


def _tone(rate: int, seconds: float, hz: float = 440.0, channels: int = 1) -> bytes:
    n = int(rate * seconds)
    return b"".join(
        struct.pack("<h", int(10000 * math.sin(2 * math.pi * hz * i / rate))) * channels
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("rate", "channels"), [(8000, 1), (16000, 1), (44100, 2), (22050, 1), (48000, 2)]
)
def test_length_and_level_are_kept(rate: int, channels: int) -> None:
    out = to_mono_8k(_tone(rate, 1.0, channels=channels), channels=channels, rate=rate)
    assert abs(len(out) // 2 - 8000) <= 1
    assert rms(out) == pytest.approx(10000 / math.sqrt(2), rel=0.05)


def test_identity_at_8k_mono() -> None:
    pcm = _tone(8000, 0.1)
    assert to_mono_8k(pcm, channels=1, rate=8000) == pcm


def test_stereo_is_averaged() -> None:
    pcm = struct.pack("<4h", 1000, 3000, -200, 200)
    assert to_mono_8k(pcm, channels=2, rate=8000) == struct.pack("<2h", 2000, 0)


def test_8_bit_and_24_bit() -> None:
    assert to_mono_8k(bytes([128, 255, 0]), channels=1, rate=8000, sample_width=1) == struct.pack(
        "<3h", 0, 127 << 8, -128 << 8
    )
    three = (1000).to_bytes(3, "little", signed=True)
    assert to_mono_8k(three, channels=1, rate=8000, sample_width=3) == struct.pack("<h", 3)


def test_rms_of_silence_and_empty() -> None:
    assert rms(b"") == 0.0
    assert rms(b"\x00\x00" * 100) == 0.0
    assert rms(struct.pack("<2h", 3, -4)) == pytest.approx(math.sqrt(12.5))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        to_mono_8k(b"", channels=0, rate=8000)
    with pytest.raises(ValueError, match="width"):
        to_mono_8k(b"\x00" * 5, channels=1, rate=8000, sample_width=5)
