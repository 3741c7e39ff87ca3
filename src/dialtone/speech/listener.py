"""One Gather's listening, for the runtime: the caller's audio in, two callbacks out.

The call core asks for speech with ``actions.Listen(ref, speech)`` and expects
``SpeechStarted(ref)`` when the caller begins and ``SpeechHeard(ref, text, confidence)``
at the end. A ``Listener`` does what lies between: it takes the caller's decoded audio
as it arrives (any packet size; WebRTC's VAD judges 20 ms frames), runs the
``Endpointer``, and when the utterance ends has it recognised off the loop
(``AsyncRecognizer``), then calls ``on_heard``. Nobody speaking before the endpointer's
timeout, or the engine failing, is heard as "" (the core decides what that means).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from dialtone.speech.endpoint import (
    FRAME_BYTES,
    EndpointConfig,
    Endpointer,
    NoSpeech,
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
        self._partial = b""
        self._task: asyncio.Task[None] | None = None

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

    def _handle(self, events: list[SpeechStarted | SpeechEnded | NoSpeech]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self.on_started()
            elif isinstance(event, SpeechEnded):
                self._task = asyncio.get_running_loop().create_task(self._recognise(event))
            else:
                self.closed = True
                self.on_heard(NOTHING)

    async def _recognise(self, ended: SpeechEnded) -> None:
        try:
            result = await self.recognizer.recognize(
                ended.audio, language=self.language, hints=self.hints
            )
        except RecognitionError as exc:
            log.warning("speech-to-text failed: %s", exc)
            result = NOTHING
        if not self.closed:
            self.closed = True
            self.on_heard(result)
