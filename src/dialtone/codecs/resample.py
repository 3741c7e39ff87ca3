"""Down-mixing and resampling to the 8 kHz mono 16-bit PCM that G.711 carries."""

from __future__ import annotations

import math
import sys
from array import array

TARGET_RATE = 8000
SAMPLE_WIDTHS = (1, 2, 3, 4)


def _int16_samples(pcm: bytes, sample_width: int) -> list[int]:
    """Samples scaled to 16 bits; a trailing partial sample is ignored."""
    if sample_width == 1:
        # 8-bit WAV is unsigned with 128 as zero.
        return [(b - 128) << 8 for b in pcm]
    usable = len(pcm) - len(pcm) % sample_width
    if sample_width == 2:
        samples = array("h")
        samples.frombytes(pcm[:usable])
        if sys.byteorder == "big":
            samples.byteswap()
        return samples.tolist()
    if sample_width in (3, 4):
        # The two most significant bytes of each little-endian sample are its 16-bit value
        # (truncation, as audioop.lin2lin does).
        return [
            int.from_bytes(pcm[i + sample_width - 2 : i + sample_width], "little", signed=True)
            for i in range(0, usable, sample_width)
        ]
    raise ValueError(f"unsupported sample width {sample_width}; expected one of {SAMPLE_WIDTHS}")


def _downmix(samples: list[int], channels: int) -> list[int]:
    if channels == 1:
        return samples
    frames = len(samples) // channels
    return [sum(samples[i * channels : (i + 1) * channels]) // channels for i in range(frames)]


def _resample(mono: list[int], rate: int) -> list[int]:
    if rate == TARGET_RATE or not mono:
        return mono
    count = max(1, len(mono) * TARGET_RATE // rate)
    last = len(mono) - 1
    out: list[int] = []
    for i in range(count):
        # Output sample i sits at input position i * rate / 8000; integer arithmetic keeps
        # exact ratios (16 kHz, 48 kHz) from drifting by float rounding.
        j, remainder = divmod(i * rate, TARGET_RATE)
        a = mono[min(j, last)]
        b = mono[min(j + 1, last)]
        out.append(a + round((b - a) * remainder / TARGET_RATE))
    return out


def to_mono_8k(pcm: bytes, *, channels: int, rate: int, sample_width: int = 2) -> bytes:
    """Convert interleaved PCM to 8000 Hz mono 16-bit signed little-endian PCM.

    Channels are averaged; the rate is changed by linear interpolation (no anti-alias
    filter). ``sample_width`` 1 is unsigned 8-bit as in WAV files; 2, 3 and 4 are signed
    little-endian. A trailing partial frame is ignored. Raises ValueError on a non-positive
    ``channels`` or ``rate`` or an unsupported ``sample_width``.
    """
    if channels < 1:
        raise ValueError(f"channels must be positive, got {channels}")
    if rate < 1:
        raise ValueError(f"rate must be positive, got {rate}")
    if sample_width not in SAMPLE_WIDTHS:
        raise ValueError(
            f"unsupported sample width {sample_width}; expected one of {SAMPLE_WIDTHS}"
        )
    mono = _resample(_downmix(_int16_samples(pcm, sample_width), channels), rate)
    result = array("h", mono)
    if sys.byteorder == "big":
        result.byteswap()
    return result.tobytes()


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit signed little-endian samples; 0.0 when there are none.

    A trailing odd byte is ignored.
    """
    samples = _int16_samples(pcm, 2)
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))
