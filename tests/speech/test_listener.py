"""One Gather's listening (speech.listener) with the fake recognizer."""

from __future__ import annotations

import asyncio
import math
import threading
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from dialtone.speech.endpoint import EndpointConfig, EnergyDetector
from dialtone.speech.listener import NOTHING, Listener
from dialtone.speech.recognizer import FakeRecognizer, Recognition, RecognitionError
from dialtone.speech.transcriber import AsyncRecognizer

VOICE = array(
    "h", (int(8000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(160))
).tobytes()
SILENCE = bytes(320)
CONFIG = EndpointConfig(min_speech=0.1, end_silence=0.2, timeout=1.0, pre_roll=0.0)


class Heard:
    def __init__(self) -> None:
        self.started = 0
        self.heard: list[Recognition] = []

    def listener(self, recognizer: FakeRecognizer, now: float = 0.0) -> Listener:
        return Listener(
            AsyncRecognizer(recognizer),
            CONFIG,
            EnergyDetector(),
            now=now,
            language="en-US",
            hints=("sales",),
            on_started=self.start,
            on_heard=self.heard.append,
        )

    def start(self) -> None:
        self.started += 1


def test_speech_is_cut_and_recognised_whatever_the_packet_size() -> None:
    recognizer = FakeRecognizer([Recognition("sales please", 0.9)])
    seen = Heard()

    async def main() -> None:
        listener = seen.listener(recognizer)
        # 30 ms packets: the listener cuts them into 20 ms frames.
        audio = VOICE * 15 + SILENCE * 15  # 0.3 s of voice, 0.3 s of silence
        for i in range(0, len(audio), 480):
            listener.feed(audio[i : i + 480], now=i / 16000)
        assert seen.started == 1
        assert listener.deadline() is None  # the utterance is over; recognition runs
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert seen.heard == [Recognition("sales please", 0.9)]
    # 0.3 s of voice and the 0.2 s of silence that ended it: 0.5 s of audio.
    assert recognizer.calls == [(8000, "en-US", ("sales",))]


def test_nobody_speaks_and_time_passes() -> None:
    seen = Heard()
    listener = seen.listener(FakeRecognizer(), now=10.0)
    assert listener.deadline() == 11.0
    listener.check(10.5)
    assert seen.heard == []
    listener.check(11.0)
    assert seen.heard == [NOTHING]
    assert listener.deadline() is None
    listener.feed(VOICE * 10, 11.1)
    assert seen.started == 0


def test_a_failed_engine_is_heard_as_nothing() -> None:
    class Broken(FakeRecognizer):
        def recognize(self, pcm8k, *, language, hints=()):  # type: ignore[no-untyped-def]
            raise RecognitionError("boom")

    seen = Heard()

    async def main() -> None:
        listener = seen.listener(Broken())
        listener.feed(VOICE * 10 + SILENCE * 10, 0.0)
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert seen.heard == [NOTHING]


def test_closed_while_recognising_calls_nothing_back() -> None:
    seen = Heard()

    async def main() -> None:
        listener = seen.listener(FakeRecognizer([Recognition("late", 1.0)]))
        listener.feed(VOICE * 10 + SILENCE * 10, 0.0)
        listener.close()
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert seen.started == 1
    assert seen.heard == []


# Early recognition: with ``early`` 0.2 s (10 frames), end_silence 0.5 s (25 frames).
EARLY = EndpointConfig(min_speech=0.1, end_silence=0.5, timeout=5.0, pre_roll=0.0, early=0.2)


class Gated:
    """A recognizer that answers the length of what it heard, runs when ``gate`` is
    open, and counts how many run at once."""

    name = "gated"

    def __init__(self, *, open_: bool = True) -> None:
        self.gate = threading.Event()
        if open_:
            self.gate.set()
        self.heard: list[int] = []
        self.active = 0
        self.most = 0
        self._lock = threading.Lock()

    def recognize(
        self, pcm8k: bytes, *, language: str | None, hints: Sequence[str] = ()
    ) -> Recognition:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.heard.append(len(pcm8k))
        self.gate.wait(5)
        with self._lock:
            self.active -= 1
        return Recognition(f"{len(pcm8k)} bytes", 1.0)


def early_listener(engine: Gated, seen: Heard) -> Listener:
    # Four threads: only the listener keeps its recognitions one at a time.
    return Listener(
        AsyncRecognizer(engine, ThreadPoolExecutor(4)),
        EARLY,
        EnergyDetector(),
        now=0.0,
        language="en-US",
        hints=(),
        on_started=seen.start,
        on_heard=seen.heard.append,
    )


class Clock:
    """The frames' ``now``: 20 ms a frame."""

    def __init__(self) -> None:
        self.now = 0.0

    def feed(self, listener: Listener, frames: bytes) -> None:
        for i in range(0, len(frames), FRAME):
            self.now += 0.02
            listener.feed(frames[i : i + FRAME], self.now)


FRAME = len(SILENCE)


async def settle(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("never happened")


def test_the_early_recognition_is_the_answer_when_the_caller_stays_silent() -> None:
    engine, seen, clock = Gated(), Heard(), Clock()

    async def main() -> Listener:
        listener = early_listener(engine, seen)
        clock.feed(listener, VOICE * 10 + SILENCE * 10)
        # Paused 0.2 s: recognition starts while the end is not yet confirmed...
        # (its audio: the 0.2 s of silence heard repeated to end_silence's 0.5 s)
        await settle(lambda: engine.heard == [35 * FRAME])
        assert seen.heard == []
        # ...and its words are the answer once it is (no second recognition).
        clock.feed(listener, SILENCE * 15)
        await settle(lambda: bool(seen.heard))
        return listener

    listener = asyncio.run(main())
    assert seen.heard == [Recognition(f"{35 * FRAME} bytes", 1.0)]
    assert engine.heard == [35 * FRAME]
    assert listener.early_used
    assert listener.recognitions == 1


def test_the_answer_is_ready_at_the_end_when_the_early_one_finished() -> None:
    engine, seen, clock = Gated(), Heard(), Clock()

    async def main() -> None:
        listener = early_listener(engine, seen)
        clock.feed(listener, VOICE * 10 + SILENCE * 10)
        await settle(lambda: engine.active == 0 and len(engine.heard) == 1)
        clock.feed(listener, SILENCE * 15)
        # Heard within one turn of the loop: nothing left to run.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert seen.heard == [Recognition(f"{35 * FRAME} bytes", 1.0)]

    asyncio.run(main())


def test_a_caller_who_goes_on_gets_the_later_words_never_two_at_once() -> None:
    engine, seen, clock = Gated(open_=False), Heard(), Clock()

    async def main() -> Listener:
        listener = early_listener(engine, seen)
        clock.feed(listener, VOICE * 10 + SILENCE * 12)  # first pause: runs, held
        await settle(lambda: engine.active == 1)
        clock.feed(listener, VOICE * 3 + SILENCE * 12)  # second pause: waits its turn
        clock.feed(listener, VOICE * 3 + SILENCE * 25)  # third pause, then the end
        await asyncio.sleep(0.05)
        assert engine.active == 1  # the second never started beside the first
        engine.gate.set()
        await settle(lambda: bool(seen.heard))
        return listener

    listener = asyncio.run(main())
    # The first ran to its end unheard, the second was cancelled before it ran, the
    # third (the whole utterance up to its third pause) is the answer.
    third = (10 + 12 + 3 + 12 + 3 + 25) * FRAME
    assert engine.heard == [35 * FRAME, third]
    assert engine.most == 1
    assert seen.heard == [Recognition(f"{third} bytes", 1.0)]
    assert listener.early_used
    assert listener.recognitions == 2


def test_an_end_without_its_pause_is_recognised_after_the_one_running() -> None:
    # max_speech cuts the utterance while the caller speaks again after a pause: the
    # early words are not the utterance's, and the final recognition waits its turn.
    config = EndpointConfig(min_speech=0.1, end_silence=0.5, max_speech=0.6, early=0.2)
    engine, seen, clock = Gated(open_=False), Heard(), Clock()

    async def main() -> Listener:
        listener = Listener(
            AsyncRecognizer(engine, ThreadPoolExecutor(4)),
            config,
            EnergyDetector(),
            now=0.0,
            language=None,
            hints=(),
            on_started=seen.start,
            on_heard=seen.heard.append,
        )
        clock.feed(listener, VOICE * 10 + SILENCE * 10 + VOICE * 10)
        await asyncio.sleep(0.05)
        assert engine.heard == [35 * FRAME]
        engine.gate.set()
        await settle(lambda: bool(seen.heard))
        return listener

    listener = asyncio.run(main())
    assert engine.most == 1
    assert engine.heard == [35 * FRAME, 30 * FRAME]
    assert seen.heard == [Recognition(f"{30 * FRAME} bytes", 1.0)]
    assert not listener.early_used


def test_closed_during_an_early_recognition_calls_nothing_back() -> None:
    engine, seen, clock = Gated(open_=False), Heard(), Clock()

    async def main() -> None:
        listener = early_listener(engine, seen)
        clock.feed(listener, VOICE * 10 + SILENCE * 25)
        await settle(lambda: engine.active == 1)
        listener.close()
        engine.gate.set()
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert seen.heard == []
