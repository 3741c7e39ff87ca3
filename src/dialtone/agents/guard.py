"""The rules no brain can talk its way around (TERMS A2, A3, A4).

The call application runs ``opening`` first and ``guard`` on every caller's turn before
any brain, and passes every brain's reply through ``check_reply``:

- A2: the first sentence of every call is the fixed ``disclosure`` (it says "AI"); the
  profile's greeting follows it and cannot replace it; a greeting sentence claiming a
  human is dropped.
- A3: a caller describing an emergency is handed to the profile's first transfer target
  with the instruction to hang up and dial the emergency number if in danger; with no
  target, the instruction and the end of the call. The brain never sees that turn.
- A4: a request for medical, legal or financial advice gets a fixed answer; "are you a
  robot?" gets the truth; a brain's or a model's sentence claiming to be human is
  replaced by the truth.

Phrase tables live in the language (``english``), tilted towards safety: a false
emergency reaches a person, a missed one would reach the AI.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from dialtone.agents.language import Language
from dialtone.agents.languages import language_for, region_of
from dialtone.agents.profile import AgentProfile
from dialtone.agents.summary import summarise, with_turn
from dialtone.agents.text import fires, normalise, sentences
from dialtone.agents.turns import DialogState, EndCall, HandOver, Heard, Input, Reply

Guarded = Literal["emergency", "advice", "identity"]

# The number a caller in danger is told to dial, by the profile's region: 112 reaches
# the emergency services across Europe (and from any GSM phone), 911 North America.
EMERGENCY_NUMBERS = {
    "US": "911",
    "CA": "911",
    "MX": "911",
    "PR": "911",
    "GB": "999",
    "AU": "000",
    "NZ": "111",
}
DEFAULT_EMERGENCY_NUMBER = "112"


def emergency_number(profile: AgentProfile, country: str | None = None) -> str:
    """The emergency number of ``country``, else of the profile's language region
    ("en-US" → 911), else 112 (A3, "Where rules meet": emergency numbers)."""
    region = (country or region_of(profile) or "").upper()
    return EMERGENCY_NUMBERS.get(region, DEFAULT_EMERGENCY_NUMBER)


def claims_human(text: str, lang: Language) -> bool:
    """Whether ``text`` claims a human speaks ("I'm a real person", "I'm not a robot")."""
    return fires(lang.guard.claims_human, lang.guard.claims_unless, normalise(text, lang))


def disclosure(profile: AgentProfile) -> str:
    """The first sentence of every call (A2): the agent's name and that it is an AI.
    Fixed code: no profile field can remove it. A name that itself claims a human is
    not said."""
    lang = language_for(profile)
    name = profile.name.strip()
    # The name is said as "speaking with <name>": read it as the agent saying it.
    if not name or claims_human(f"I am {name}", lang):
        name = profile.business_name.strip() or "AI"
    business = profile.business_name.strip()
    template = lang.say.disclosure if business else lang.say.disclosure_no_business
    return template.format(name=name, business=business)


def greeting(profile: AgentProfile) -> tuple[str, ...]:
    """The profile's greeting without any sentence claiming a human (A4); the default
    greeting when nothing is left."""
    lang = language_for(profile)
    kept = tuple(s for s in sentences(profile.greeting) if not claims_human(s, lang))
    return kept or (lang.say.default_greeting,)


def opening(profile: AgentProfile) -> Reply:
    """What the agent says first: the disclosure (A2), then the greeting."""
    return Reply(say=(disclosure(profile), *greeting(profile)))


def classify(text: str, lang: Language) -> Guarded | None:
    """Which rule ``text`` falls under, most urgent first: an emergency (A3), a request
    for regulated advice (A4), a question whether the agent is human (A4)."""
    words = normalise(text, lang)
    phrases = lang.guard
    if fires(phrases.emergency, phrases.emergency_unless, words):
        return "emergency"
    for family in (phrases.medical, phrases.legal, phrases.financial):
        if fires(family, phrases.advice_unless, words):
            return "advice"
    if fires(phrases.identity, (), words):
        return "identity"
    return None


def _offer(profile: AgentProfile, lang: Language) -> tuple[str, ...]:
    if profile.transfer_targets and profile.take_messages:
        return (lang.say.offer_help,)
    if profile.transfer_targets:
        return (lang.say.offer_transfer,)
    if profile.take_messages:
        return (lang.say.offer_message,)
    return ()


def identity_answer(profile: AgentProfile) -> tuple[str, ...]:
    """The truthful answer to "are you human?" (A4), with the offer of a person or a
    message where the profile has one."""
    lang = language_for(profile)
    return (*lang.say.identity, *_offer(profile, lang))


def advice_answer(profile: AgentProfile) -> tuple[str, ...]:
    """The fixed answer to a request for medical, legal or financial advice (A4)."""
    lang = language_for(profile)
    return (*lang.say.advice, *_offer(profile, lang))


def emergency_reply(
    profile: AgentProfile, state: DialogState, text: str, country: str | None = None
) -> Reply:
    """A3: the instruction to dial the emergency number if in danger, then the hand-over
    to the first transfer target (outcome "transferred"), or the end of the call when
    the profile has none."""
    lang = language_for(profile)
    instruction = lang.say.emergency_instruction.format(number=emergency_number(profile, country))
    if not profile.transfer_targets:
        return Reply(say=(instruction,), act=EndCall(), guarded="emergency")
    said = with_turn(state, text, Reply())
    summary = summarise(said, "transferred", topic="emergency", lang=lang)
    return Reply(
        say=(instruction, lang.say.emergency_connecting),
        act=HandOver(target=profile.transfer_targets[0], summary=summary, reason="emergency"),
        outcome="transferred",
        guarded="emergency",
    )


def guard(
    profile: AgentProfile,
    state: DialogState,
    heard: Input,
    now: datetime,
    *,
    country: str | None = None,
) -> Reply | None:
    """The guard's answer to the caller's turn, or None to let the brain answer.
    Only ``Heard`` is guarded (other inputs are results of acts). ``now`` is unused by
    today's rules and kept so that time-bound rules need no new signature; ``country``
    names the emergency number's country when the profile's language does not."""
    del now
    if not isinstance(heard, Heard):
        return None
    lang = language_for(profile)
    rule = classify(heard.text, lang)
    if rule == "emergency":
        return emergency_reply(profile, state, heard.text, country)
    if rule == "advice":
        return Reply(say=advice_answer(profile), guarded="advice")
    if rule == "identity":
        return Reply(say=identity_answer(profile), guarded="identity")
    return None


def check_reply(profile: AgentProfile, reply: Reply) -> Reply:
    """``reply`` with every sentence claiming a human replaced by the truth (A4), said
    once; the reply unchanged otherwise."""
    lang = language_for(profile)
    said: list[str] = []
    replaced = False
    for line in reply.say:
        for sentence in sentences(line) or (line,):
            if not claims_human(sentence, lang):
                said.append(sentence)
            elif not replaced:
                said.extend(lang.say.identity)
                replaced = True
    if not replaced:
        return reply
    return replace(reply, say=tuple(said), guarded=reply.guarded or "identity")
