"""Down-mixing and resampling to the 8 kHz mono 16-bit PCM that G.711 carries."""

from __future__ import annotations

import math
import sys
from array import array

TARGET_RATE = 8000


def _to_int16_samples(pcm: bytes, sample_width: int) -> list[int]:
    if sample_width == 1:  # unsigned 8-bit WAV
        return [(b - 128) << 8 for b in pcm]
    if sample_width == 2:
        samples = array("h")
        samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
        if sys.byteorder == "big":
            samples.byteswap()
        return samples.tolist()
    if sample_width in (3, 4):
        step = sample_width
        usable = len(pcm) - len(pcm) % step
        # Keep the two most significant bytes of each little-endian sample.
        return [
            int.from_bytes(pcm[i + step - 2 : i + step], "little", signed=True)
            for i in range(0, usable, step)
        ]
    raise ValueError(f"unsupported sample width {sample_width}")


def to_mono_8k(pcm: bytes, *, channels: int, rate: int, sample_width: int = 2) -> bytes:
    """Average the channels and resample linearly to 8000 Hz; 16-bit LE out."""
    if channels < 1 or rate < 1:
        raise ValueError("channels and rate must be positive")
    samples = _to_int16_samples(pcm, sample_width)
    frames = len(samples) // channels
    if channels == 1:
        mono = samples[:frames]
    else:
        mono = [sum(samples[i * channels : (i + 1) * channels]) // channels for i in range(frames)]
    if rate != TARGET_RATE and mono:
        count = max(1, math.floor(len(mono) * TARGET_RATE / rate))
        step = rate / TARGET_RATE
        last = len(mono) - 1
        out = []
        for i in range(count):
            pos = i * step
            j = int(pos)
            frac = pos - j
            a = mono[min(j, last)]
            b = mono[min(j + 1, last)]
            out.append(int(a + (b - a) * frac))
        mono = out
    result = array("h", mono)
    if sys.byteorder == "big":
        result.byteswap()
    return result.tobytes()


def rms(pcm: bytes) -> float:
    """Root mean square of 16-bit LE samples; 0.0 for no samples."""
    samples = _to_int16_samples(pcm, 2)
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))
