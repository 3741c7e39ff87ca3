"""Offline transcription of voicemail: a ``Recognizer`` behind the voicemail's
``Transcriber`` interface (``outside.speech_to_text``), so an operator can choose
transcripts made on this machine instead of by an HTTP service (setting
``voicemail_transcriber = "offline"``).

Recognition runs in an executor (by default a single thread: one voicemail at a time,
one core's worth of the model), so the event loop never waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

from dialtone.outside.speech_to_text import TranscriptionError
from dialtone.speech.recognizer import Recognition, RecognitionError, Recognizer
from dialtone.speech.wav import wav_to_pcm


class AsyncRecognizer:
    """A recognizer awaited from the event loop: each ``recognize`` runs in
    ``executor`` (by default its own single worker thread)."""

    def __init__(self, recognizer: Recognizer, executor: Executor | None = None) -> None:
        self.recognizer = recognizer
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="speech-to-text")

    async def recognize(
        self, pcm8k: bytes, *, language: str | None, hints: Sequence[str] = ()
    ) -> Recognition:
        """See ``Recognizer.recognize``; raises ``RecognitionError``."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor,
            lambda: self.recognizer.recognize(pcm8k, language=language, hints=tuple(hints)),
        )


class OfflineTranscriber:
    """``Transcriber`` for voicemail over a local ``Recognizer``."""

    def __init__(self, recognizer: Recognizer, executor: Executor | None = None) -> None:
        self.front = AsyncRecognizer(recognizer, executor)

    async def transcribe(self, wav: bytes, *, language: str | None = None) -> str:
        """The words of a WAV (16-bit PCM, any rate); ``TranscriptionError`` when it is
        not one or the engine fails (the message is kept without a transcript)."""
        try:
            pcm = wav_to_pcm(wav)
        except ValueError as exc:
            raise TranscriptionError(f"voicemail audio unreadable: {exc}") from exc
        try:
            result = await self.front.recognize(pcm, language=language)
        except RecognitionError as exc:
            raise TranscriptionError(str(exc)) from exc
        return result.text
