"""Voicemail transcripts: the message is saved first, the transcript follows when the
configured transcriber answers (TERMS V9: stored labelled machine-generated).

A transcriber that fails or is down costs nothing but the transcript; messages left
while it was unreachable, or before a crash, are picked up by ``sweep`` at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dialtone.outside.speech_to_text import Transcriber, TranscriptionError
from dialtone.services.telephony import voicemails as voicemail_service
from dialtone.store import sealed
from dialtone.store.db import transaction

from .tasks import TaskSet

log = logging.getLogger("dialtone.transcription")

# How far back a start-up sweep looks for messages still without a transcript.
SWEEP_WINDOW = timedelta(days=7)


class VoicemailTranscription:
    """Transcribes voicemail messages one at a time, in the background."""

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        sessions: sessionmaker[Session],
        db: Executor,
        language: str | None = None,
        key: bytes | None = None,
    ) -> None:
        self.transcriber = transcriber
        # TERMS D5: messages are sealed at rest; this opens them.
        self.key = key
        self.sessions = sessions
        self.db = db
        self.language = language
        self.background = TaskSet(log, "transcription")
        # One request at a time: a burst of messages must not flood the service.
        self._one_at_a_time = asyncio.Semaphore(1)

    def submit(self, voicemail_id: str, path: str) -> None:
        """Transcribe a message that has just been saved (called from the event loop)."""
        self._spawn(self.transcribe(voicemail_id, path))

    def start_sweep(self, now: datetime) -> None:
        """Run ``sweep`` in the background (at start)."""
        self._spawn(self.sweep(now))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.background.spawn(coro)

    async def transcribe(self, voicemail_id: str, path: str) -> bool:
        """Transcribe one message and store the text; False when it could not be done."""
        loop = asyncio.get_running_loop()
        async with self._one_at_a_time:
            try:
                audio = await loop.run_in_executor(
                    None, sealed.read_recording, Path(path), self.key
                )
                text = await self.transcriber.transcribe(audio, language=self.language)
            except (OSError, TranscriptionError, sealed.SealError) as exc:
                log.warning("voicemail %s not transcribed: %s", voicemail_id, exc)
                return False

            def store() -> None:
                with transaction(self.sessions) as session:
                    voicemail_service.set_transcript(session, voicemail_id, text)

            try:
                await loop.run_in_executor(self.db, store)
            except Exception:
                log.exception("voicemail %s: transcript not stored", voicemail_id)
                return False
        log.info("voicemail %s transcribed (%d characters)", voicemail_id, len(text))
        return True

    async def sweep(self, now: datetime) -> int:
        """Transcribe the recent messages that have no transcript yet; how many were done."""
        loop = asyncio.get_running_loop()

        def pending() -> list[tuple[str, str]]:
            with transaction(self.sessions) as session:
                return voicemail_service.untranscribed(session, now - SWEEP_WINDOW)

        done = 0
        for voicemail_id, path in await loop.run_in_executor(self.db, pending):
            done += await self.transcribe(voicemail_id, path)
        return done

    async def close(self, timeout: float = 10.0) -> None:
        """Let transcriptions in flight finish (bounded), then drop the rest: they are
        picked up by the next start's sweep."""
        await self.background.wait(timeout)
        self.background.cancel()


VoicemailSaved = Callable[[str, str], None]
