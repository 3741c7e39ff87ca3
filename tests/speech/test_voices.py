"""TwiML voice names and languages to the voices we have (speech.voices)."""

from __future__ import annotations

import pytest

from dialtone.speech.voices import Voice, choose_voice, normalize_language, wanted

HEART = Voice("heart", "en-US", "female")
FENRIR = Voice("fenrir", "en-US", "male")
EMMA = Voice("emma", "en-GB", "female")
FABLE = Voice("fable", "en-GB", "male")
ALL = (HEART, FENRIR, EMMA, FABLE)
PACKAGED = (HEART,)


@pytest.mark.parametrize(
    ("voices", "requested", "language", "chosen", "fallback"),
    [
        # Our own names are themselves, whatever the language.
        (ALL, "fable", "fr-FR", FABLE, None),
        (ALL, "HEART", None, HEART, None),
        # TwiML's basic voices: a gender in the language asked.
        (ALL, "man", "en-US", FENRIR, None),
        (ALL, "woman", "en-GB", EMMA, None),
        (ALL, "alice", "en-gb", EMMA, None),
        (ALL, "man", "en-GB", FABLE, None),
        (ALL, None, None, HEART, None),
        (ALL, "", "en-GB", EMMA, None),
        # Polly voices speak their own language, not the attribute's.
        (ALL, "Polly.Matthew", "de-DE", FENRIR, None),
        (ALL, "Polly.Brian-Neural", None, FABLE, None),
        (ALL, "Polly.Amy-Generative", "en-US", EMMA, None),
        # Google voices: the language in the name, no gender.
        (ALL, "Google.en-GB-Standard-B", "en-US", EMMA, None),
        # Another region of a language we speak: its voices; the default first.
        (ALL, "man", "en-AU", FENRIR, None),
        (ALL, "alice", "en-IN", HEART, None),
        # A language nobody speaks: the default voice, said so.
        (ALL, "alice", "fr-FR", HEART, "no voice speaks fr-FR"),
        (ALL, "Polly.Celine", "en-US", HEART, "no voice speaks fr-FR"),
        (ALL, "Google.fr-FR-Wavenet-B", None, HEART, "no voice speaks fr-FR"),
        # Only the packaged voice: a gender we lack is said so.
        (PACKAGED, "man", "en-US", HEART, "no male voice for en-US"),
        (PACKAGED, "Polly.Joanna", "en-US", HEART, None),
        (PACKAGED, "woman", "en-GB", HEART, None),
        # An unknown name: the default, said so.
        (ALL, "robot", "en-US", HEART, "unknown voice 'robot'"),
        (ALL, "Polly.Nobody", "en-GB", EMMA, None),
    ],
)
def test_choose_voice(
    voices: tuple[Voice, ...],
    requested: str | None,
    language: str | None,
    chosen: Voice,
    fallback: str | None,
) -> None:
    choice = choose_voice(voices, HEART, requested, language)
    assert choice.voice == chosen
    assert choice.language == chosen.language
    if fallback is None:
        assert choice.fallback is None
    else:
        assert choice.fallback is not None
        assert fallback in choice.fallback


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("en-us", "en-US"),
        ("EN_gb", "en-GB"),
        ("fr", "fr"),
        ("", "en-US"),
        (None, "en-US"),
        ("  ", "en-US"),
        ("zh-Hant-TW", "zh-Hant-TW"),
    ],
)
def test_normalize_language(raw: str | None, normal: str) -> None:
    assert normalize_language(raw) == normal


def test_what_names_ask_for() -> None:
    assert wanted("Polly.Léa", "en-US") == ("fr-FR", "female")
    assert wanted("Polly.Lea-Neural", None) == ("fr-FR", "female")
    assert wanted("Google.", "de-DE") == ("de-DE", None)
    assert wanted("man", "es-MX") == ("es-MX", "male")
