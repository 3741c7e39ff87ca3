"""The engines the settings name (speech.engines, Settings.speech_options) and the
utterance tool (speech.say), with the fakes."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from dialtone.settings import Settings
from dialtone.speech import engines
from dialtone.speech.endpoint import EnergyDetector
from dialtone.speech.pcap import pcap_of
from dialtone.speech.recognizer import FakeRecognizer
from dialtone.speech.say import main, utterance
from dialtone.speech.synthesizer import FakeSynthesizer
from dialtone.speech.transcriber import OfflineTranscriber
from dialtone.speech.vad import WebRtcDetector


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("DIALTONE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "dialtone.toml"))


def test_settings_defaults_become_options(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    options = settings.speech_options
    assert options.engine == "offline"
    assert options.cache_dir == tmp_path / "speech-cache"
    assert (options.min_speech, options.end_silence) == (0.1, 0.5)
    assert (options.no_speech_timeout, options.max_speech) == (5.0, 60.0)
    assert options.vad == "webrtc"
    assert settings.voicemail_transcriber == "http"
    # A Gather and voicemail keep the careful decoding; the agent decodes quickly and
    # starts in the caller's first 0.2 s of silence.
    assert (options.stt_window, options.stt_beam_size) == ("30s", 5)
    assert (options.agent_stt_window, options.agent_beam_size) == ("fit", 5)
    assert options.agent_fallback is False
    assert options.agent_early == 0.2


def test_agent_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_SPEECH_STT_WINDOW", "fit")
    monkeypatch.setenv("DIALTONE_SPEECH_AGENT_STT_WINDOW", "30s")
    monkeypatch.setenv("DIALTONE_SPEECH_AGENT_BEAM_SIZE", "1")
    monkeypatch.setenv("DIALTONE_SPEECH_AGENT_EARLY_MS", "0")
    monkeypatch.setenv("DIALTONE_SPEECH_AGENT_STT_FALLBACK", "true")
    options = Settings().speech_options
    assert (options.stt_window, options.agent_stt_window) == ("fit", "30s")
    assert options.agent_beam_size == 1
    assert options.agent_early is None
    assert options.agent_fallback is True


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_SPEECH_ENGINE", "fake")
    monkeypatch.setenv("DIALTONE_SPEECH_LANGUAGE", "en_gb")
    monkeypatch.setenv("DIALTONE_SPEECH_CACHE_DIR", "/srv/prompts")
    monkeypatch.setenv("DIALTONE_VOICEMAIL_TRANSCRIBER", "offline")
    settings = Settings()
    options = settings.speech_options
    assert (options.engine, options.language, options.cache_dir) == (
        "fake",
        "en-GB",
        Path("/srv/prompts"),
    )
    assert settings.voicemail_transcriber == "offline"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DIALTONE_SPEECH_ENGINE", "cloud"),
        ("DIALTONE_SPEECH_VAD_AGGRESSIVENESS", "4"),
        ("DIALTONE_SPEECH_END_SILENCE_MS", "99"),
        ("DIALTONE_SPEECH_CACHE_MAX_FILES", "0"),
        ("DIALTONE_VOICEMAIL_TRANSCRIBER", "magic"),
        ("DIALTONE_SPEECH_STT_WINDOW", "10s"),
        ("DIALTONE_SPEECH_AGENT_BEAM_SIZE", "0"),
        ("DIALTONE_SPEECH_AGENT_EARLY_MS", "500"),  # not less than end_silence (500)
        ("DIALTONE_SPEECH_AGENT_EARLY_MS", "-1"),
    ],
)
def test_bad_speech_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_fake_engines(tmp_path: Path) -> None:
    options = engines.SpeechOptions(engine="fake", cache_dir=tmp_path, voice="man")
    assert isinstance(engines.synthesizer(options), FakeSynthesizer)
    assert isinstance(engines.recognizer(options), FakeRecognizer)
    cache = engines.prompt_cache(options)
    assert cache.directory == tmp_path
    assert cache.voice == "man"
    assert isinstance(engines.voicemail_transcriber(options), OfflineTranscriber)


def test_the_agents_recognizer_is_the_same_model_tuned(tmp_path: Path) -> None:
    from dialtone.speech.whisper_engine import WhisperRecognizer

    (tmp_path / "model.bin").write_bytes(b"weights")
    options = engines.SpeechOptions(stt_model=tmp_path, stt_beam_size=4, stt_window="30s")
    base = engines.recognizer(options)
    assert isinstance(base, WhisperRecognizer)
    assert (base.window, base.beam_size) == ("30s", 4)
    agent = engines.agent_recognizer(options, base)
    assert isinstance(agent, WhisperRecognizer)
    assert (agent.window, agent.beam_size, agent.fallback) == ("fit", 5, False)
    assert base.fallback is True
    assert agent._shared is base._shared
    fake = FakeRecognizer()
    assert engines.agent_recognizer(engines.SpeechOptions(engine="fake"), fake) is fake


def test_warm_up_runs_the_engines_that_have_one() -> None:
    class Engine:
        warmed = 0

        def warm_up(self) -> None:
            self.warmed += 1

    engine = Engine()
    engines.warm_up(engine, FakeRecognizer(), FakeSynthesizer())
    assert engine.warmed == 1


def test_endpoint_config_takes_early_only_before_the_end() -> None:
    options = engines.SpeechOptions(end_silence=0.5)
    assert engines.endpoint_config(options).early is None
    assert engines.endpoint_config(options, early=options.agent_early).early == 0.2
    # A Gather's own shorter end silence leaves no room for it.
    assert engines.endpoint_config(options, end_silence=0.2, early=0.2).early is None


def test_endpoint_config_takes_a_gathers_own_values() -> None:
    options = engines.SpeechOptions(end_silence=0.7, no_speech_timeout=4.0)
    assert engines.endpoint_config(options).end_silence == 0.7
    assert engines.endpoint_config(options).timeout == 4.0
    given = engines.endpoint_config(options, end_silence=2.0, timeout=9.0)
    assert (given.end_silence, given.timeout) == (2.0, 9.0)


def test_voice_detectors() -> None:
    assert isinstance(engines.voice_detector(engines.SpeechOptions()), WebRtcDetector)
    energy = engines.voice_detector(engines.SpeechOptions(vad="energy"))
    assert isinstance(energy, EnergyDetector)


def test_say_writes_a_wav_and_a_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hello.wav"
    assert main(["hello world", str(out), "--engine", "fake", "--lead", "0.5"]) == 0
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        frames = wav.readframes(wav.getnframes())
    expected = utterance("hello world", engine="fake", lead=0.5)
    assert frames == expected
    assert expected[:8000] == bytes(8000)
    pcap = tmp_path / "hello.pcap"
    assert main(["hello world", str(pcap), "--engine", "fake", "--codec", "PCMU"]) == 0
    assert pcap.read_bytes() == pcap_of(utterance("hello world", engine="fake"), "PCMU")
    assert "hello.pcap" in capsys.readouterr().out
