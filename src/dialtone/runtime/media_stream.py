"""A media stream's WebSocket: Twilio's Media Streams protocol to the URL a ``Stream``
command names (``<Start><Stream>`` forked, ``<Connect><Stream>`` bidirectional).

``open_media_stream`` connects (ws:// or wss://, after the SSRF check it is given),
runs a ``streams.StreamSession`` over taps of the call's audio (side 0 is the caller's
``inbound`` track, side 1, a bridged callee, the ``outbound`` one) and, for a connected
stream, over the caller's speaker; ``digit`` forwards a key the caller pressed, ``stop``
sends ``stop`` and closes. However it ends (stopped, closed by the client, refused,
timed out, a message that cannot be read), ``on_end`` is called once with the reason,
so the driver can feed ``StreamEnded``; the call itself goes on.

Limits per stream (``StreamLimits``): the connect timeout; the audio a client may send
ahead of what has played (a client faster than real time: beyond it, its audio is
dropped and logged once, its marks and clears still act); the messages waiting for a
client that reads slowly (beyond it the caller's audio is dropped, as Twilio does;
far beyond it the stream ends); the size of one message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from dialtone.codecs.g711 import ulaw_decode, ulaw_encode
from dialtone.services.ids import new_id
from dialtone.streams.messages import StreamInfo, Track, tracks_of
from dialtone.streams.session import (
    Clear,
    Effect,
    End,
    Note,
    PlaceMark,
    Play,
    Send,
    State,
    StreamSession,
)

from .media import Speaker, Tap

log = logging.getLogger("dialtone.media_stream")

SIDES: dict[Track, int] = {"inbound": 0, "outbound": 1}
# Close codes (RFC 6455 §7.4.1): a normal end, and a message we could not read.
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL = 1008
# A close frame's reason is at most 123 bytes of UTF-8.
MAX_CLOSE_REASON = 120


class AudioPort(Protocol):
    """What a stream needs of a call's media: ``RtpSession`` and ``MediaRelay``."""

    def tap(self, side: int, fn: Callable[[bytes], None]) -> Tap: ...

    def speaker(self, side: int) -> Speaker: ...


TargetCheck = Callable[[str], Awaitable[None]]
"""Refuses a URL by raising (the exception's text is the reason): the SSRF guard."""


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Per-stream limits (see the module's docstring)."""

    connect_timeout: float = 5.0
    # 60 s of µ-law is 480 kB held per stream at most; a client that paces itself
    # (Pipecat does) stays far below, one that sends whole answers at once still fits.
    max_queued_seconds: float = 60.0
    # Messages waiting for the client: 250 is 5 s of the caller's audio.
    max_waiting_messages: int = 250
    # One message from the client: 1 MiB of base64 is about 98 s of audio.
    max_message_bytes: int = 1 << 20


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """How a stream ended: ``error`` None for a normal end (stopped by us, closed by the
    client normally), otherwise the reason."""

    name: str
    stream_sid: str
    error: str | None


class MediaStream:
    """One running stream (made by ``open_media_stream``)."""

    def __init__(
        self,
        port: AudioPort,
        info: StreamInfo,
        *,
        url: str,
        name: str,
        on_end: Callable[[StreamEnd], None],
        check_target: TargetCheck | None,
        headers: Sequence[tuple[str, str]],
        limits: StreamLimits,
    ) -> None:
        self.url = url
        self.name = name
        self.info = info
        self.session = StreamSession(info)
        self._port = port
        self._on_end = on_end
        self._check_target = check_target
        self._headers = list(headers)
        self._limits = limits
        self._loop = asyncio.get_running_loop()
        self._waiting: deque[str] = deque()
        self._wake = asyncio.Event()
        self._end: End | None = None
        self._taps: list[Tap] = []
        self._speaker: Speaker | None = None
        self._noted: set[str] = set()
        self._ended = False
        self._task: asyncio.Task[None] | None = None

    @property
    def stream_sid(self) -> str:
        """The stream's SID (``MZ`` and 32 hex digits)."""
        return self.info.stream_sid

    @property
    def done(self) -> bool:
        """Whether the stream has ended (``on_end`` was called)."""
        return self._ended

    def digit(self, digit: str) -> None:
        """The caller pressed ``digit`` (sent to a connected stream as ``dtmf``)."""
        self._apply(self.session.digit(digit))

    def stop(self) -> None:
        """End the stream: ``stop`` is sent and the socket closed (``StopStream``, the
        call's end). ``on_end`` follows with no error."""
        if self.session.state is State.CONNECTING and self._task is not None:
            self._task.cancel()
            return
        self._apply(self.session.stop())

    async def wait(self) -> None:
        """Until the stream has ended."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # -- the connection -------------------------------------------------------------

    def _start(self) -> None:
        self._task = self._loop.create_task(self._run())

    async def _run(self) -> None:
        try:
            connection = await self._connect()
            if connection is None:
                return
            try:
                await self._serve(connection)
            finally:
                await connection.close()
        except asyncio.CancelledError:
            # Stopped before the socket opened: a normal end, nothing was said.
            self._apply(self.session.stop())
        except Exception as exc:
            log.exception("stream %s: failed", self.stream_sid)
            self._apply(self.session.failed(f"internal error: {exc}"))
        finally:
            self._detach()
            self._finish()

    async def _connect(self) -> ClientConnection | None:
        url = self.url
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("ws", "wss"):
            self._apply(self.session.failed(f"not a WebSocket URL (ws:// or wss://): {url}"))
            return None
        if self._check_target is not None:
            try:
                await self._check_target(url)
            except Exception as exc:
                self._apply(self.session.failed(f"refused target: {exc}"))
                return None
        timeout = self._limits.connect_timeout
        try:
            return await connect(
                url,
                additional_headers=self._headers,
                user_agent_header="dialtone",
                open_timeout=timeout,
                close_timeout=2,
                # Base64 audio compresses poorly; deflate would cost CPU per message.
                compression=None,
                # The target was checked: a proxy from the environment would connect
                # somewhere else than what the check allowed.
                proxy=None,
                max_size=self._limits.max_message_bytes,
            )
        except TimeoutError:
            reason = f"connect timeout after {timeout:g} s"
        except InvalidStatus as exc:
            reason = f"the server answered HTTP {exc.response.status_code}"
        except InvalidURI as exc:
            reason = f"not a WebSocket URL: {exc}"
        except InvalidHandshake as exc:
            reason = f"WebSocket handshake failed: {exc}"
        except OSError as exc:
            reason = f"connection failed: {exc.strerror or exc}"
        self._apply(self.session.failed(reason))
        return None

    async def _serve(self, connection: ClientConnection) -> None:
        self._apply(self.session.open(self._loop.time()))
        self._attach()
        writer = self._loop.create_task(self._write(connection))
        try:
            try:
                async for message in connection:
                    self._apply(self.session.receive(message))
                    if self.session.state is State.CLOSED:
                        break
            except ConnectionClosed:
                pass
            if self.session.state is not State.CLOSED:
                self._apply(self._closed(connection))
            await writer
        finally:
            writer.cancel()

    def _closed(self, connection: ClientConnection) -> list[Effect]:
        protocol = connection.protocol
        sent, received = protocol.close_sent, protocol.close_rcvd
        if sent is not None and not protocol.close_rcvd_then_sent:
            # websockets closed it: a message over the size limit (1009), no answer to
            # its pings (1011).
            said = f" {sent.reason}" if sent.reason else ""
            return self.session.failed(f"closed with {sent.code}{said}")
        if received is None:
            return self.session.closed(None)
        return self.session.closed(received.code, received.reason)

    async def _write(self, connection: ClientConnection) -> None:
        waiting = self._waiting
        while True:
            while waiting:
                text = waiting.popleft()
                try:
                    await connection.send(text)
                except ConnectionClosed:
                    waiting.clear()
                    return
            end = self._end
            if end is not None:
                code = CLOSE_NORMAL if end.error is None else CLOSE_PROTOCOL
                reason = (end.error or "")[:MAX_CLOSE_REASON]
                await connection.close(code, reason)
                return
            self._wake.clear()
            await self._wake.wait()

    # -- the call's audio -----------------------------------------------------------

    def _attach(self) -> None:
        for track in self.info.tracks:
            try:
                self._taps.append(self._port.tap(SIDES[track], self._hearer(track)))
            except ValueError:
                self._note("track", f"no {track} track on this call: not streamed")
        if self.info.bidirectional:
            speaker = self._port.speaker(0)
            speaker.on_mark = self._mark_played
            self._speaker = speaker

    def _detach(self) -> None:
        for tap in self._taps:
            tap.close()
        self._taps.clear()
        speaker, self._speaker = self._speaker, None
        if speaker is not None:
            # What the client said and the caller has not heard goes with the stream.
            speaker.on_mark = None
            speaker.clear()

    def _hearer(self, track: Track) -> Callable[[bytes], None]:
        def hear(pcm: bytes) -> None:
            self._apply(self.session.audio(track, ulaw_encode(pcm), self._loop.time()), True)

        return hear

    def _mark_played(self, name: str) -> None:
        self._apply(self.session.mark_played(name))

    # -- effects --------------------------------------------------------------------

    def _apply(self, effects: list[Effect], audio: bool = False) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                self._send(effect.text, audio)
            elif isinstance(effect, Play):
                self._play(effect.ulaw)
            elif isinstance(effect, PlaceMark):
                if self._speaker is not None:
                    self._speaker.mark(effect.name)
            elif isinstance(effect, Clear):
                if self._speaker is not None:
                    self._speaker.clear()
            elif isinstance(effect, Note):
                log.info("stream %s (%s): %s", self.stream_sid, self.url, effect.text)
            else:
                self._end = effect
                self._wake.set()

    def _send(self, text: str, audio: bool) -> None:
        waiting, limit = self._waiting, self._limits.max_waiting_messages
        if len(waiting) >= limit:
            if audio:
                self._note("slow", "the client reads too slowly: the caller's audio dropped")
                return
            if len(waiting) >= 4 * limit:
                self._apply(self.session.stop("the client does not read its messages"))
                return
        waiting.append(text)
        self._wake.set()

    def _play(self, ulaw: bytes) -> None:
        speaker = self._speaker
        if speaker is None:
            return
        room = self._limits.max_queued_seconds - speaker.queued_seconds
        if len(ulaw) / 8000 > room:
            self._note(
                "ahead",
                f"the client's audio is more than {self._limits.max_queued_seconds:g} s ahead"
                " of what has played: the rest dropped",
            )
            ulaw = ulaw[: max(0, int(room * 8000))]
        speaker.push(ulaw_decode(ulaw))

    def _note(self, kind: str, text: str) -> None:
        if kind not in self._noted:
            self._noted.add(kind)
            log.warning("stream %s (%s): %s", self.stream_sid, self.url, text)

    def _finish(self) -> None:
        if self._ended:
            return
        self._ended = True
        error = self.session.error
        if error is not None:
            log.warning("stream %s (%s) ended: %s", self.stream_sid, self.url, error)
        try:
            self._on_end(StreamEnd(self.name, self.stream_sid, error))
        except Exception:
            log.exception("stream %s: on_end failed", self.stream_sid)


def open_media_stream(
    port: AudioPort,
    *,
    url: str,
    account_sid: str,
    call_sid: str,
    on_end: Callable[[StreamEnd], None],
    name: str = "",
    track: str = "inbound_track",
    parameters: Sequence[tuple[str, str]] = (),
    connect: bool = False,
    check_target: TargetCheck | None = None,
    headers: Sequence[tuple[str, str]] = (),
    limits: StreamLimits | None = None,
) -> MediaStream:
    """Start streaming the call's audio of ``port`` to ``url``; returns at once (the
    connection is made in a task). ``connect``: the client may speak to the caller
    (``<Connect><Stream>``: only the inbound track). ``check_target(url)`` is awaited
    first and refuses by raising; ``headers`` go with the handshake (a signature).
    Never raises: a ``track`` that is not one, or ``both_tracks`` on a connected stream,
    ends the stream at once with the reason in ``on_end``."""
    try:
        tracks = tracks_of(track)
        info = StreamInfo(
            account_sid=account_sid,
            call_sid=call_sid,
            stream_sid=new_id("MZ"),
            tracks=tracks,
            parameters=tuple(parameters),
            bidirectional=connect,
        )
        problem = None
    except ValueError as exc:
        info = StreamInfo(account_sid, call_sid, new_id("MZ"), bidirectional=connect)
        problem = str(exc)
    stream = MediaStream(
        port,
        info,
        url=url,
        name=name,
        on_end=on_end,
        check_target=check_target,
        headers=headers,
        limits=limits or StreamLimits(),
    )
    if problem is None:
        stream._start()
    else:
        stream.session.failed(problem)
        stream._loop.call_soon(stream._finish)
    return stream
