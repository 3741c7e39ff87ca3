"""What the TwiML interpreter asks of the runtime, as ``RunTask(task)`` (call/application.py).

Each task is a frozen value; the runtime keeps a handler per type, runs it and gives
the result back in ``TaskDone(task, result, error)``. The interpreter decides what to
ask and what to do with the answer; the runtime does the I/O (HTTP with signing,
timeouts and fallback, speech synthesis, files, the database).

``ReportError`` and ``Notify`` have no result, and a task holds the call's command queue
until it is done: their handlers should queue the work and return at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from dialtone.twiml.verbs import Method

Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class FetchTwiml:
    """Request a TwiML document: ``params`` as the query (GET) or form body (POST),
    signed with the account's auth token. When ``url`` fails (transport error, timeout,
    non-2xx) and ``fallback_url`` is set, the handler requests that instead. Result: a
    ``Fetched`` (any status: the interpreter judges it); ``error`` for no answer at all."""

    url: str
    method: Method = "POST"
    params: Params = ()
    fallback_url: str | None = None
    fallback_method: Method = "POST"


@dataclass(frozen=True, slots=True)
class Fetched:
    """An answer: the URL that gave it (the fallback's when the fallback answered), its
    status, Content-Type and body."""

    url: str
    status: int
    content_type: str | None
    body: bytes | str


@dataclass(frozen=True, slots=True)
class Speech:
    """Text to synthesise (``<Say>``); ``voice`` None: the engine's default voice."""

    text: str
    voice: str | None = None
    language: str = "en-US"


@dataclass(frozen=True, slots=True)
class Prepare:
    """Everything one document will play, made ready in parallel before its first verb:
    each ``Speech`` synthesised, each audio URL fetched (WAV or MP3, cached) and both
    turned into WAV files the call can play. Result: a ``Prepared`` mapping each
    ``Speech`` and each URL to its file; one missing is skipped with a notice (11200 for
    a URL, 12400 for speech)."""

    says: tuple[Speech, ...] = ()
    plays: tuple[str, ...] = ()


Prepared = Mapping[Speech | str, str]


@dataclass(frozen=True, slots=True)
class SaveRecording:
    """Keep a ``<Record>``'s file as the call's recording (trimmed of leading and
    trailing silence when ``trim``); transcribe it later when ``transcribe``, the
    transcript labelled machine-generated (TERMS V9) and posted to
    ``transcribe_callback`` when set. Result: a ``SavedRecording``.

    Once saved, the handler sends ``status_callback`` (the recordingStatusCallback)
    and, when the caller hung up during the recording, requests ``action`` (the
    Record's action; its answer is ignored), each with ``RecordingSid`` and
    ``RecordingUrl`` added to its parameters: no ``TaskDone`` reaches an application
    after its call ended."""

    path: str
    seconds: float
    call_sid: str
    trim: bool = True
    transcribe: bool = False
    transcribe_callback: str | None = None
    status_callback: Notify | None = None
    action: FetchTwiml | None = None


class SavedRecording(NamedTuple):
    """The stored recording: its SID (RE…) and its URL under the REST API."""

    sid: str
    url: str


@dataclass(frozen=True, slots=True)
class ReportError:
    """Write the account's error log and a debugger-style notice (Twilio's ``code``);
    ``url`` is the document it concerns, when there is one. No result."""

    code: int
    message: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Notify:
    """Send a status callback the document asked for (``recordingStatusCallback``, a
    ``<Dial>`` noun's ``statusCallback``): signed like a webhook, retried by the
    sender, its answer ignored. No result."""

    url: str
    method: Method = "POST"
    params: Params = ()
