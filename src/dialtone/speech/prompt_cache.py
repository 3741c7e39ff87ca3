"""Spoken prompts kept as WAV files: synthesised once, played many times.

``PromptCache(directory, synthesizer).path_for(text, voice, language)`` is the path of
an 8 kHz 16-bit mono WAV (what ``services.telephony.greetings.load_greeting`` reads and
a call's ``Play`` takes) named by a hash of the engine, the voice chosen, its language
and the text. The first request synthesises it; the file is written to a temporary name
beside it and renamed into place, so a reader (another call, another process) sees the
whole file or none. Requests for the same prompt at the same time synthesise it once:
threads wait on the prompt's lock, coroutines on its one task.

``await cache.prompt(...)`` runs synthesis in an executor: the event loop that carries
the calls' media never waits for the engine.

The directory holds at most ``max_files`` prompts; past that the least recently used go
(each use sets the file's access time explicitly, so mount options such as ``noatime``
do not matter). A prompt just made or just used is never the one evicted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Protocol

from dialtone.speech.synthesizer import Synthesizer
from dialtone.speech.wav import pcm8k_to_wav

log = logging.getLogger(__name__)

SUFFIX = ".wav"
# How a prompt is made (its leading silence trimmed since "2"): a change makes new files.
FORMAT = "2"
LOCK_STRIPES = 64


class PromptCache:
    """Prompts of one synthesizer in one directory (created when first needed)."""

    def __init__(
        self,
        directory: Path,
        synthesizer: Synthesizer,
        *,
        max_files: int = 2000,
        executor: Executor | None = None,
        voice: str | None = None,
        language: str | None = None,
    ) -> None:
        if max_files < 1:
            raise ValueError("max_files must be at least 1")
        self.directory = directory
        self.synthesizer = synthesizer
        self.max_files = max_files
        self.executor = executor
        self.voice = voice  # when a prompt names none (setting speech_voice)
        self.language = language  # likewise (speech_language)
        self.synthesized = 0  # prompts made by this cache (the rest were found on disk)
        # Striped: a lock per prompt would be a dict that only grows.
        self._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))
        self._tasks: dict[str, asyncio.Future[Path]] = {}

    def key(self, text: str, voice: str | None, language: str | None) -> str:
        """The prompt's name: a hash of the engine, the voice that speaks (after
        TwiML's names are resolved: "alice" and "woman" may share a file), its language
        and the text (its runs of white space as one space, as they are spoken)."""
        text = _spoken(text)
        choice = self.synthesizer.choose(voice or self.voice, language or self.language)
        material = "\x00".join(
            (FORMAT, self.synthesizer.name, choice.voice.name, choice.language, text)
        ).encode()
        return hashlib.sha256(material).hexdigest()[:40]

    def path_for(self, text: str, voice: str | None = None, language: str | None = None) -> Path:
        """The WAV of ``text`` spoken, synthesised now if it is not on disk. Blocks
        while the engine runs: from the event loop use ``prompt``."""
        key = self.key(text, voice, language)
        path = self.directory / (key + SUFFIX)
        text = _spoken(text)
        with self._lock_for(key):
            if path.is_file():
                _touch(path)
                return path
            pcm = self.synthesizer.synthesize(
                text, voice=voice or self.voice, language=language or self.language
            )
            self._write(path, pcm8k_to_wav(trim_leading_silence(pcm)))
            self.synthesized += 1
        self._evict(keep=path)
        return path

    def file_for(self, text: str, voice: str | None = None, language: str | None = None) -> Path:
        """Where the prompt of ``text`` is (or will be), without making it."""
        return self.directory / (self.key(text, voice, language) + SUFFIX)

    async def prompt(
        self, text: str, voice: str | None = None, language: str | None = None
    ) -> Path:
        """``path_for`` in the executor; concurrent awaits of one prompt share a run."""
        path = self.file_for(text, voice, language)
        running = self._start(path, text, voice, language)
        return path if running is None else await asyncio.shield(running)

    def start(
        self, text: str, voice: str | None = None, language: str | None = None
    ) -> asyncio.Future[Path] | None:
        """Begin making the prompt in the executor (None: it is on disk already); what
        ``pending`` then answers until it is made. From the event loop."""
        return self._start(self.file_for(text, voice, language), text, voice, language)

    def pending(self, path: str | Path) -> asyncio.Future[Path] | None:
        """The making of the prompt at ``path`` under way, if any."""
        return self._tasks.get(Path(path).stem)

    def _start(
        self, path: Path, text: str, voice: str | None, language: str | None
    ) -> asyncio.Future[Path] | None:
        key = path.stem
        running = self._tasks.get(key)
        if running is not None:
            return running
        if path.is_file():
            # The common case, a prompt already made: no thread hop.
            _touch(path)
            return None
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(self.executor, self.path_for, text, voice, language)
        self._tasks[key] = running
        running.add_done_callback(lambda _: self._tasks.pop(key, None))
        return running

    def _lock_for(self, key: str) -> threading.Lock:
        return self._locks[int(key[:8], 16) % LOCK_STRIPES]

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _evict(self, keep: Path) -> None:
        try:
            entries = [
                (entry.stat().st_atime_ns, Path(entry.path))
                for entry in os.scandir(self.directory)
                if entry.name.endswith(SUFFIX) and entry.is_file()
            ]
        except OSError as exc:
            log.warning("prompt cache %s not listed: %s", self.directory, exc)
            return
        excess = len(entries) - self.max_files
        if excess <= 0:
            return
        entries.sort()
        for _, old in entries:
            if excess <= 0:
                break
            if old == keep:
                continue
            old.unlink(missing_ok=True)
            excess -= 1


class SayRequest(Protocol):
    """What a task asking for speech carries (TwiML ``<Say>``'s text, voice, language):
    any frozen dataclass with these fields."""

    @property
    def text(self) -> str: ...

    @property
    def voice(self) -> str | None: ...

    @property
    def language(self) -> str | None: ...


def say_handler(cache: PromptCache) -> Callable[[Any, SayRequest], Awaitable[str]]:
    """A ``RunTask`` handler for the runtime's task registry (``AppTasks.register``):
    the spoken prompt's path, for the application's next ``Play``."""

    async def handle(_spec: Any, task: SayRequest) -> str:
        return str(await cache.prompt(task.text, task.voice, task.language))

    return handle


# A synthesised prompt's start quieter than this (about -50 dBFS) is silence the caller
# would wait through before the first word: the engine pads its output (hibari by
# 180 ms), which was most of a TwiML turn's latency (benchmarks/twiml_turn.py).
SILENCE_LEVEL = 100
KEEP_SILENCE = 0.02  # seconds kept before the first sound: no click at the onset


def trim_leading_silence(pcm: bytes, *, rate: int = 8000) -> bytes:
    """``pcm`` (16-bit little-endian mono) from ``KEEP_SILENCE`` before its first
    sample louder than ``SILENCE_LEVEL``; all of it when it never gets that loud."""
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    for index, sample in enumerate(samples):
        if abs(sample) > SILENCE_LEVEL:
            start = max(0, index - int(KEEP_SILENCE * rate))
            return pcm[2 * start :]
    return pcm


def _spoken(text: str) -> str:
    return " ".join(text.split())


def _touch(path: Path) -> None:
    """Mark a prompt used: its access time now, its modification time kept (readers
    cache a file's content by it)."""
    try:
        stat = path.stat()
        os.utime(path, ns=(time.time_ns(), stat.st_mtime_ns))
    except OSError:
        pass  # evicted meanwhile: the caller's path_for makes it again next time
