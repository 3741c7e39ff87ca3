"""One media stream, sans-I/O: the call's audio, digits and the client's messages in,
what to do out.

The runtime opens the WebSocket, then calls ``open(now)`` and sends what it returns;
it feeds each audio frame of a track (``audio``), each digit (``digit``), each client
message (``receive``) and each mark the speaker reached (``mark_played``), and ends the
stream with ``stop`` (a ``StopStream``, the call's end), ``closed`` (the client closed
the socket) or ``failed`` (the connection broke or never opened). Every method returns
effects, in order: ``Send`` a text message, ``Play`` µ-law to the caller, ``PlaceMark``
after the audio queued so far, ``Clear`` the queued audio, ``Note`` something worth a
log line (once per kind), ``End`` the stream (``error`` None for a normal end). After
``End`` the session is closed: every method returns nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dialtone.streams import messages
from dialtone.streams.messages import (
    DIGITS,
    ClientClear,
    ClientMark,
    ClientMedia,
    StreamInfo,
    StreamProtocolError,
    Track,
    Unknown,
)

# A silence longer than this (a lost burst, a held call) moves a track's timestamps on to
# the time it ends; shorter jitter keeps them on the 20 ms grid of the audio itself.
GAP_MS = 60
# WebSocket close codes (RFC 6455 §7.4.1) that are a normal end.
NORMAL_CLOSE = frozenset({1000, 1001, 1005})


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``text`` to the client."""

    text: str


@dataclass(frozen=True, slots=True)
class Play:
    """Queue ``ulaw`` (µ-law 8000 Hz) to be played to the caller."""

    ulaw: bytes


@dataclass(frozen=True, slots=True)
class PlaceMark:
    """Call ``mark_played(name)`` once the audio queued so far has played (or when a
    clear drops it)."""

    name: str


@dataclass(frozen=True, slots=True)
class Clear:
    """Drop the audio queued for the caller (its marks are then reached)."""


@dataclass(frozen=True, slots=True)
class Note:
    """Worth a log line; the stream goes on."""

    text: str


@dataclass(frozen=True, slots=True)
class End:
    """The stream is over: close the socket (``error`` None: a normal end)."""

    error: str | None = None


Effect = Send | Play | PlaceMark | Clear | Note | End


class State(enum.Enum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    CLOSED = "closed"


@dataclass(slots=True)
class _TrackClock:
    chunk: int = 0
    next_ms: float = 0.0


class StreamSession:
    """The state of one media stream (see the module's docstring)."""

    def __init__(self, info: StreamInfo) -> None:
        self.info = info
        self.state = State.CONNECTING
        self.error: str | None = None
        self._sequence = 0
        self._started_at = 0.0
        self._clocks: dict[Track, _TrackClock] = {track: _TrackClock() for track in info.tracks}
        self._noted: set[str] = set()

    @property
    def streaming(self) -> bool:
        """Whether the stream is open (after ``open``, before its end)."""
        return self.state is State.STREAMING

    def open(self, now: float) -> list[Effect]:
        """The socket is open at ``now`` (seconds): ``connected`` and ``start``."""
        if self.state is not State.CONNECTING:
            return []
        self.state = State.STREAMING
        self._started_at = now
        return [Send(messages.connected()), Send(messages.start(self._next(), self.info))]

    def audio(self, track: Track, ulaw: bytes, now: float) -> list[Effect]:
        """One frame of ``track`` (µ-law) arrived at ``now``: its ``media`` message, with
        the track's chunk number (from 1) and its timestamp in ms from the start, which
        follows the audio's own length and jumps only over a silence of more than
        ``GAP_MS`` (so it always increases)."""
        clock = self._clocks.get(track)
        if clock is None or self.state is not State.STREAMING or not ulaw:
            return []
        wall_ms = (now - self._started_at) * 1000
        at = wall_ms if wall_ms - clock.next_ms > GAP_MS else clock.next_ms
        clock.chunk += 1
        clock.next_ms = at + len(ulaw) / 8  # 8 samples a millisecond
        text = messages.media(
            self._next(),
            self.info.stream_sid,
            track,
            chunk=clock.chunk,
            timestamp_ms=int(at),
            ulaw=ulaw,
        )
        return [Send(text)]

    def digit(self, digit: str) -> list[Effect]:
        """The caller pressed ``digit``: a ``dtmf`` message on a bidirectional stream
        (Twilio sends none on a forked one)."""
        if self.state is not State.STREAMING or not self.info.bidirectional:
            return []
        if digit not in DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        return [Send(messages.dtmf(self._next(), self.info.stream_sid, digit))]

    def receive(self, data: str | bytes) -> list[Effect]:
        """A message from the client. One that cannot be read ends the stream with its
        reason (``stop`` sent first); unknown events, messages for another stream and,
        on a forked stream, anything but ``clear`` are ignored with a ``Note``."""
        if self.state is not State.STREAMING:
            return []
        try:
            message = messages.parse_client_message(data)
        except StreamProtocolError as exc:
            return self._end(f"protocol error: {exc}", send_stop=True)
        sid = message.stream_sid
        if sid is not None and sid != self.info.stream_sid:
            return self._note("sid", f"message for another stream ({sid}) ignored")
        if isinstance(message, Unknown):
            return self._note(f"event:{message.event}", f"unknown event {message.event!r} ignored")
        if not self.info.bidirectional:
            return self._note(
                "forked", "a forked stream only listens: the client's messages are ignored"
            )
        if isinstance(message, ClientMedia):
            return [Play(message.ulaw)] if message.ulaw else []
        if isinstance(message, ClientMark):
            return [PlaceMark(message.name)]
        assert isinstance(message, ClientClear)
        return [Clear()]

    def mark_played(self, name: str) -> list[Effect]:
        """The audio before the client's mark ``name`` has played (or was cleared)."""
        if self.state is not State.STREAMING:
            return []
        return [Send(messages.mark(self._next(), self.info.stream_sid, name))]

    def stop(self, error: str | None = None) -> list[Effect]:
        """We end the stream (``StopStream``, the call's end, a limit: ``error``):
        ``stop`` is sent when it was open."""
        if self.state is State.CLOSED:
            return []
        return self._end(error, send_stop=self.state is State.STREAMING)

    def closed(self, code: int | None, reason: str = "") -> list[Effect]:
        """The client closed the socket with ``code`` (None: the connection dropped
        without a close frame). A normal close (1000, 1001, none given) is a normal end."""
        if self.state is State.CLOSED:
            return []
        if code in NORMAL_CLOSE:
            return self._end(None, send_stop=False)
        said = f" {reason}" if reason else ""
        what = f"closed with {code}{said}" if code is not None else "connection lost"
        return self._end(f"the client {what}", send_stop=False)

    def failed(self, reason: str) -> list[Effect]:
        """The connection failed (``reason``): never opened, refused, broke."""
        if self.state is State.CLOSED:
            return []
        return self._end(reason, send_stop=False)

    def _end(self, error: str | None, *, send_stop: bool) -> list[Effect]:
        effects: list[Effect] = []
        if send_stop:
            effects.append(Send(messages.stop(self._next(), self.info)))
        self.state = State.CLOSED
        self.error = error
        effects.append(End(error))
        return effects

    def _note(self, kind: str, text: str) -> list[Effect]:
        if kind in self._noted:
            return []
        self._noted.add(kind)
        return [Note(text)]

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence
