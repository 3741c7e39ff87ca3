"""Text-to-speech: the interface every engine offers, and a fake for tests.

A synthesizer turns text into what a call plays: 16-bit signed little-endian mono PCM
at 8 kHz. It has voices (``speech.voices.Voice``) and resolves TwiML's voice names to
them (``speech.voices.choose_voice``); ``name`` identifies the engine and its model, so
a prompt cached from one engine is never played for another.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from dataclasses import dataclass, field
from typing import Protocol

from dialtone.speech.voices import Voice, VoiceChoice, choose_voice


class SynthesisError(Exception):
    """The engine could not say this text."""


class Synthesizer(Protocol):
    """Text in, 8 kHz 16-bit mono PCM out."""

    @property
    def name(self) -> str:
        """The engine and its model ("hibari-0.2.1"): part of every cached prompt's key."""
        ...

    @property
    def voices(self) -> tuple[Voice, ...]:
        """The voices it has, the default first."""
        ...

    def choose(self, voice: str | None, language: str | None) -> VoiceChoice:
        """The voice that speaks for a TwiML voice name and language."""
        ...

    def synthesize(self, text: str, *, voice: str | None, language: str | None) -> bytes:
        """``text`` spoken by the voice ``choose`` gives, as 8 kHz 16-bit mono PCM.
        Raises ``SynthesisError``."""
        ...


FAKE_VOICES = (Voice("fake-female", "en-US", "female"), Voice("fake-male", "en-US", "male"))


@dataclass
class FakeSynthesizer:
    """A tone per word, 120 ms each with 40 ms between, pitched by the word and the
    voice: deterministic, as long as the text is, and instant. Records each call."""

    name: str = "fake"
    voices: tuple[Voice, ...] = FAKE_VOICES
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def choose(self, voice: str | None, language: str | None) -> VoiceChoice:
        return choose_voice(self.voices, self.voices[0], voice, language)

    def synthesize(self, text: str, *, voice: str | None, language: str | None) -> bytes:
        chosen = self.choose(voice, language)
        self.calls.append((text, chosen.voice.name, chosen.language))
        out = array("h")
        for word in text.split():
            digest = hashlib.sha256(f"{chosen.voice.name}:{word}".encode()).digest()
            frequency = 300 + digest[0] * 8
            out.extend(int(8000 * math.sin(2 * math.pi * frequency * i / 8000)) for i in range(960))
            out.extend([0] * 320)
        return out.tobytes()
