"""Greetings: WAV files a number plays to callers, kept as 8 kHz mono 16-bit PCM."""

from __future__ import annotations

import io
import wave
from functools import lru_cache
from importlib import resources
from pathlib import Path

from dialtone.codecs.resample import to_mono_8k
from dialtone.core.errors import DialtoneError

MAX_GREETING_SECONDS = 300


# Uploaded greetings are at most this size (about 10 minutes of 8 kHz 16-bit stereo).
MAX_GREETING_BYTES = 10 * 1024 * 1024


def default_greeting_path() -> Path:
    """The greeting that ships with the package."""
    return Path(str(resources.files("dialtone") / "assets" / "greeting.wav"))


def default_voicemail_greeting_path() -> Path:
    """The voicemail greeting for users who recorded none ("leave a message")."""
    return Path(str(resources.files("dialtone") / "assets" / "voicemail.wav"))


def recording_notice_path() -> Path:
    """The prompt played to both parties before a call is recorded (TERMS V8)."""
    return Path(str(resources.files("dialtone") / "assets" / "recording-notice.wav"))


def wav_to_pcm8k(data: bytes) -> bytes:
    """Decode a PCM WAV (any rate, mono or stereo, 8–32 bit) to 8 kHz mono 16-bit.

    Raises ``greeting.invalid`` for anything that is not an uncompressed PCM WAV.
    """
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, ValueError) as exc:
        raise DialtoneError(
            "greeting.invalid", f"The greeting must be an uncompressed PCM WAV file ({exc})."
        ) from None
    if not 1 <= channels <= 2 or width not in (1, 2, 3, 4) or not 4000 <= rate <= 192000:
        raise DialtoneError(
            "greeting.invalid", "The greeting must be mono or stereo PCM, 4–192 kHz."
        )
    if len(frames) / (channels * width * rate) > MAX_GREETING_SECONDS:
        raise DialtoneError(
            "greeting.too_long", f"A greeting lasts at most {MAX_GREETING_SECONDS} s."
        )
    return to_mono_8k(frames, channels=channels, rate=rate, sample_width=width)


def pcm8k_to_wav(pcm: bytes) -> bytes:
    """Wrap 8 kHz mono 16-bit PCM in a WAV container."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(pcm)
    return out.getvalue()


def store_greeting(directory: Path, name: str, data: bytes) -> str:
    """Validate and convert an uploaded WAV, store it as ``name``.wav; returns the file name."""
    pcm = wav_to_pcm8k(data)
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"{name}.wav"
    tmp = directory / (filename + ".tmp")
    tmp.write_bytes(pcm8k_to_wav(pcm))
    tmp.replace(directory / filename)
    return filename


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> bytes:
    return wav_to_pcm8k(Path(path).read_bytes())


def load_greeting(path: Path) -> bytes:
    """8 kHz mono PCM of the greeting at ``path`` (cached until the file changes)."""
    return _load(str(path), path.stat().st_mtime_ns)
