"""Which of the engine's voices speaks for a Twilio voice name and language (pure).

TwiML's ``<Say voice=… language=…>`` names voices we do not have: ``man``, ``woman``,
``alice``, Amazon's ``Polly.Joanna`` (``-Neural``, ``-Generative``), Google's
``Google.en-US-Standard-C``. Each is read as what it asks for, a gender and a language,
and given the closest voice we have, in this order:

1. A name of one of our voices ("heart") is that voice.
2. The language: a Polly voice speaks its own (Polly.Celine is French whatever the
   ``language`` attribute says, as on Twilio), a Google voice the one in its name, any
   other the ``language`` asked. A voice of exactly that language, else one of the same
   language with another region (en-AU is spoken by an en-US voice), else the engine's
   default voice, which is English: the fallback is reported so the caller can log it.
3. The gender, among those: ``man`` and the male Polly voices want a male voice,
   ``woman``, ``alice`` and the female Polly voices a female one; with none of that
   gender, the default voice when it is among them, else the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Gender = Literal["female", "male"]

DEFAULT_LANGUAGE = "en-US"


@dataclass(frozen=True, slots=True)
class Voice:
    """One voice of an engine: its own name, the language it speaks (BCP 47), its
    gender."""

    name: str
    language: str
    gender: Gender


@dataclass(frozen=True, slots=True)
class VoiceChoice:
    """The voice chosen, the language it was chosen for, and ``fallback``: why it is not
    what was asked (None when it is)."""

    voice: Voice
    language: str
    fallback: str | None = None


# Amazon Polly voices Twilio offers, by name: (language, gender). Names not listed are
# read for the ``language`` attribute with no gender.
POLLY: dict[str, tuple[str, Gender]] = {
    # American English
    "joanna": ("en-US", "female"),
    "salli": ("en-US", "female"),
    "kimberly": ("en-US", "female"),
    "kendra": ("en-US", "female"),
    "ivy": ("en-US", "female"),
    "ruth": ("en-US", "female"),
    "danielle": ("en-US", "female"),
    "matthew": ("en-US", "male"),
    "joey": ("en-US", "male"),
    "justin": ("en-US", "male"),
    "kevin": ("en-US", "male"),
    "stephen": ("en-US", "male"),
    "gregory": ("en-US", "male"),
    # British, Australian, Indian English
    "amy": ("en-GB", "female"),
    "emma": ("en-GB", "female"),
    "brian": ("en-GB", "male"),
    "arthur": ("en-GB", "male"),
    "nicole": ("en-AU", "female"),
    "olivia": ("en-AU", "female"),
    "russell": ("en-AU", "male"),
    "aditi": ("en-IN", "female"),
    "raveena": ("en-IN", "female"),
    "kajal": ("en-IN", "female"),
    # French
    "celine": ("fr-FR", "female"),
    "céline": ("fr-FR", "female"),
    "lea": ("fr-FR", "female"),
    "léa": ("fr-FR", "female"),
    "mathieu": ("fr-FR", "male"),
    "remi": ("fr-FR", "male"),
    "rémi": ("fr-FR", "male"),
    "chantal": ("fr-CA", "female"),
    "gabrielle": ("fr-CA", "female"),
    "liam": ("fr-CA", "male"),
    # German, Spanish, Italian
    "marlene": ("de-DE", "female"),
    "vicki": ("de-DE", "female"),
    "hans": ("de-DE", "male"),
    "daniel": ("de-DE", "male"),
    "conchita": ("es-ES", "female"),
    "lucia": ("es-ES", "female"),
    "enrique": ("es-ES", "male"),
    "sergio": ("es-ES", "male"),
    "penelope": ("es-US", "female"),
    "lupe": ("es-US", "female"),
    "miguel": ("es-US", "male"),
    "pedro": ("es-US", "male"),
    "carla": ("it-IT", "female"),
    "bianca": ("it-IT", "female"),
    "giorgio": ("it-IT", "male"),
    "adriano": ("it-IT", "male"),
}

# TwiML's own voice names.
BASIC: dict[str, Gender] = {"man": "male", "woman": "female", "alice": "female"}


def normalize_language(language: str | None) -> str:
    """A BCP 47 tag as written in TwiML ("en-us", "en_GB", "fr") in one spelling: the
    language lower case, the region upper case; empty or None is ``DEFAULT_LANGUAGE``."""
    if not language or not language.strip():
        return DEFAULT_LANGUAGE
    parts = language.strip().replace("_", "-").split("-")
    head = parts[0].lower()
    rest = [p.upper() if len(p) == 2 else p for p in parts[1:]]
    return "-".join([head, *rest])


def primary(language: str) -> str:
    """The language without its region: "en" of "en-GB"."""
    return language.split("-", 1)[0].lower()


def wanted(requested: str | None, language: str | None) -> tuple[str, Gender | None]:
    """The language and gender a Twilio voice name asks for (see the module's rules)."""
    lang = normalize_language(language)
    name = (requested or "").strip()
    lowered = name.lower()
    if lowered in BASIC:
        return lang, BASIC[lowered]
    if lowered.startswith("polly."):
        # Polly.Joanna-Neural, Polly.Joanna-Generative: the voice is the part before "-".
        voice = lowered.removeprefix("polly.").split("-", 1)[0]
        if voice in POLLY:
            return POLLY[voice]
        return lang, None
    if lowered.startswith("google."):
        # Google.en-US-Standard-C: the language is the first two fields.
        fields = name.split(".", 1)[1].split("-")
        if len(fields) >= 2:
            return normalize_language(f"{fields[0]}-{fields[1]}"), None
        return lang, None
    return lang, None


def choose_voice(
    voices: tuple[Voice, ...], default: Voice, requested: str | None, language: str | None
) -> VoiceChoice:
    """The voice of ``voices`` that speaks for ``requested`` in ``language``; the
    ``fallback`` says what could not be honoured (the language or the gender)."""
    name = (requested or "").strip()
    for voice in voices:
        if voice.name.lower() == name.lower():
            return VoiceChoice(voice, voice.language)
    lang, gender = wanted(requested, language)
    notes: list[str] = []
    candidates = [v for v in voices if v.language == lang]
    if not candidates:
        candidates = [v for v in voices if primary(v.language) == primary(lang)]
    if not candidates:
        notes.append(f"no voice speaks {lang}; {default.name} ({default.language}) speaks instead")
        candidates = [default]
    chosen = _by_gender(candidates, default, gender)
    if gender is not None and chosen.gender != gender:
        notes.append(f"no {gender} voice for {lang}; {chosen.name} ({chosen.gender}) speaks")
    if name and name.lower() not in BASIC and not name.lower().startswith(("polly.", "google.")):
        notes.append(f"unknown voice {name!r}; {chosen.name} speaks")
    return VoiceChoice(chosen, chosen.language, "; ".join(notes) or None)


def _by_gender(candidates: list[Voice], default: Voice, gender: Gender | None) -> Voice:
    if gender is not None:
        of_gender = [v for v in candidates if v.gender == gender]
        if of_gender:
            return default if default in of_gender else of_gender[0]
    return default if default in candidates else candidates[0]
