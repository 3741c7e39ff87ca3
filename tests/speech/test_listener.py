"""One Gather's listening (speech.listener) with the fake recognizer."""

from __future__ import annotations

import asyncio
import math
from array import array

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
