"""TwiML on calls (issue 16): the interpreter (``dialtone.twiml``) runs as a call
application; this is what it asks of the runtime, one handler per task type
(``AppTasks``): documents fetched (signed, SSRF-guarded, with their fallback), speech
synthesised and audio fetched before a document plays, recordings saved (and
transcribed, labelled machine-generated, TERMS V9), errors put on the account's log,
callbacks owed.

Nothing here decides what a call does: the interpreter does, from the documents.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from dialtone.call.spec import CallSpec
from dialtone.outside.speech_to_text import Transcriber, TranscriptionError
from dialtone.services.accounts import error_log
from dialtone.services.ids import new_id
from dialtone.services.telephony.voicemails import TRANSCRIPT_LABEL
from dialtone.speech.decode import decode_to_pcm8k
from dialtone.speech.prompt_cache import PromptCache
from dialtone.speech.wav import pcm8k_to_wav
from dialtone.store import sealed
from dialtone.store.db import transaction
from dialtone.store.programmable_models import Recording
from dialtone.twiml import tasks as t

from .app_tasks import AppTasks
from .tasks import TaskSet

log = logging.getLogger("dialtone.twiml")

# A <Play> file larger than this is refused (a 10-minute MP3 at 128 kb/s is 9.6 MB).
MAX_AUDIO_BYTES = 16 * 1024 * 1024


class DocumentFetcher(Protocol):
    """Requests TwiML for an account (``runtime.twiml_fetch.TwimlFetcher``)."""

    async def fetch(
        self,
        account_id: str,
        url: str,
        method: str,
        params: Iterable[tuple[str, object]],
        *,
        fallback_url: str | None = None,
        fallback_method: str = "POST",
    ) -> Any: ...


class AudioGetter(Protocol):
    """GETs an audio file for ``<Play>`` (the SSRF-guarded HTTP client): its bytes."""

    async def __call__(self, url: str, limit: int) -> bytes: ...


class Owe(Protocol):
    """Owes a Twilio-style callback (``params`` to ``url`` by ``method``) for the
    account, in the caller's transaction (``webhooks.enqueue_twilio``)."""

    def __call__(
        self,
        session: Session,
        account_id: str,
        *,
        url: str,
        method: str,
        params: tuple[tuple[str, str], ...],
        event: str,
        now: datetime,
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class TwimlPlaces:
    """Where TwiML's files go: fetched ``<Play>`` audio (a cache), ``<Record>``'s
    recordings (per account); ``public_url`` begins the ``RecordingUrl`` callers get."""

    audio_dir: Path
    recordings_dir: Path
    public_url: str


class TwimlTasks:
    """The handlers of the interpreter's tasks."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        db: ThreadPoolExecutor,
        places: TwimlPlaces,
        fetcher: DocumentFetcher,
        prompts: PromptCache,
        get_audio: AudioGetter,
        owe: Owe,
        transcriber: Transcriber | None = None,
        recording_key: bytes | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.places = places
        self.fetcher = fetcher
        self.prompts = prompts
        self.get_audio = get_audio
        self.owe = owe
        self.transcriber = transcriber
        self.recording_key = recording_key
        self.clock = clock
        self._audio: dict[str, asyncio.Future[Path]] = {}
        self.background = TaskSet(log, "twiml")
        # One transcription at a time: the engine is one CPU's work.
        self._one_at_a_time = asyncio.Semaphore(1)

    def register(self, tasks: AppTasks) -> None:
        """Handle the interpreter's task types in ``tasks``."""
        tasks.register(t.FetchTwiml, self.fetch)
        tasks.register(t.Prepare, self.prepare)
        tasks.register(t.SaveRecording, self.save_recording)
        tasks.register(t.ReportError, self.report_error)
        tasks.register(t.Notify, self.notify)

    async def _write(self, fn: Callable[[Session], object]) -> None:
        def run() -> None:
            with transaction(self.sessions) as session:
                fn(session)

        await asyncio.get_running_loop().run_in_executor(self.db, run)

    # -- documents ----------------------------------------------------------------------

    async def fetch(self, spec: CallSpec, task: t.FetchTwiml) -> t.Fetched:
        """A document, as the interpreter judges answers: any status comes back; a
        request that got no answer at all is an error (11200 by the interpreter)."""
        got = await self.fetcher.fetch(
            spec.account_id,
            task.url,
            task.method,
            task.params,
            fallback_url=task.fallback_url,
            fallback_method=task.fallback_method,
        )
        if got.status is None:
            raise OSError(got.error or "no answer")
        return t.Fetched(got.url, got.status, got.content_type, got.body)

    # -- what a document plays ------------------------------------------------------------

    async def prepare(self, spec: CallSpec, task: t.Prepare) -> t.Prepared:
        """Every ``<Say>`` synthesised and every ``<Play>`` fetched, at once; one that
        fails is left out (the interpreter reports it and goes on)."""

        async def say(speech: t.Speech) -> tuple[t.Speech | str, str | None]:
            try:
                path = await self.prompts.prompt(speech.text, speech.voice, speech.language)
            except Exception as exc:
                log.warning("call %s: <Say> not synthesised: %s", spec.record_id, exc)
                return speech, None
            return speech, str(path)

        async def play(url: str) -> tuple[t.Speech | str, str | None]:
            try:
                return url, str(await self.audio(url))
            except Exception as exc:
                log.warning("call %s: <Play> %s not fetched: %s", spec.record_id, url, exc)
                return url, None

        jobs: list[Awaitable[tuple[t.Speech | str, str | None]]] = [
            *(say(s) for s in task.says),
            *(play(u) for u in task.plays),
        ]
        done = await asyncio.gather(*jobs)
        return {key: path for key, path in done if path is not None}

    async def audio(self, url: str) -> Path:
        """``url``'s audio as a WAV calls play, fetched once and kept (by its URL)."""
        name = hashlib.sha256(url.encode()).hexdigest()[:40] + ".wav"
        path = self.places.audio_dir / name
        if path.is_file():
            return path
        running = self._audio.get(name)
        if running is None:
            running = asyncio.ensure_future(self._fetch_audio(url, path))
            self._audio[name] = running
            running.add_done_callback(lambda _: self._audio.pop(name, None))
        return await asyncio.shield(running)

    async def _fetch_audio(self, url: str, path: Path) -> Path:
        data = await self.get_audio(url, MAX_AUDIO_BYTES)
        loop = asyncio.get_running_loop()
        pcm = await loop.run_in_executor(None, decode_to_pcm8k, data)
        await loop.run_in_executor(None, _write_atomically, path, pcm8k_to_wav(pcm))
        return path

    # -- recordings -----------------------------------------------------------------------

    async def save_recording(self, spec: CallSpec, task: t.SaveRecording) -> t.SavedRecording:
        """The ``<Record>``'s file kept as a recording of the account (TERMS D5, D6), its
        transcript to come when asked (V9); the callbacks that wait for its SID sent."""
        sid = new_id("RE")
        url = f"{self.places.public_url}/2010-04-01/Accounts/{spec.account_id}/Recordings/{sid}"
        now = self.clock()

        def store(session: Session) -> None:
            session.add(
                Recording(
                    id=sid,
                    account_id=spec.account_id,
                    call_sid=task.call_sid,
                    path=task.path,
                    duration=Decimal(str(round(task.seconds, 3))),
                    channels=2,
                    created_at=now,
                )
            )
            extra = (("RecordingSid", sid), ("RecordingUrl", url))
            for then in (task.status_callback, task.action):
                if then is None:
                    continue
                params = tuple(then.params) + extra
                event = "recording.status" if isinstance(then, t.Notify) else "twiml.action"
                self.owe(
                    session,
                    spec.account_id,
                    url=then.url,
                    method=then.method,
                    params=params,
                    event=event,
                    now=now,
                )

        await self._write(store)
        if task.transcribe or task.transcribe_callback:
            self.background.spawn(self.transcribe(spec, task, sid, url))
        return t.SavedRecording(sid, url)

    async def transcribe(self, spec: CallSpec, task: t.SaveRecording, sid: str, url: str) -> None:
        """The recording's transcript, stored labelled machine-generated (TERMS V9) and
        sent to ``transcribeCallback`` when the document gave one (failed when no engine
        could make it)."""
        text: str | None = None
        if self.transcriber is not None:
            loop = asyncio.get_running_loop()
            async with self._one_at_a_time:
                try:
                    wav = await loop.run_in_executor(
                        None, sealed.read_recording, Path(task.path), self.recording_key
                    )
                    text = await self.transcriber.transcribe(wav)
                except (OSError, TranscriptionError, sealed.SealError) as exc:
                    log.warning("recording %s not transcribed: %s", sid, exc)
        now = self.clock()

        def store(session: Session) -> None:
            if text is not None:
                row = session.get(Recording, sid)
                if row is not None:
                    row.transcript = text
                    row.transcript_label = TRANSCRIPT_LABEL
            if task.transcribe_callback:
                params = (
                    ("AccountSid", spec.account_id),
                    ("CallSid", task.call_sid),
                    ("RecordingSid", sid),
                    ("RecordingUrl", url),
                    ("TranscriptionStatus", "completed" if text is not None else "failed"),
                    ("TranscriptionText", text or ""),
                    ("TranscriptionType", "fast"),
                    # TERMS V9: whoever reads it is told a machine wrote it.
                    ("TranscriptionLabel", TRANSCRIPT_LABEL),
                )
                self.owe(
                    session,
                    spec.account_id,
                    url=task.transcribe_callback,
                    method="POST",
                    params=params,
                    event="recording.transcription",
                    now=now,
                )

        await self._write(store)

    async def close(self, timeout: float = 10.0) -> None:
        """Let transcriptions in flight finish (bounded), then drop the rest."""
        await self.background.wait(timeout)
        self.background.cancel()

    # -- what the account is told -----------------------------------------------------------

    async def report_error(self, spec: CallSpec, task: t.ReportError) -> None:
        """The error on the account's log, as Twilio's debugger would show it."""
        entry = error_log.ApiError(
            at=self.clock(),
            account_id=spec.account_id,
            client_ip=None,
            method="TwiML",
            path=(task.url or f"call {spec.record_id}")[:300],
            status=task.code,
            code=f"twilio.{task.code}",
            message=f"call {spec.record_id}: {task.message}",
        )
        log.info("call %s: TwiML error %d: %s", spec.record_id, task.code, task.message)
        await self._write(lambda session: error_log.record(session, entry))

    async def notify(self, spec: CallSpec, task: t.Notify) -> None:
        """A callback the document asked for, owed (sent and retried by the sender)."""
        now = self.clock()
        await self._write(
            lambda session: self.owe(
                session,
                spec.account_id,
                url=task.url,
                method=task.method,
                params=tuple(task.params),
                event="twiml.notify",
                now=now,
            )
        )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".audio-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
