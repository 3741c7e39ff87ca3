"""The real offline engines, loaded once per test session (marker ``speech_engine``)."""

from __future__ import annotations

import pytest

from dialtone.speech.hibari_engine import HibariSynthesizer
from dialtone.speech.whisper_engine import WhisperRecognizer


@pytest.fixture(scope="session")
def hibari() -> HibariSynthesizer:
    engine = HibariSynthesizer()
    engine.load()
    return engine


@pytest.fixture(scope="session")
def whisper() -> WhisperRecognizer:
    engine = WhisperRecognizer()
    engine.load()
    return engine
