"""Audio files from outside decoded to what calls play: the tone that went in comes out
at 8 kHz mono, whatever the container (PCM WAV, µ-law WAV, MP3)."""

from __future__ import annotations

import io
import math
import struct
import wave

import lameenc
import numpy as np
import pytest

from dialtone.codecs.g711 import encoder_for
from dialtone.speech.decode import decode_to_pcm8k

TONE = 440.0


def tone(rate: int, seconds: float = 1.0, channels: int = 1) -> bytes:
    frames = []
    for i in range(int(rate * seconds)):
        value = int(8000 * math.sin(2 * math.pi * TONE * i / rate))
        frames.append(struct.pack("<h", value) * channels)
    return b"".join(frames)


def pcm_wav(rate: int, channels: int, seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(tone(rate, seconds, channels))
    return out.getvalue()


def ulaw_wav() -> bytes:
    """An 8 kHz µ-law WAV (format 7), as telephony tools write them."""
    data = encoder_for("PCMU")(tone(8000))
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"fact" + struct.pack("<II", 4, len(data))
    chunks += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def mp3(rate: int = 44100) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(tone(rate)) + encoder.flush())


def strongest(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / 8000)[int(np.argmax(spectrum))])


@pytest.mark.parametrize(
    "data",
    [pcm_wav(44100, 2), pcm_wav(16000, 1), pcm_wav(8000, 1), ulaw_wav(), mp3()],
    ids=["wav-44k-stereo", "wav-16k", "wav-8k", "wav-ulaw", "mp3"],
)
def test_the_tone_comes_out_at_8_khz_mono(data: bytes) -> None:
    pcm = decode_to_pcm8k(data)
    seconds = len(pcm) / 16000
    assert 0.95 <= seconds <= 1.1  # MP3 frames pad the end a little
    assert strongest(pcm) == pytest.approx(TONE, abs=2)


@pytest.mark.parametrize("data", [b"", b"not audio at all", b"RIFF\x00\x00\x00\x00WAVE"])
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="not an audio file"):
        decode_to_pcm8k(data)


@pytest.mark.parametrize(("limit", "seconds"), [(1, 1.0), (2, 2.0), (3, 3.0), (4, 3.0)])
def test_a_long_file_is_cut(limit: int, seconds: float) -> None:
    pcm = decode_to_pcm8k(pcm_wav(8000, 1, seconds=3.0), max_seconds=limit)
    assert len(pcm) == int(16000 * seconds)
