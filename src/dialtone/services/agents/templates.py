"""The use-case templates of TERMS A1 (sales, marketing, customer service, technical
support, or custom): the greeting and behaviour a new profile starts from, and the
placeholders a profile's texts may use.

A template's texts name ``{business_name}`` and ``{name}`` (the agent's), filled from
the profile when the call's profile is built; a profile's ``extra`` values add
placeholders of its own. The SMS follow-up may also name what only the call knows
(``{caller_name}``, ``{appointment}``), filled by the dialog when it sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import get_args

from dialtone.agents.profile import Purpose

PURPOSES: tuple[str, ...] = get_args(Purpose)
# Filled from the profile itself.
PROFILE_FIELDS = ("name", "business_name")
# Filled by the dialog when it sends the follow-up SMS.
CALL_FIELDS = ("caller_name", "appointment", "caller_number")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Template:
    """What a profile of one purpose starts with (A1)."""

    greeting: str
    instructions: str


_COMMON = (
    " You are an AI assistant and say so when asked; never claim to be a person. Give no"
    " medical, legal or financial advice. Offer to take a message or to transfer the"
    " caller to a person when you cannot help."
)

TEMPLATES: Mapping[str, Template] = {
    "sales": Template(
        "Thank you for calling {business_name}. Are you interested in one of our products"
        " or services?",
        "You answer sales calls for {business_name}. Find out what the caller needs, answer"
        " from the knowledge entries, book a meeting with the sales team when the caller"
        " wants one." + _COMMON,
    ),
    "marketing": Template(
        "Thank you for calling {business_name}. How did you hear about us?",
        "You answer calls about {business_name}'s offers and events. Answer from the"
        " knowledge entries and offer to text the caller the details." + _COMMON,
    ),
    "customer_service": Template(
        "Thank you for calling {business_name}. How can I help you today?",
        "You answer customer service calls for {business_name}: questions from the"
        " knowledge entries, appointments within opening hours, messages for the team." + _COMMON,
    ),
    "technical_support": Template(
        "Thank you for calling {business_name} support. What seems to be the problem?",
        "You give first-line technical support for {business_name}: ask what the caller"
        " sees, answer from the knowledge entries, and hand over to a technician when the"
        " answer is not there." + _COMMON,
    ),
    "custom": Template("How can I help you today?", ""),
}


def placeholders(text: str) -> list[str]:
    """The ``{field}`` names ``text`` uses, in order; ValueError for a brace that opens
    or closes no placeholder (a text has no other braces)."""
    stray = _PLACEHOLDER.sub("", text)
    if "{" in stray or "}" in stray:
        raise ValueError("a brace that is not part of a {placeholder}")
    return _PLACEHOLDER.findall(text)


def unknown_placeholders(text: str, allowed: Iterable[str]) -> list[str]:
    """The placeholders of ``text`` that are not ``allowed``; ValueError as
    :func:`placeholders`."""
    known = set(allowed)
    return [field for field in placeholders(text) if field not in known]


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with the placeholders ``values`` names filled and the others kept as they
    are (the SMS template keeps the call's own for the dialog)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
