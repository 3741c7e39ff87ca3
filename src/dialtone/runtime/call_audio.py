"""What a call's audio is used for besides being relayed, at an application's asking:
media streams to a WebSocket (``StartStream``/``StopStream``), speech recognised for a
``Gather`` (``Listen``), silence watched for a ``Record`` (``WatchSilence``). Each hears
the caller through a tap on the call's media (``RtpSession`` or ``MediaRelay``) and
answers the call with an event (``StreamClosed``, ``SpeechStarted``/``SpeechHeard``,
``Silence``).

Without the speech engines (``SpeechKit`` None) a ``Listen`` hears nothing (the
Gather's own timeout ends it) and a ``WatchSilence`` uses the energy detector.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.spec import CallSpec
from dialtone.speech.endpoint import FRAME_BYTES, EnergyDetector, VoiceDetector
from dialtone.speech.engines import SpeechOptions, endpoint_config, voice_detector
from dialtone.speech.listener import Listener
from dialtone.speech.recognizer import Recognition
from dialtone.speech.transcriber import AsyncRecognizer

from .media import RtpSession, Tap
from .media_stream import MediaStream, StreamEnd, TargetCheck, open_media_stream
from .relay import MediaRelay

log = logging.getLogger("dialtone.calls")

# How often a listener or a silence watch looks at the time when no audio comes.
CHECK_EVERY = 0.1


@dataclass(frozen=True, slots=True)
class SpeechKit:
    """The speech engines calls listen with (built once by the runtime)."""

    recognizer: AsyncRecognizer
    options: SpeechOptions
    # A conversation's recogniser (the agent's: fitted window, its own beam); None: the
    # Gather's serves both.
    conversation: AsyncRecognizer | None = None


# The handshake headers of a stream to ``url`` for ``spec``'s call (its signature).
StreamHeaders = Callable[[CallSpec, str], Awaitable[Sequence[tuple[str, str]]]]


@dataclass(slots=True)
class AudioUses:
    """One call's streams, listeners and silence watches."""

    streams: dict[str, MediaStream] = field(default_factory=dict)
    listening: dict[int, tuple[Listener, Tap, asyncio.Task[None]]] = field(default_factory=dict)
    watching: dict[int, tuple[Tap, asyncio.Task[None]]] = field(default_factory=dict)


class CallAudio:
    """Runs the audio actions of every call; ``feed`` gives events back to a call."""

    def __init__(
        self,
        *,
        speech: SpeechKit | None = None,
        check_target: TargetCheck | None = None,
        stream_headers: StreamHeaders | None = None,
    ) -> None:
        self.speech = speech
        self.check_target = check_target
        self.stream_headers = stream_headers

    def run(
        self,
        uses: AudioUses,
        port: RtpSession | MediaRelay | None,
        spec: CallSpec,
        action: act.Action,
        feed: Callable[[ev.Event], None],
    ) -> None:
        """Start or stop what ``action`` asks on the call's media ``port``."""
        loop = asyncio.get_running_loop()
        if isinstance(action, act.StartStream):
            self._stream(uses, port, spec, action, feed)
        elif isinstance(action, act.StopStream):
            stream = uses.streams.pop(action.name, None)
            if stream is not None:
                stream.stop()
        elif isinstance(action, act.Listen):
            if port is None or self.speech is None:
                log.warning("call %s: no speech recognition here", spec.record_id)
                return
            self._listen(uses, port, action, feed, loop)
        elif isinstance(action, act.StopListening):
            listening = uses.listening.pop(action.ref, None)
            if listening is not None:
                listener, tap, task = listening
                listener.close()
                tap.close()
                task.cancel()
        elif isinstance(action, act.WatchSilence):
            if port is not None:
                self._watch(uses, port, action, feed, loop)
        elif isinstance(action, act.StopWatching):
            watching = uses.watching.pop(action.ref, None)
            if watching is not None:
                watching[0].close()
                watching[1].cancel()

    def digit(self, uses: AudioUses, digit: str) -> None:
        """The caller pressed ``digit``: connected streams tell their client."""
        for stream in uses.streams.values():
            stream.digit(digit)

    def close(self, uses: AudioUses) -> None:
        """The call's media closes: every stream stops (``stop`` sent), every listener
        and watch ends."""
        for stream in uses.streams.values():
            stream.stop()
        uses.streams.clear()
        for listener, tap, task in uses.listening.values():
            listener.close()
            tap.close()
            task.cancel()
        uses.listening.clear()
        for tap, task in uses.watching.values():
            tap.close()
            task.cancel()
        uses.watching.clear()

    # -- streams ----------------------------------------------------------------------------

    def _stream(
        self,
        uses: AudioUses,
        port: RtpSession | MediaRelay | None,
        spec: CallSpec,
        action: act.StartStream,
        feed: Callable[[ev.Event], None],
    ) -> None:
        wanted = action.stream
        if port is None:
            asyncio.get_running_loop().call_soon(
                feed, ev.StreamClosed(wanted.name, "the call has no media")
            )
            return
        stream: MediaStream | None = None
        finished = False

        def ended(end: StreamEnd) -> None:
            nonlocal finished
            finished = True
            if stream is not None and uses.streams.get(wanted.name) is stream:
                del uses.streams[wanted.name]
            feed(ev.StreamClosed(wanted.name, end.error))

        async def start() -> None:
            nonlocal stream
            headers: Sequence[tuple[str, str]] = ()
            if self.stream_headers is not None:
                headers = await self.stream_headers(spec, wanted.url)
            stream = open_media_stream(
                port,
                url=wanted.url,
                account_sid=spec.account_id,
                call_sid=spec.record_id,
                on_end=ended,
                name=wanted.name,
                track=wanted.track,
                parameters=wanted.parameters,
                connect=wanted.connect,
                check_target=self.check_target,
                headers=headers,
            )
            if not finished:  # a stream refused at once has ended already
                uses.streams[wanted.name] = stream

        task = asyncio.get_running_loop().create_task(start())
        task.add_done_callback(_logged(spec.record_id, "stream"))

    # -- speech -----------------------------------------------------------------------------

    def _listen(
        self,
        uses: AudioUses,
        port: RtpSession | MediaRelay,
        action: act.Listen,
        feed: Callable[[ev.Event], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        assert self.speech is not None
        options = self.speech.options
        ref = action.ref

        def heard(result: Recognition) -> None:
            uses.listening.pop(ref, None)
            tap.close()
            heard_at = loop.time()
            feed(ev.SpeechHeard(ref, result.text, result.confidence, heard_at, listener.ended_at))

        talk = action.speech.conversation
        listener = Listener(
            (self.speech.conversation if talk else None) or self.speech.recognizer,
            # The Gather's own timer decides when nobody spoke; the listener's is longer.
            endpoint_config(
                options,
                end_silence=action.speech.end_silence,
                timeout=3600.0,
                early=options.agent_early if talk else None,
            ),
            voice_detector(options),
            now=loop.time(),
            language=action.speech.language.split("-")[0] or None,
            hints=action.speech.hints,
            on_started=lambda: feed(ev.SpeechStarted(ref)),
            on_heard=heard,
        )
        tap = port.tap(0, lambda pcm: listener.feed(pcm, loop.time()))

        async def keep_time() -> None:
            while not listener.closed:
                deadline = listener.deadline()
                wait = CHECK_EVERY if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.sleep(min(wait, CHECK_EVERY))
                listener.check(loop.time())

        uses.listening[ref] = (listener, tap, loop.create_task(keep_time()))

    def _watch(
        self,
        uses: AudioUses,
        port: RtpSession | MediaRelay,
        action: act.WatchSilence,
        feed: Callable[[ev.Event], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        detector: VoiceDetector = (
            voice_detector(self.speech.options) if self.speech is not None else EnergyDetector()
        )
        heard_at = loop.time()
        partial = b""

        def hear(pcm: bytes) -> None:
            nonlocal heard_at, partial
            data = partial + pcm
            whole = len(data) - len(data) % FRAME_BYTES
            partial = data[whole:]
            for start in range(0, whole, FRAME_BYTES):
                if detector.is_speech(data[start : start + FRAME_BYTES]):
                    heard_at = loop.time()

        tap = port.tap(0, hear)

        async def keep_time() -> None:
            while loop.time() - heard_at < action.seconds:
                await asyncio.sleep(CHECK_EVERY)
            uses.watching.pop(action.ref, None)
            tap.close()
            feed(ev.Silence(action.ref))

        uses.watching[action.ref] = (tap, loop.create_task(keep_time()))


def _logged(record_id: str, what: str) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("call %s: %s failed: %s", record_id, what, task.exception())

    return done
