"""WAV files of 8 kHz 16-bit mono PCM, what calls play (``load_greeting`` reads them)."""

from __future__ import annotations

import io
import wave

import numpy as np

from dialtone.speech.resample import from_pcm16, resample, to_pcm16

RATE = 8000


def pcm8k_to_wav(pcm: bytes) -> bytes:
    """8 kHz 16-bit mono PCM in a WAV container."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    return out.getvalue()


def wav_to_pcm(data: bytes, rate: int = RATE) -> bytes:
    """A 16-bit PCM WAV (any rate, mono or stereo) as 16-bit mono PCM at ``rate``,
    channels averaged, the rate changed through ``speech.resample``'s filter. Raises
    ``ValueError`` for anything else."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, source_rate = (
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getframerate(),
            )
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file: {exc}") from None
    if width != 2 or channels < 1:
        raise ValueError(f"expected 16-bit PCM, got {width * 8}-bit with {channels} channels")
    samples = from_pcm16(frames)
    if channels > 1:
        usable = samples.size - samples.size % channels
        samples = samples[:usable].reshape(-1, channels).mean(axis=1).astype(np.float32)
    return to_pcm16(resample(samples, source_rate, rate))
