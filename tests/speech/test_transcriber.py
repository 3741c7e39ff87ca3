"""Offline voicemail transcripts (speech.transcriber) over the fake recognizer."""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest

from dialtone.outside.speech_to_text import Transcriber, TranscriptionError
from dialtone.speech.recognizer import FakeRecognizer, Recognition, RecognitionError
from dialtone.speech.transcriber import AsyncRecognizer, OfflineTranscriber
from dialtone.speech.wav import pcm8k_to_wav, wav_to_pcm


def wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def test_a_voicemail_is_recognised_off_the_loop() -> None:
    recognizer = FakeRecognizer([Recognition("call me back", 0.8)])
    transcriber: Transcriber = OfflineTranscriber(recognizer)
    text = asyncio.run(transcriber.transcribe(pcm8k_to_wav(bytes(16000)), language="fr"))
    assert text == "call me back"
    assert recognizer.calls == [(16000, "fr", ())]


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (16000, 1), (8000, 2), (44100, 2)])
def test_any_16_bit_wav_becomes_8k_mono(rate: int, channels: int) -> None:
    t = np.arange(rate) / rate
    mono = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    samples = np.repeat(mono, channels) if channels > 1 else mono
    pcm = wav_to_pcm(wav(samples, rate, channels))
    assert len(pcm) == 16000
    out = np.frombuffer(pcm, "<i2").astype(np.float64)
    assert 5000 < np.sqrt(np.mean(out[2000:6000] ** 2)) < 6000  # 8000 / sqrt(2)


def test_unreadable_audio_and_engine_failures_are_transcription_errors() -> None:
    transcriber = OfflineTranscriber(FakeRecognizer())
    with pytest.raises(TranscriptionError, match="unreadable"):
        asyncio.run(transcriber.transcribe(b"not a wav"))
    eight_bit = io.BytesIO()
    with wave.open(eight_bit, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(800))
    with pytest.raises(TranscriptionError, match="unreadable"):
        asyncio.run(transcriber.transcribe(eight_bit.getvalue()))

    class Broken(FakeRecognizer):
        def recognize(self, pcm8k: bytes, *, language: str | None, hints=()) -> Recognition:  # type: ignore[no-untyped-def]
            raise RecognitionError("model missing")

    with pytest.raises(TranscriptionError, match="model missing"):
        asyncio.run(OfflineTranscriber(Broken()).transcribe(pcm8k_to_wav(bytes(320))))


def test_async_recognizer_passes_hints_and_runs_one_at_a_time() -> None:
    recognizer = FakeRecognizer([Recognition("yes", 0.9)])
    front = AsyncRecognizer(recognizer)

    async def main() -> list[Recognition]:
        return list(
            await asyncio.gather(
                *(
                    front.recognize(bytes(320), language="en-US", hints=["yes", "no"])
                    for _ in range(3)
                )
            )
        )

    assert asyncio.run(main()) == [Recognition("yes", 0.9)] * 3
    assert recognizer.calls == [(320, "en-US", ("yes", "no"))] * 3


def test_fake_recognizer_answers_in_turn() -> None:
    fake = FakeRecognizer([Recognition("one", 0.5), Recognition("two", 0.6)])
    assert [fake.recognize(b"", language=None).text for _ in range(3)] == ["one", "two", "two"]
