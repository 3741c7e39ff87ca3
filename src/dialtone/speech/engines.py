"""The speech engines an operator's settings name, built in one place.

``SpeechOptions`` is the ``speech`` settings section as this package takes it
(``Settings.speech_options``); the functions below make what the runtime holds: one
synthesizer, one recognizer, the prompt cache, the end-of-speech configuration and
voice detector, the voicemail transcriber; and for the AI receptionist its quicker
recogniser (``agent_recognizer``: the fitted window, no temperature fallback, over the
same model)
and end of speech with early recognition (``endpoint_config(..., early=options.agent_early)``).
``warm_up`` runs each engine once before the first caller. ``engine = "offline"`` is hibari-tts and
Whisper on CTranslate2 with the models their packages ship; ``"fake"`` is the fakes (tests,
demos, machines without the models).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dialtone.speech.endpoint import EndpointConfig, VoiceDetector
from dialtone.speech.prompt_cache import PromptCache
from dialtone.speech.recognizer import FakeRecognizer, Recognizer
from dialtone.speech.synthesizer import FakeSynthesizer, Synthesizer
from dialtone.speech.transcriber import OfflineTranscriber
from dialtone.speech.vad import detector

Engine = Literal["offline", "fake"]


@dataclass(frozen=True, slots=True)
class SpeechOptions:
    """The ``speech`` settings (see ``dialtone.settings.SpeechSection`` for each)."""

    engine: Engine = "offline"
    voice: str = "heart"
    language: str = "en-US"
    cache_dir: Path = Path("var/speech-cache")
    cache_max_files: int = 2000
    tts_model: Path | None = None
    tts_voices_dir: Path | None = None
    stt_model: Path | None = None
    stt_threads: int = 1
    stt_beam_size: int = 5
    stt_window: Literal["fit", "30s"] = "30s"
    agent_stt_window: Literal["fit", "30s"] = "fit"
    agent_beam_size: int = 5
    agent_fallback: bool = False
    agent_early: float | None = 0.2
    vad: Literal["webrtc", "energy"] = "webrtc"
    vad_aggressiveness: int = 2
    energy_threshold_dbfs: float = -40.0
    min_speech: float = 0.1
    end_silence: float = 0.5
    no_speech_timeout: float = 5.0
    max_speech: float = 60.0


def synthesizer(options: SpeechOptions) -> Synthesizer:
    """The text-to-speech engine (its model loads on first use)."""
    if options.engine == "fake":
        return FakeSynthesizer()
    from dialtone.speech.hibari_engine import HibariSynthesizer  # noqa: PLC0415

    return HibariSynthesizer(model=options.tts_model, voices_dir=options.tts_voices_dir)


def recognizer(options: SpeechOptions) -> Recognizer:
    """The speech-to-text engine (its model loads on first use)."""
    if options.engine == "fake":
        return FakeRecognizer()
    from dialtone.speech.whisper_engine import WhisperRecognizer  # noqa: PLC0415

    return WhisperRecognizer(
        options.stt_model,
        cpu_threads=options.stt_threads,
        beam_size=options.stt_beam_size,
        window=options.stt_window,
    )


def agent_recognizer(options: SpeechOptions, engine: Recognizer | None = None) -> Recognizer:
    """The AI receptionist's recogniser: ``engine`` (by default the options'
    recognizer) with the agent's window and beam, sharing its loaded model. An engine
    without such options (the fake) is used as it is."""
    base = engine or recognizer(options)
    from dialtone.speech.whisper_engine import WhisperRecognizer  # noqa: PLC0415

    if isinstance(base, WhisperRecognizer):
        return base.tuned(
            window=options.agent_stt_window,
            beam_size=options.agent_beam_size,
            fallback=options.agent_fallback,
        )
    return base


def warm_up(*engines: object) -> None:
    """Load each engine and run it once (those with a ``warm_up``; fakes have none),
    so the first caller does not pay for models loading and first inferences. Blocks:
    call it off the event loop, at start."""
    for engine in engines:
        method = getattr(engine, "warm_up", None)
        if callable(method):
            method()


def prompt_cache(options: SpeechOptions, engine: Synthesizer | None = None) -> PromptCache:
    """The prompt cache over ``engine`` (by default the options' synthesizer)."""
    return PromptCache(
        options.cache_dir,
        engine or synthesizer(options),
        max_files=options.cache_max_files,
        voice=options.voice,
        language=options.language,
    )


def endpoint_config(
    options: SpeechOptions,
    *,
    end_silence: float | None = None,
    timeout: float | None = None,
    early: float | None = None,
) -> EndpointConfig:
    """End-of-speech values: a Gather's own ``end_silence`` and ``timeout`` when it
    gives them (TwiML ``speechTimeout`` and ``timeout``), else the settings'; ``early``
    (the agent's: ``options.agent_early``) when recognition may start in a pause, kept
    only when shorter than the end silence."""
    end = end_silence if end_silence is not None else options.end_silence
    return EndpointConfig(
        min_speech=options.min_speech,
        end_silence=end,
        timeout=timeout if timeout is not None else options.no_speech_timeout,
        max_speech=options.max_speech,
        early=early if early is not None and 0 < early < end else None,
    )


def voice_detector(options: SpeechOptions) -> VoiceDetector:
    """The voice detector the settings name."""
    return detector(
        options.vad,
        aggressiveness=options.vad_aggressiveness,
        threshold_dbfs=options.energy_threshold_dbfs,
    )


def voicemail_transcriber(
    options: SpeechOptions, engine: Recognizer | None = None
) -> OfflineTranscriber:
    """Voicemail transcripts made on this machine (``voicemail_transcriber =
    "offline"``), over ``engine`` (by default the options' recognizer)."""
    return OfflineTranscriber(engine or recognizer(options))
