"""The voice detectors (speech.vad)."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from dialtone.codecs.g711 import alaw_decode, alaw_encode
from dialtone.speech.endpoint import EnergyDetector
from dialtone.speech.vad import WebRtcDetector, detector


def tone(amplitude: int, samples: int = 160) -> bytes:
    return array(
        "h", (int(amplitude * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(samples))
    ).tobytes()


def test_webrtc_hears_no_voice_in_silence() -> None:
    vad = WebRtcDetector(3)
    assert not vad.is_speech(bytes(320))
    assert not vad.is_speech(bytes(160))  # 10 ms
    assert not vad.is_speech(bytes(480))  # 30 ms


def test_frames_webrtc_cannot_judge_go_to_the_fallback() -> None:
    vad = WebRtcDetector(2, EnergyDetector(-40))
    assert vad.is_speech(tone(8000, 200))  # 25 ms: energy says voice
    assert not vad.is_speech(tone(10, 200))
    assert not vad.is_speech(b"\x00")


def test_detector_by_name() -> None:
    assert isinstance(detector("webrtc"), WebRtcDetector)
    assert detector("energy", threshold_dbfs=-30) == EnergyDetector(-30)
    with pytest.raises(ValueError, match="unknown"):
        detector("psychic")
    with pytest.raises(ValueError, match="0 to 3"):
        WebRtcDetector(4)


def test_without_webrtcvad_energy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_webrtcvad(name: str, *args: object, **kwargs: object) -> object:
        if name == "webrtcvad":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_webrtcvad)
    assert detector("webrtc", threshold_dbfs=-35) == EnergyDetector(-35)


def noise_then_line_silence() -> list[bytes]:
    """A 60 ms burst of noise (a click, a cough's start), then what a phone sends when
    nobody speaks: A-law's silence code, decoded."""
    rng = random.Random(7)
    burst = array("h", (rng.randint(-5000, 5000) for _ in range(480))).tobytes()
    silence = alaw_decode(bytes([0xD5]) * 160)
    return [alaw_decode(alaw_encode(burst[i : i + 320])) for i in range(0, 960, 320)] + [
        silence
    ] * 10


def test_webrtcs_hang_over_after_a_click_is_not_voice() -> None:
    """WebRTC's VAD keeps saying "speech" on the silence after a sound; below the floor
    it is not voice, so a click never lasts the 100 ms that start an utterance."""
    frames = noise_then_line_silence()
    raw = WebRtcDetector(2, floor_dbfs=-200.0)
    assert sum(raw.is_speech(f) for f in frames) >= 5  # what the floor is for
    floored = WebRtcDetector(2)
    assert sum(floored.is_speech(f) for f in frames) <= 3


@pytest.mark.parametrize(("amplitude", "voiced"), [(30, False), (3000, True)])
def test_the_floor_only_silences_quiet_frames(amplitude: int, voiced: bool) -> None:
    # A voice-like frame loud enough passes; the same shape at -60 dBFS does not.
    rng = random.Random(3)
    frame = array(
        "h",
        (
            int(amplitude * (math.sin(2 * math.pi * 220 * i / 8000) + 0.3 * rng.random()))
            for i in range(160)
        ),
    ).tobytes()
    vad = WebRtcDetector(0)
    assert vad.is_speech(frame) is (voiced and bool(vad._vad.is_speech(frame, 8000)))
