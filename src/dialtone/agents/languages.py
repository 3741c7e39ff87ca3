"""The languages the agent speaks, by code, and the one a profile uses."""

from __future__ import annotations

from dialtone.agents.english import ENGLISH
from dialtone.agents.language import Language
from dialtone.agents.profile import AgentProfile

LANGUAGES: dict[str, Language] = {"en": ENGLISH}


def language_for(profile: AgentProfile) -> Language:
    """The tables of the profile's first language ("en-US" → "en"); English when the
    language has none yet (A1: the agent still answers, in the language it has)."""
    code = profile.language.split("-")[0].split("_")[0].lower()
    return LANGUAGES.get(code, ENGLISH)


def region_of(profile: AgentProfile) -> str | None:
    """The region of the profile's first language ("en-US" → "US"), if it names one."""
    parts = profile.language.replace("_", "-").split("-")
    return parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else None
