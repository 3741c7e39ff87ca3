"""The recogniser around CTranslate2 (speech.whisper_engine) with a scripted model in
its place: 30 s windows, the prompt each gets, the fallback to sampling, silence, the
confidence, a multilingual model's language; and the decisions as tables."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dialtone.speech.recognizer import RecognitionError
from dialtone.speech.resample import to_pcm16
from dialtone.speech.whisper_engine import (
    Decoded,
    WhisperRecognizer,
    _Loaded,
    avg_logprob,
    best,
    compression_ratio,
    fitted_frames,
    fitted_max_length,
    is_silence,
    kept_segments,
    needs_fallback,
    once,
)
from dialtone.speech.whisper_tokens import Segment, WhisperTokens

from .test_whisper_tokens import ids, small_tokenizer


@dataclass
class Result:
    """What CTranslate2's WhisperGenerationResult carries that the engine reads."""

    sequences_ids: list[list[int]]
    scores: list[float]
    no_speech_prob: float


def said(*words: str, logprob: float = -0.1, no_speech: float = 0.01) -> Result:
    tokens = ids(*words)
    # CTranslate2's score: summed log-probability over the length (end of text counted).
    return Result([tokens], [logprob * (len(tokens) + 1) / len(tokens)], no_speech)


@dataclass
class ScriptedWhisper:
    answers: list[Result]
    is_multilingual: bool = True
    guess: str = "<|fr|>"
    fail: bool = False
    encoded: list[np.ndarray] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    detected: int = 0

    def encode(self, features: Any) -> int:
        self.encoded.append(np.array(features))
        return len(self.encoded) - 1

    def generate(self, encoded: int, prompts: list[list[int]], **options: Any) -> list[Result]:
        if self.fail:
            raise RuntimeError("out of memory")
        self.calls.append({"window": encoded, "prompt": prompts[0], **options})
        return [self.answers.pop(0)]

    def detect_language(self, encoded: int) -> list[list[tuple[str, float]]]:
        self.detected += 1
        return [[(self.guess, 0.9), ("<|en|>", 0.1)]]


def engine_with(tmp_path: Path, model: ScriptedWhisper, **options: Any) -> WhisperRecognizer:
    (tmp_path / "model.bin").write_bytes(b"weights")
    engine = WhisperRecognizer(tmp_path, **options)
    engine.english_only = not model.is_multilingual
    tokens = WhisperTokens(small_tokenizer(), multilingual=model.is_multilingual)
    engine._model = _Loaded(model=model, tokens=tokens, n_mels=80, suppress=[1, 2])
    return engine


def speech(seconds: float) -> bytes:
    rng = np.random.default_rng(int(seconds * 10))
    return to_pcm16((rng.standard_normal(int(8000 * seconds)) * 0.2).astype(np.float32))


def test_long_audio_is_heard_30_seconds_at_a_time(tmp_path: Path) -> None:
    model = ScriptedWhisper(
        [said("hello", logprob=-0.1), said("world", logprob=-0.3), said("good", logprob=-0.5)]
    )
    engine = engine_with(tmp_path, model)
    result = engine.recognize(speech(65), language="fr-FR")
    assert result.text == "hello world good"
    # Each window's mean log-probability weighted by its length.
    assert result.confidence == pytest.approx(math.exp((-0.1 * 30 + -0.3 * 30 + -0.5 * 5) / 65))
    assert [f.shape for f in model.encoded] == [(1, 80, 3000)] * 3
    assert np.all(model.encoded[2][0, :, 500:] == 0)  # 5 s heard, then padding
    assert np.all(model.encoded[1][0, :, -1] != 0)
    assert [c["window"] for c in model.calls] == [0, 1, 2]


def test_every_window_gets_the_prompt_and_the_settings(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello"), said("world")])
    engine = engine_with(tmp_path, model, beam_size=3)
    engine.recognize(speech(40), language="fr-CA", hints=("hello",))
    prompt = ids(
        "<|startofprev|>",
        "hello",
        "<|startoftranscript|>",
        "<|fr|>",
        "<|transcribe|>",
        "<|notimestamps|>",
    )
    for call in model.calls:
        assert call["prompt"] == prompt
        assert call["beam_size"] == 3
        assert call["suppress_tokens"] == [1, 2]
        assert call["return_scores"] is True
        assert call["return_no_speech_prob"] is True
        assert "sampling_temperature" not in call
    assert model.detected == 0


def test_an_unlikely_text_is_sampled_again_hotter(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello", logprob=-1.5), said("world", logprob=-0.4)])
    engine = engine_with(tmp_path, model)
    result = engine.recognize(speech(2), language="fr")
    assert result.text == "world"
    assert result.confidence == pytest.approx(math.exp(-0.4))
    second = model.calls[1]
    assert second["sampling_temperature"] == 0.2
    assert second["beam_size"] == 1
    assert second["num_hypotheses"] == 5
    assert second["sampling_topk"] == 0


def test_when_every_temperature_fails_the_likeliest_is_kept(tmp_path: Path) -> None:
    logprobs = [-1.9, -1.2, -1.7, -1.4, -1.1, -1.3]
    model = ScriptedWhisper([said("hello", "world", logprob=lp) for lp in logprobs])
    engine = engine_with(tmp_path, model)
    result = engine.recognize(speech(2), language="fr")
    assert [c.get("sampling_temperature") for c in model.calls] == [
        None,
        0.2,
        0.4,
        0.6,
        0.8,
        1.0,
    ]
    assert result.text == "hello world"
    assert result.confidence == pytest.approx(math.exp(-1.1))


def test_what_the_model_calls_silence_is_no_words(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello", logprob=-1.2, no_speech=0.9), said("world")])
    engine = engine_with(tmp_path, model)
    assert engine.recognize(speech(35), language="fr").text == "world"
    assert len(model.calls) == 2  # silence is not sampled again


def test_no_language_is_guessed_once_by_the_model(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello"), said("world")], guess="<|en|>")
    engine = engine_with(tmp_path, model)
    engine.recognize(speech(40), language=None)
    assert model.detected == 1
    assert all(c["prompt"][1:3] == ids("<|en|>", "<|transcribe|>") for c in model.calls)


def test_a_language_the_model_lacks_is_guessed_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = ScriptedWhisper([said("hello"), said("world")])
    engine = engine_with(tmp_path, model)
    with caplog.at_level(logging.WARNING):
        engine.recognize(speech(2), language="sv-SE")
        engine.recognize(speech(2), language="sv-FI")
    assert model.detected == 2
    assert model.calls[0]["prompt"][1] == ids("<|fr|>")[0]
    assert len([r for r in caplog.records if "knows no language sv" in r.getMessage()]) == 1


def test_an_english_model_is_prompted_in_english_whatever_the_language(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = ScriptedWhisper([said("hello"), said("world")], is_multilingual=False)
    engine = engine_with(tmp_path, model)
    with caplog.at_level(logging.WARNING):
        engine.recognize(speech(2), language="de-DE")
        engine.recognize(speech(2), language=None)
    assert [c["prompt"] for c in model.calls] == [
        ids("<|startoftranscript|>", "<|notimestamps|>")
    ] * 2
    assert model.detected == 0
    assert len([r for r in caplog.records if "English only" in r.getMessage()]) == 1


def test_a_failing_model_is_a_recognition_error(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, ScriptedWhisper([], fail=True))
    with pytest.raises(RecognitionError, match="out of memory"):
        engine.recognize(speech(2), language="fr")


def test_a_model_that_cannot_load_is_a_recognition_error(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"not a model")
    with pytest.raises(RecognitionError, match="could not load"):
        WhisperRecognizer(tmp_path).load()


def test_the_end_of_long_audio_shorter_than_a_syllable_is_not_heard(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello")])
    engine_with(tmp_path, model).recognize(speech(30.1), language="fr")
    assert len(model.calls) == 1


def decoded(logprob: float, no_speech: float = 0.0, ratio: float = 1.0) -> Decoded:
    return Decoded("text", logprob, no_speech, ratio)


@pytest.mark.parametrize(
    ("logprob", "no_speech", "ratio", "silence", "fallback"),
    [
        (-0.2, 0.1, 1.2, False, False),
        (-1.0, 0.1, 1.2, False, False),  # thresholds are exclusive for the fallback
        (-1.01, 0.1, 1.2, False, True),  # unlikely
        (-0.2, 0.1, 2.41, False, True),  # loops
        (-0.2, 0.1, 2.4, False, False),
        (-0.2, 0.9, 1.2, False, False),  # the model doubts, but the text is likely
        (-1.0, 0.61, 1.2, True, False),  # silence, not sampled again
        (-1.5, 0.61, 3.0, True, False),
        (-1.5, 0.6, 1.2, False, True),
    ],
)
def test_silence_and_fallback(
    logprob: float, no_speech: float, ratio: float, silence: bool, fallback: bool
) -> None:
    assert is_silence(decoded(logprob, no_speech, ratio)) is silence
    assert needs_fallback(decoded(logprob, no_speech, ratio)) is fallback


def test_best_prefers_what_does_not_loop() -> None:
    tries = [decoded(-1.5, ratio=2.0), decoded(-1.1, ratio=3.0), decoded(-1.3, ratio=1.0)]
    assert best(tries) == tries[2]
    looping = [decoded(-1.5, ratio=3.0), decoded(-1.1, ratio=3.0)]
    assert best(looping) == looping[1]


def test_compression_ratio_and_mean_log_probability() -> None:
    assert compression_ratio("") == 0.0
    assert compression_ratio("the same words " * 20) > 2.4
    assert compression_ratio("I would like an appointment tomorrow at ten") < 2.4
    # A score of -0.4 over three tokens is -1.2 in all; with the end of text counted,
    # as faster-whisper does, that is -0.3 a token.
    assert avg_logprob(-0.4, 3) == pytest.approx(-0.3)


@pytest.mark.parametrize(
    ("heard", "frames"),
    [
        (0, 200),
        (1, 300),
        (99, 300),
        (100, 300),
        (101, 400),
        (250, 500),  # 2.5 s: 4.5 s of frames, rounded up to 5
        (300, 500),
        (2799, 3000),
        (2800, 3000),
        (2801, 3000),  # never more than the 30 s window
        (3000, 3000),
    ],
)
def test_the_fitted_window(heard: int, frames: int) -> None:
    assert fitted_frames(heard) == frames
    assert frames % 2 == 0  # the encoder's stride-2 convolution


def test_the_fitted_window_refuses_negative_lengths() -> None:
    with pytest.raises(ValueError, match="negative"):
        fitted_frames(-1)


def test_a_fitted_window_encodes_the_utterance_and_two_seconds_of_padding(
    tmp_path: Path,
) -> None:
    model = ScriptedWhisper([said("hello"), said("world"), said("good")])
    engine = engine_with(tmp_path, model, window="fit")
    assert engine.recognize(speech(2.5), language="fr").text == "hello"
    # 2.5 s is 250 frames of audio, then 250 of zeros.
    [features] = model.encoded
    assert features.shape == (1, 80, 500)
    assert np.all(features[0, :, 249] != 0)
    assert np.all(features[0, :, 250:] == 0)
    # Decoded with timestamps, at most 24 + 12 tokens a second of window.
    [call] = model.calls
    assert call["prompt"][-1] == ids("<|transcribe|>")[0]
    assert call["max_length"] == 24 + 60
    # Long audio: whole 30 s windows, the last one fitted.
    model.encoded.clear()
    engine.recognize(speech(32), language="fr")
    assert [f.shape for f in model.encoded] == [(1, 80, 3000), (1, 80, 400)]
    assert [c["max_length"] for c in model.calls[1:]] == [24 + 360, 24 + 48]
    assert model.calls[1]["prompt"][-1] == ids("<|transcribe|>")[0]


def test_a_fitted_window_keeps_what_the_decoder_says_once_within_it(tmp_path: Path) -> None:
    at = {t: ids("<|0.00|>")[0] + round(t / 0.02) for t in (0.0, 2.0, 3.0, 5.0)}
    looping = Result(
        [
            [
                at[0.0],
                *ids("hello", "world"),
                at[2.0],
                at[2.0],
                *ids("hello", "world"),
                at[3.0],
                at[3.0],
                *ids("good"),
                at[5.0],
                at[5.0],
                *ids("morning"),
            ]
        ],
        [-0.1],
        0.01,
    )
    model = ScriptedWhisper([looping])
    engine = engine_with(tmp_path, model, window="fit")
    # A 2.5 s window is 5 s long: "morning" starts at its end; the repeat is dropped.
    assert engine.recognize(speech(2.5), language="fr").text == "hello world good"


@pytest.mark.parametrize(
    ("starts", "texts", "kept"),
    [
        ([], [], []),
        ([0.0], ["hello"], [0]),
        ([0.0, 2.0], ["hello", "hello"], [0]),  # said again: dropped
        ([0.0, 2.0, 3.0], ["hello", "hello", "world"], [0, 2]),
        ([0.0, 4.98], ["hello", "world"], [0, 1]),
        ([0.0, 5.0, 1.0], ["hello", "world", "good"], [0]),  # at the end: the rest too
    ],
)
def test_kept_segments(starts: list[float], texts: list[str], kept: list[int]) -> None:
    segments = [Segment(start, tuple(ids(text))) for start, text in zip(starts, texts, strict=True)]
    assert kept_segments(segments, 5.0) == [segments[i] for i in kept]


@pytest.mark.parametrize(
    ("ids", "kept"),
    [
        ([], []),
        ([1, 2, 3, 4], [1, 2, 3, 4]),
        ([1, 2, 3, 4, 1, 2, 3, 4], [1, 2, 3, 4]),
        ([1, 2, 3, 4, 1, 2, 3, 4, 1, 2], [1, 2, 3, 4]),  # the last time cut short
        ([1, 2, 3, 4, 1, 2, 3], [1, 2, 3, 4, 1, 2, 3]),  # not said twice
        ([5, 5, 5, 5, 5, 5, 5, 5], [5, 5, 5, 5]),  # "five five five five" twice
        ([5, 5, 5, 1, 2, 3], [5, 5, 5, 1, 2, 3]),  # a short run is words
        ([9, 1, 2, 3, 4, 1, 2, 3, 4], [9, 1, 2, 3, 4, 1, 2, 3, 4]),  # not only a loop
    ],
)
def test_once(ids: list[int], kept: list[int]) -> None:
    assert once(ids) == kept


def test_a_fitted_window_that_loops_in_one_segment_is_heard_once(tmp_path: Path) -> None:
    loop = ids("hello", "world", ",", "good")
    model = ScriptedWhisper([Result([loop * 3 + loop[:2]], [-0.1], 0.01)])
    engine = engine_with(tmp_path, model, window="fit")
    assert engine.recognize(speech(2.5), language="fr").text == "hello world , good"


@pytest.mark.parametrize(
    ("seconds", "tokens"), [(0.0, 24), (1.0, 36), (3.0, 60), (30.0, 384), (40.0, 448)]
)
def test_fitted_max_length(seconds: float, tokens: int) -> None:
    assert fitted_max_length(seconds) == tokens


def test_the_30s_window_is_the_default(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello")])
    engine_with(tmp_path, model).recognize(speech(2.5), language="fr")
    assert [f.shape for f in model.encoded] == [(1, 80, 3000)]


@pytest.mark.parametrize("options", [{"window": "10s"}, {"beam_size": 0}])
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, Any]) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    with pytest.raises(ValueError, match="must"):
        WhisperRecognizer(tmp_path, **options)


def test_tuned_recognisers_share_the_model_and_keep_their_own_options(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello"), said("world")])
    gather = engine_with(tmp_path, model, beam_size=5)
    agent = gather.tuned(window="fit", beam_size=1)
    assert (agent.window, agent.beam_size, agent.fallback) == ("fit", 1, True)
    assert (gather.window, gather.beam_size) == ("30s", 5)
    assert agent.model_path == gather.model_path
    assert agent.recognize(speech(2.5), language="fr").text == "hello"
    assert gather.recognize(speech(2.5), language="fr").text == "world"
    assert [f.shape[2] for f in model.encoded] == [500, 3000]
    assert [c["beam_size"] for c in model.calls] == [1, 5]
    # Loading through either loads once for both.
    assert agent._model is gather._model
    assert gather.tuned()._model is gather._model


def test_without_fallback_an_unlikely_text_is_kept(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello", logprob=-1.5), said("world", logprob=-0.4)])
    engine = engine_with(tmp_path, model, fallback=False)
    assert engine.recognize(speech(2), language="fr").text == "hello"
    assert len(model.calls) == 1


def test_warm_up_hears_a_second_of_silence(tmp_path: Path) -> None:
    model = ScriptedWhisper([said("hello", no_speech=0.99, logprob=-2.0)])
    engine = engine_with(tmp_path, model, window="fit")
    engine.warm_up()
    assert [f.shape for f in model.encoded] == [(1, 80, 300)]
