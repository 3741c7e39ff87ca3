"""The voice detectors (speech.vad)."""

from __future__ import annotations

import math
from array import array

import pytest

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
