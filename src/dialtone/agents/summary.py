"""What a call was about, in one line, and its transcript, labelled (TERMS A4, V9).

Every text the agent produces for people to read carries ``AI_LABEL``: the summary a
human sees on a hand-over, the report's summary, the transcript. ``with_turn`` keeps the
history a summary is made from (the brain does it for its own turns; the application
does it for the guard's, which hold no state).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dialtone.agents.english import ENGLISH
from dialtone.agents.language import Language
from dialtone.agents.turns import AI_LABEL, DialogState, Outcome, Reply
from dialtone.agents.when import say_when

CALLER = "caller"
AGENT = "agent"
# A summary quotes at most this much of what the caller said.
QUOTE_CHARS = 120


def label(text: str) -> str:
    """``text`` labelled as AI-generated (A4), once however often it is labelled."""
    stripped = text.strip()
    if stripped.startswith(AI_LABEL):
        return stripped
    return f"{AI_LABEL} {stripped}"


def with_turn(state: DialogState, heard: str | None, reply: Reply) -> DialogState:
    """``state`` with the caller's words (if any) and the agent's sentences added to
    its history."""
    added: list[tuple[str, str]] = []
    if heard is not None and heard.strip():
        added.append((CALLER, heard.strip()))
    added.extend((AGENT, sentence) for sentence in reply.say)
    if not added:
        return state
    return replace(state, history=(*state.history, *added))


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rstrip() + "…"


# A caller's turn this long says what they want; shorter ones answer a question.
TELLING_WORDS = 4
# How far back a summary looks for what the caller wanted.
RECENT_TURNS = 4


def last_said(state: DialogState) -> str | None:
    """What the caller said recently that says the most: the last of their recent
    turns of ``TELLING_WORDS`` words or more ("I'd like to speak to someone about my
    bill" rather than "John Smith"), else their last turn."""
    said = [text for speaker, text in state.history if speaker == CALLER][-RECENT_TURNS:]
    telling = [text for text in said if len(text.split()) >= TELLING_WORDS]
    if telling:
        return telling[-1]
    return said[-1] if said else None


def summarise(
    state: DialogState,
    outcome: Outcome | None = None,
    *,
    topic: str | None = None,
    lang: Language = ENGLISH,
) -> str:
    """One labelled line: what the caller wanted (``topic`` or the state's intent), the
    appointment or message in question, what they said last, and the ``outcome``. For
    the human taking a hand-over and for the call's report (A4)."""
    say = lang.say
    wanted = say.summary_wanted.get(topic or state.intent or "faq", say.summary_wanted["faq"])
    parts = [f"{say.caller} {wanted}"]
    start = state.slot("start")
    if start:
        parts[0] += f" ({say_when(datetime.fromisoformat(start), lang=lang)})"
    name = state.slot("name")
    if name:
        parts[0] += f", {name}"
    message = state.slot("message")
    said = message or last_said(state)
    if said:
        parts.append(say.summary_said.format(text=_quote(said)))
    if outcome is not None:
        parts.append(say.summary_outcome[outcome])
    return label("; ".join(parts) + ".")


def transcript_lines(history: tuple[tuple[str, str], ...], lang: Language = ENGLISH) -> list[str]:
    """The conversation as lines ("Caller: …", "Agent: …"), the first one the label
    (A4: the transcript as a whole is AI-generated)."""
    names = {CALLER: lang.say.caller, AGENT: lang.say.agent}
    lines = [AI_LABEL]
    lines.extend(f"{names.get(speaker, speaker)}: {text}" for speaker, text in history)
    return lines
