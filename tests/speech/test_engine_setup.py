"""The real engines' setup without running a model: hibari's voices found on disk,
the Whisper model found in its package, audio too short to hear."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dialtone.speech.hibari_engine import HibariSynthesizer, bundled_model
from dialtone.speech.recognizer import RecognitionError
from dialtone.speech.synthesizer import SynthesisError
from dialtone.speech.whisper_engine import WhisperRecognizer, english_only, packaged_model


def test_only_the_packaged_voice_without_a_voices_dir() -> None:
    engine = HibariSynthesizer()
    assert [v.name for v in engine.voices] == ["heart"]
    assert engine.name.startswith("hibari-")
    assert bundled_model().is_file()


def test_voices_copied_in_by_the_operator_are_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Only the presence of the file matters until the voice first speaks.
    (tmp_path / "am_fenrir_v2.int8.onnx").write_bytes(b"model")
    (tmp_path / "bf_emma.int8.onnx").write_bytes(b"model")
    engine = HibariSynthesizer(voices_dir=tmp_path)
    assert engine.voices[0].name == "heart"
    assert {v.name for v in engine.voices} == {"heart", "emma", "fenrir"}
    assert engine.choose("man", "en-US").voice.name == "fenrir"
    assert engine.choose("Polly.Amy", None).voice.name == "emma"
    # The language before the gender: a British man is the British woman, said once.
    with caplog.at_level(logging.WARNING):
        assert engine.choose("man", "en-GB").voice.name == "emma"
        engine.choose("man", "en-GB")
    assert len([r for r in caplog.records if "no male voice for en-GB" in r.getMessage()]) == 1


def test_a_missing_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError):
        HibariSynthesizer(model=tmp_path / "none.onnx")
    with pytest.raises(RecognitionError):
        WhisperRecognizer(tmp_path)


def test_the_packaged_whisper_model_is_tiny_english() -> None:
    model = packaged_model()
    assert model is not None
    assert (model / "model.bin").is_file()
    assert english_only(model)
    assert not english_only(Path("/nonexistent"))


def test_too_short_to_hear_needs_no_model() -> None:
    engine = WhisperRecognizer()
    assert engine.recognize(bytes(3000), language="en-US").text == ""
    assert engine._model is None
