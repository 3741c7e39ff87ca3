"""Prompts played into calls (greetings, the recording notice), encoded once per codec."""

from __future__ import annotations

import logging
import math
import struct
from functools import lru_cache
from pathlib import Path

from dialtone.codecs.g711 import encoder_for
from dialtone.services.telephony.greetings import load_greeting

log = logging.getLogger("dialtone.prompts")


def _beep(seconds: float = 0.25, hz: float = 440.0) -> bytes:
    """A short tone after a greeting: "recording starts now"."""
    n = int(8000 * seconds)
    return b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * hz * i / 8000))) for i in range(n)
    )


BEEP = _beep()


def encoded_prompt(path: Path, codec: str, *, beep: bool = True) -> bytes:
    """The prompt at ``path`` (then the tone, when ``beep``), encoded in ``codec``.

    Cached per file version: an operator replacing a greeting is heard on the next call.
    An unreadable file plays the tone alone (or nothing) rather than failing the call.
    """
    try:
        version = path.stat().st_mtime_ns
    except OSError:
        version = -1
    return _encoded(str(path), version, codec, beep)


@lru_cache(maxsize=128)
def _encoded(path: str, version: int, codec: str, beep: bool) -> bytes:
    try:
        pcm = load_greeting(Path(path))
    except Exception:
        log.exception("prompt %s unreadable; playing the tone only", path)
        pcm = b""
    return encoder_for(codec)(pcm + (BEEP if beep else b""))
