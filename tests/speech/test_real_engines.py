"""The real engines end to end: hibari says it, the call's 8 kHz G.711 path carries it,
the end-of-speech detector cuts it, Whisper hears it back. Figures are printed (never
asserted): synthesis time per second of audio, recognition time per utterance."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialtone.codecs.g711 import alaw_decode, alaw_encode
from dialtone.services.telephony.greetings import load_greeting
from dialtone.speech.endpoint import (
    FRAME_BYTES,
    EndpointConfig,
    Endpointer,
    Pausing,
    SpeechEnded,
)
from dialtone.speech.hibari_engine import HibariSynthesizer
from dialtone.speech.prompt_cache import PromptCache, trim_leading_silence
from dialtone.speech.transcriber import OfflineTranscriber
from dialtone.speech.vad import WebRtcDetector
from dialtone.speech.wav import pcm8k_to_wav
from dialtone.speech.whisper_engine import WhisperRecognizer

pytestmark = pytest.mark.speech_engine

SENTENCE = "I would like an appointment tomorrow at ten"
KEY_WORDS = ("appointment", "tomorrow")


def heard(text: str) -> str:
    return text.lower().replace(",", "").replace(".", "")


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[speech figures] {line}")


def test_said_then_heard_through_the_telephone_path(
    hibari: HibariSynthesizer, whisper: WhisperRecognizer, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    pcm = hibari.synthesize(SENTENCE, voice="alice", language="en-US")
    synthesis = time.perf_counter() - started
    seconds = len(pcm) / 16000
    assert 1.5 < seconds < 6
    # What the caller's phone sends: G.711 A-law, with silence before and after.
    line = alaw_decode(alaw_encode(bytes(8000) + pcm + bytes(24000)))

    endpointer = Endpointer(EndpointConfig(end_silence=0.5), WebRtcDetector(2), now=0.0)
    events = []
    for index in range(len(line) // FRAME_BYTES):
        frame = line[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        events += endpointer.feed(frame, (index + 1) * 0.02)
    assert [type(e).__name__ for e in events] == ["SpeechStarted", "SpeechEnded"]
    started_at, ended = events[0].at, events[1]
    assert isinstance(ended, SpeechEnded)
    # 0.5 s of silence, hibari's own lead-in (about 0.3 s), then min_speech.
    assert 0.8 <= started_at < 1.1
    assert 0.5 + seconds <= ended.at < 0.5 + seconds + 1.0

    started = time.perf_counter()
    result = whisper.recognize(ended.audio, language="en-US", hints=("appointment",))
    recognition = time.perf_counter() - started
    text = heard(result.text)
    for word in KEY_WORDS:
        assert word in text, result
    assert "ten" in text or "10" in text, result
    assert 0.5 < result.confidence <= 1.0
    report(
        capsys,
        f"synthesis {synthesis:.3f} s for {seconds:.2f} s of audio "
        f"({synthesis / seconds:.3f} s per second); recognition of a "
        f"{len(ended.audio) / 16000:.2f} s utterance {recognition:.3f} s "
        f"({whisper.cpu_threads} threads); heard {result.text!r} ({result.confidence:.2f})",
    )


def test_the_agents_quick_decoding_hears_the_same_words(
    hibari: HibariSynthesizer, whisper: WhisperRecognizer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fitted window without the fallback (the agent's), on the utterance as the
    endpointer cuts it at its early pause and at its end, against the 30 s window."""
    pcm = hibari.synthesize(SENTENCE, voice=None, language=None)
    line = alaw_decode(alaw_encode(bytes(8000) + pcm + bytes(24000)))
    config = EndpointConfig(end_silence=0.5, early=0.2)
    endpointer = Endpointer(config, WebRtcDetector(2), now=0.0)
    events = []
    for index in range(len(line) // FRAME_BYTES):
        frame = line[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        events += endpointer.feed(frame, (index + 1) * 0.02)
    pauses = [e for e in events if isinstance(e, Pausing)]
    [ended] = [e for e in events if isinstance(e, SpeechEnded)]
    assert pauses
    assert pauses[-1].voiced == ended.voiced
    agent = whisper.tuned(window="fit", beam_size=5, fallback=False)
    agent.warm_up()
    times = []
    for audio in (pauses[-1].audio, ended.audio):
        started = time.perf_counter()
        text = heard(agent.recognize(audio, language="en-US").text)
        times.append(time.perf_counter() - started)
        for word in KEY_WORDS:
            assert word in text, text
        assert "ten" in text or "10" in text, text
        assert text.count("appointment") == 1, text  # no loop into the padding
    started = time.perf_counter()
    whisper.recognize(ended.audio, language="en-US")
    full = time.perf_counter() - started
    report(
        capsys,
        f"agent recognition (fit window, beam 5, no fallback): early {times[0]:.3f} s, at the end "
        f"{times[1]:.3f} s; 30 s window, beam {whisper.beam_size}: {full:.3f} s",
    )


def test_a_prompt_made_by_hibari_plays_as_a_greeting(
    hibari: HibariSynthesizer, tmp_path: Path
) -> None:
    cache = PromptCache(tmp_path, hibari)
    path = cache.path_for("Thank you for calling.", "Polly.Joanna", "en-US")
    pcm = load_greeting(path)
    assert 0.8 < len(pcm) / 16000 < 3
    # hibari is deterministic (a fixed seed): the same text, the same audio, without the
    # silence it pads the start with (180 ms: the caller would wait through it).
    made = hibari.synthesize("Thank you for calling.", voice=None, language=None)
    assert pcm == trim_leading_silence(made)
    assert len(made) - len(pcm) >= 2 * 8000 * 0.1


def test_a_voicemail_transcribed_offline(
    hibari: HibariSynthesizer, whisper: WhisperRecognizer
) -> None:
    message = hibari.synthesize(
        "Hello, this is Sam. Please call me back about the invoice.", voice=None, language=None
    )
    text = asyncio.run(OfflineTranscriber(whisper).transcribe(pcm8k_to_wav(message)))
    assert "call me back" in heard(text)
    assert "invoice" in heard(text)


def test_silence_is_heard_as_nothing(whisper: WhisperRecognizer) -> None:
    assert whisper.recognize(bytes(16000), language="en-US").text == ""


def test_french_on_an_english_model_is_heard_as_english(
    whisper: WhisperRecognizer, hibari: HibariSynthesizer, caplog: pytest.LogCaptureFixture
) -> None:
    pcm = hibari.synthesize("Good morning", voice=None, language=None)
    whisper._reported.discard("fr")
    with caplog.at_level("WARNING"):
        whisper.recognize(pcm, language="fr-FR")
        whisper.recognize(pcm, language="fr-CA")
    warnings = [r for r in caplog.records if "English only" in r.getMessage()]
    assert len(warnings) == 1  # once per language


NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network used")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from dialtone.speech.hibari_engine import HibariSynthesizer
from dialtone.speech.whisper_engine import WhisperRecognizer
pcm = HibariSynthesizer().synthesize("Press one for sales", voice="man", language="fr-FR")
print(WhisperRecognizer().recognize(pcm, language="en-US").text)
# Neither PyAV (GPL codecs in its wheel), faster-whisper nor a model hub's client.
print("imported:", sorted({"av", "faster_whisper", "huggingface_hub"} & set(sys.modules)))
"""


def test_nothing_is_downloaded(tmp_path: Path) -> None:
    """With every socket refused, an empty home and cache, both engines load and run,
    and nothing that decodes media or talks to a model hub is imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HIBARI", "XDG_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
    )
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "one" in done.stdout.lower() or "1" in done.stdout
    assert "imported: []" in done.stdout
    assert not (tmp_path / "cache" / "hibari").exists()
    assert not (tmp_path / "cache" / "huggingface").exists()
