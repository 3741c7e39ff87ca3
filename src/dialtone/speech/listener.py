"""One Gather's listening, for the runtime: the caller's audio in, two callbacks out.

The call core asks for speech with ``actions.Listen(ref, speech)`` and expects
``SpeechStarted(ref)`` when the caller begins and ``SpeechHeard(ref, text, confidence)``
at the end. A ``Listener`` does what lies between: it takes the caller's decoded audio
as it arrives (any packet size; WebRTC's VAD judges 20 ms frames), runs the
``Endpointer``, and when the utterance ends has it recognised off the loop
(``AsyncRecognizer``), then calls ``on_heard``. Nobody speaking before the endpointer's
timeout, or the engine failing, is heard as "" (the core decides what that means).

Early recognition: with the endpointer's ``early`` set, the caller's first ``early``
seconds of silence (``Pausing``) start a recognition of the utterance so far, while the
endpointer waits out ``end_silence``. If the utterance then ends with the same voiced
audio (only more silence after it), that recognition is the answer, ready sooner by
``end_silence - early``; if the caller spoke again it is dropped (one still waiting
its turn is cancelled; one the engine is running finishes unheard, as an engine
thread cannot be stopped). One listener never runs two recognitions at once: each
waits for the one before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from dialtone.speech.endpoint import (
    FRAME_BYTES,
    EndpointConfig,
    Endpointer,
    EndpointEvent,
    Pausing,
    SpeechEnded,
    SpeechStarted,
    VoiceDetector,
)
from dialtone.speech.recognizer import Recognition, RecognitionError
from dialtone.speech.transcriber import AsyncRecognizer

log = logging.getLogger(__name__)

NOTHING = Recognition("", 0.0)


class Listener:
    """Listens once; ``close`` stops it (the Gather ended by a digit, the call hung
    up): a recognition under way is cancelled and nothing more is called back."""

    def __init__(
        self,
        recognizer: AsyncRecognizer,
        config: EndpointConfig,
        detector: VoiceDetector,
        *,
        now: float,
        language: str | None,
        hints: Sequence[str],
        on_started: Callable[[], None],
        on_heard: Callable[[Recognition], None],
    ) -> None:
        self.recognizer = recognizer
        self.endpointer = Endpointer(config, detector, now=now)
        self.language = language
        self.hints = tuple(hints)
        self.on_started = on_started
        self.on_heard = on_heard
        self.closed = False
        # When the endpointer judged the utterance over (its ``now``), for timings.
        self.ended_at: float | None = None
        self._partial = b""
        self._task: asyncio.Task[None] | None = None
        self._turn = asyncio.Lock()  # one recognition at a time
        self._early: asyncio.Task[Recognition] | None = None
        self._early_voiced = -1
        self._running: asyncio.Task[Recognition] | None = None  # the one in the engine
        # What happened, for the runtime's figures: recognitions started (early or
        # final), and whether the answer was the early one.
        self.recognitions = 0
        self.early_used = False

    def feed(self, pcm8k: bytes, now: float) -> None:
        """Decoded audio of the caller (8 kHz 16-bit mono) received at ``now``."""
        if self.closed:
            return
        data = self._partial + pcm8k
        whole = len(data) - len(data) % FRAME_BYTES
        self._partial = data[whole:]
        for start in range(0, whole, FRAME_BYTES):
            self._handle(self.endpointer.feed(data[start : start + FRAME_BYTES], now))

    def check(self, now: float) -> None:
        """Time passing with no audio: call at ``deadline()``."""
        if not self.closed:
            self._handle(self.endpointer.check(now))

    def deadline(self) -> float | None:
        """When ``check`` is due (None once the utterance is over)."""
        return None if self.closed else self.endpointer.deadline()

    def close(self) -> None:
        """Stop listening; no callback follows."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
        if self._early is not None:
            self._early.cancel()

    def _handle(self, events: list[EndpointEvent]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self.on_started()
            elif isinstance(event, Pausing):
                self._speculate(event)
            elif isinstance(event, SpeechEnded):
                self.ended_at = event.at
                self._task = asyncio.get_running_loop().create_task(self._finish(event))
            else:
                self.closed = True
                self.on_heard(NOTHING)

    def _speculate(self, pausing: Pausing) -> None:
        """Start recognising the utterance so far; an earlier guess is dropped."""
        self._drop_early()
        self._early_voiced = pausing.voiced
        self._early = asyncio.get_running_loop().create_task(self._recognised(pausing.audio))

    def _drop_early(self) -> None:
        # A guess still waiting for its turn is cancelled; one in the engine is left to
        # finish (the thread cannot be stopped) and its words are never used.
        if self._early is not None and self._early is not self._running:
            self._early.cancel()
        self._early = None
        self._early_voiced = -1

    async def _finish(self, ended: SpeechEnded) -> None:
        early = self._early
        if early is not None and self._early_voiced == ended.voiced and not early.cancelled():
            self.early_used = True
            waiting = early
        else:
            self._drop_early()
            waiting = asyncio.ensure_future(self._recognised(ended.audio))
        try:
            result = await waiting
        except asyncio.CancelledError:
            if self.closed:
                raise
            result = NOTHING
        if not self.closed:
            self.closed = True
            self.on_heard(result)

    async def _recognised(self, audio: bytes) -> Recognition:
        async with self._turn:
            self.recognitions += 1
            self._running = asyncio.current_task()
            try:
                return await self.recognizer.recognize(
                    audio, language=self.language, hints=self.hints
                )
            except RecognitionError as exc:
                log.warning("speech-to-text failed: %s", exc)
                return NOTHING
            finally:
                self._running = None
