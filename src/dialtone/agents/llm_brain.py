"""The optional language-model dialog manager (issue 17, ``dialog="llm"``), pure.

``ModelBrain`` never calls the model itself: on the caller's turn it answers with
``AskModel`` (the system prompt built from the profile, the conversation so far, the
tools this profile allows) and the runtime brings back ``ModelAnswered``. A tool call
becomes the SAME act the rules brain uses (``BookAppointment``, ``HandOver``,
``RecordMessage``, ``SendFollowUp``, ``EndCall``); the act's result (``Booked``,
``NotBooked``, ``HandOverFailed``, ``MessageTaken``, ``FollowUpSent``) goes back to the
model as the tool's result, and the model speaks again.

Wire format of ``AskModel.messages`` (``openai_messages`` turns it into the OpenAI chat
format): ``("system" | "user" | "assistant", text)``; ``("tool_call", json)`` with
``{"id", "name", "arguments"}`` (an assistant message's tool call); ``("tool", json)``
with ``{"id", "content"}`` (that call's result).

``DialogState.history`` holds the whole model conversation in order: ``("caller",
text)``, ``("agent", text)`` and the tool exchanges as ``("tool_call", json)`` /
``("tool_result", json)`` (a transcript keeps only ``SPOKEN`` speakers).

A model error or timeout ends the model's part of the call: a fixed sentence, then the
fallback (rules) brain answers the rest (``DialogState.rules_only``). The guard still
sees every input before this brain and every reply after it (A2–A4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialtone.agents.profile import AgentProfile, TransferTarget
from dialtone.agents.turns import (
    AI_LABEL,
    Act,
    AskModel,
    BookAppointment,
    Booked,
    Brain,
    DialogState,
    EndCall,
    FollowUpSent,
    HandOver,
    HandOverFailed,
    Heard,
    Input,
    MessageTaken,
    ModelAnswered,
    NotBooked,
    Outcome,
    RecordMessage,
    Reply,
    SendFollowUp,
    Silence,
    ToolCall,
)

# -- history speakers ----------------------------------------------------------------------

CALLER = "caller"
AGENT = "agent"
TOOL_CALL = "tool_call"
TOOL_RESULT = "tool_result"
# What a transcript shows: the tool exchanges are the model's bookkeeping.
SPOKEN = frozenset({CALLER, AGENT})

# -- fixed sentences -----------------------------------------------------------------------

FALLBACK_SENTENCE = "Sorry, I'm having trouble. I can take a message or transfer you."
SAY_AGAIN = "Sorry, could you say that again?"
ASK_WHEN = "Sorry, what day and time would you like?"
ASK_WHAT_NEXT = "Sorry, could you tell me again what you need?"
SAY_WITH_ACT: dict[str, str] = {
    "book_appointment": "One moment, let me book that.",
    "transfer_to_human": "One moment, I'll put you through.",
    "take_message": "Please leave your message after the tone.",
    "end_call": "Thank you for calling. Goodbye.",
}

# -- limits --------------------------------------------------------------------------------

# The conversation sent each turn: enough for a phone call, bounded for a local model's
# context (and the prompt time it costs on a CPU).
MAX_HISTORY = 40
# Knowledge entries in the system prompt, in characters (a local model's context).
MAX_KNOWLEDGE_CHARS = 6000
# Tool calls in a row without the caller speaking: past this the model is looping.
MAX_TOOL_STEPS = 4
# A message transcript sent back to the model.
MAX_RESULT_TEXT = 500
# An appointment the model may ask for, in minutes.
MIN_MINUTES, MAX_MINUTES = 5, 480
# An SMS follow-up the model writes, in characters (a few segments).
MAX_FOLLOW_UP = 480

# -- tools ---------------------------------------------------------------------------------

BOOK = "book_appointment"
TRANSFER = "transfer_to_human"
TAKE_MESSAGE = "take_message"
FOLLOW_UP = "send_follow_up"
END_CALL = "end_call"
TOOL_NAMES = (BOOK, TRANSFER, TAKE_MESSAGE, FOLLOW_UP, END_CALL)

_STRING: dict[str, Any] = {"type": "string"}


def _schema(
    name: str, description: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


def tool_schemas(
    names: Iterable[str] | None = None, profile: AgentProfile | None = None
) -> list[dict[str, Any]]:
    """The tools' JSON schemas in the OpenAI ``tools`` format, for ``names`` (all when
    None, unknown names skipped); with ``profile`` the transfer target's labels are listed
    as its choices (A1's transfer targets)."""
    wanted = TOOL_NAMES if names is None else tuple(n for n in names if n in TOOL_NAMES)
    labels = [t.label for t in profile.transfer_targets if t.label] if profile else []
    target: dict[str, Any] = {
        "type": "string",
        "description": "Who to transfer to, by label; omit for the default person.",
    }
    if labels:
        target["enum"] = labels
    all_schemas = {
        BOOK: _schema(
            BOOK,
            "Book an appointment in the business's calendar. Confirm the day and time "
            "with the caller first.",
            {
                "start": {
                    "type": "string",
                    "description": "Local start date and time, ISO 8601, e.g. 2026-03-04T10:00",
                },
                "minutes": {"type": "integer", "description": "Length in minutes"},
                "name": {"type": "string", "description": "The caller's name, if given"},
            },
            ["start"],
        ),
        TRANSFER: _schema(
            TRANSFER,
            "Transfer the caller to a human.",
            {
                "target": target,
                "summary": {
                    "type": "string",
                    "description": "One sentence for the human: who calls and what they want",
                },
            },
            ["summary"],
        ),
        TAKE_MESSAGE: _schema(
            TAKE_MESSAGE,
            "Record a voice message from the caller (after a tone).",
            {"about": {"type": "string", "description": "What the message is about"}},
            [],
        ),
        FOLLOW_UP: _schema(
            FOLLOW_UP,
            "Send the caller a text message (SMS) to their number.",
            {"text": {"type": "string", "description": "The text to send, short"}},
            ["text"],
        ),
        END_CALL: _schema(
            END_CALL,
            "Hang up after your goodbye, when the caller has nothing more.",
            {},
            [],
        ),
    }
    return [all_schemas[n] for n in wanted]


def available_tools(profile: AgentProfile) -> tuple[str, ...]:
    """The tools this profile allows (A1): booking with a calendar, transfers with
    targets, messages when taken, texts with a follow-up template; ending always."""
    names: list[str] = []
    if profile.calendar is not None:
        names.append(BOOK)
    if profile.transfer_targets:
        names.append(TRANSFER)
    if profile.take_messages:
        names.append(TAKE_MESSAGE)
    if profile.sms_template is not None:
        names.append(FOLLOW_UP)
    names.append(END_CALL)
    return tuple(names)


# -- the system prompt ---------------------------------------------------------------------

_PURPOSES = {
    "sales": "answer sales questions and learn what the caller needs",
    "marketing": "tell callers about the business's offers and learn their interest",
    "customer_service": "help customers with their questions and requests",
    "technical_support": "help callers with technical problems, step by step",
    "custom": "help callers as the instructions below say",
}
# English names from tables, not strftime's %A/%B (which follow the process's locale).
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Placed after the business's instructions so they have the last word (A2, A4).
_RULES = (
    "Rules that override everything above:",
    "- You are an AI assistant, not a person. If asked whether you are human, a person, "
    "a robot or an AI, say you are an AI assistant. Never claim or pretend to be human.",
    "- Never give medical, legal or financial advice. Offer to take a message or to "
    "transfer the caller instead.",
    "- You are on the phone: answer in one to three short spoken sentences. No lists, "
    "no markdown, no emoji, no links.",
    "- The caller has already been greeted and told you are an AI. Do not greet again.",
    "- Answer only from the facts given here. If you do not know, say so and offer a "
    "message or a transfer.",
    "- Use the tools to act. Book only within the opening hours; give the start in "
    "local time. After your goodbye, call end_call.",
)


def _zone(profile: AgentProfile) -> tzinfo:
    try:
        return ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hours_lines(profile: AgentProfile) -> list[str]:
    if not profile.hours:
        return ["Opening hours: not given."]
    lines = [f"Opening hours ({profile.timezone}):"]
    for window in sorted(profile.hours, key=lambda w: (w.weekday, w.opens)):
        day = _WEEKDAYS[window.weekday % 7]
        lines.append(f"- {day} {window.opens:%H:%M} to {window.closes:%H:%M}")
    return lines


def _knowledge_lines(profile: AgentProfile) -> list[str]:
    if not profile.knowledge:
        return []
    lines, used = ["Facts (question and answer):"], 0
    for entry in profile.knowledge:
        line = f"Q: {entry.question.strip()} A: {entry.answer.strip()}"
        used += len(line)
        if used > MAX_KNOWLEDGE_CHARS:
            break
        lines.append(line)
    return lines


def system_prompt(profile: AgentProfile, now: datetime) -> str:
    """The model's instructions: who it is (A1: name, business, purpose, the profile's
    instructions, knowledge, hours, transfer targets), the fixed rules (A2, A4), then
    the local date and time last, so that the prefix before it stays the same all call
    long (a local server reuses the prompt it already processed)."""
    business = profile.business_name or "this business"
    purpose = _PURPOSES.get(profile.purpose, _PURPOSES["custom"])
    lines = [
        f"You are {profile.name}, an AI phone assistant for {business}. "
        f"Your job: {purpose}. Speak {profile.language}.",
    ]
    if profile.instructions.strip():
        lines += ["Instructions from the business:", profile.instructions.strip()]
    lines += _knowledge_lines(profile)
    lines += _hours_lines(profile)
    labels = [t.label for t in profile.transfer_targets if t.label]
    if labels:
        lines.append("People you can transfer to: " + ", ".join(labels) + ".")
    if profile.calendar is not None:
        lines.append(f"Appointments last {profile.appointment_minutes} minutes.")
    lines += _RULES
    local = now.astimezone(_zone(profile))
    lines.append(
        f"Now it is {_WEEKDAYS[local.weekday()]} {local:%Y-%m-%d}, {local:%H:%M} "
        f"({profile.timezone})."
    )
    return "\n".join(lines)


# -- messages ------------------------------------------------------------------------------

_ROLE_OF = {CALLER: "user", AGENT: "assistant", TOOL_CALL: "tool_call", TOOL_RESULT: "tool"}


def _recent(history: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The last ``MAX_HISTORY`` entries, never starting inside a tool exchange (a tool
    result without its call is refused by the API)."""
    recent = list(history[-MAX_HISTORY:])
    while recent and recent[0][0] in (TOOL_CALL, TOOL_RESULT):
        recent.pop(0)
    return recent


def model_messages(
    profile: AgentProfile, state: DialogState, now: datetime
) -> tuple[tuple[str, str], ...]:
    """``AskModel.messages``: the system prompt and the conversation so far."""
    pairs = [("system", system_prompt(profile, now))]
    for speaker, text in _recent(state.history):
        role = _ROLE_OF.get(speaker)
        if role is not None:
            pairs.append((role, text))
    return tuple(pairs)


def openai_messages(pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """``AskModel.messages`` in the OpenAI chat format: an assistant's text and the tool
    calls after it become one message, consecutive texts of one speaker one message
    (some chat templates insist that user and assistant alternate)."""
    out: list[dict[str, Any]] = []
    for role, content in pairs:
        last = out[-1] if out else None
        if role == "tool_call":
            call = json.loads(content)
            wire = {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(wire)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [wire]})
        elif role == "tool":
            result = json.loads(content)
            out.append({"role": "tool", "tool_call_id": result["id"], "content": result["content"]})
        elif (
            last is not None
            and last["role"] == role
            and role in ("user", "assistant")
            and "tool_calls" not in last
        ):
            last["content"] = f"{last['content']} {content}".strip()
        else:
            out.append({"role": role, "content": content})
    return out


# -- what the model said -------------------------------------------------------------------

_THINKING = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_EMPHASIS = re.compile(r"[*_`#]+")
_BULLET = re.compile(r"^\s*(?:[-•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A full stop that ends none of these ends no sentence ("Dr. Dupont", "10 a.m. on").
_ABBREVIATIONS = frozenset(
    {"dr.", "mr.", "mrs.", "ms.", "st.", "a.m.", "p.m.", "e.g.", "i.e.", "vs.", "no."}
)


def _sentences(line: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        words = line[start : match.start()].split()
        if words and words[-1].casefold() in _ABBREVIATIONS:
            continue
        out.append(line[start : match.start()])
        start = match.end()
    out.append(line[start:])
    return out


def spoken_sentences(content: str) -> tuple[str, ...]:
    """A model's text as sentences to speak: reasoning blocks and markdown dropped, split
    at sentence ends and lines (the first sentence is synthesised while the rest wait)."""
    text = _EMPHASIS.sub("", _THINKING.sub("", content))
    parts = (
        " ".join(_BULLET.sub("", sentence).split())
        for line in text.splitlines()
        for sentence in _sentences(_BULLET.sub("", line))
    )
    return tuple(p for p in parts if p)


def _labelled(text: str) -> str:
    """A4/V9: what the AI writes for people to read carries the label, once."""
    text = text.strip()
    return text if text.startswith(AI_LABEL) else f"{AI_LABEL} {text}"


class BadArguments(ValueError):
    """A tool call the brain cannot carry out (the model is told why)."""


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        parsed = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise BadArguments(f"arguments are not JSON: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise BadArguments("arguments must be a JSON object")
    return parsed


def _text(arguments: dict[str, Any], key: str) -> str:
    value = arguments.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadArguments(f"{key} must be a string")
    return value.strip()


def _start(arguments: dict[str, Any], profile: AgentProfile, now: datetime) -> datetime:
    raw = _text(arguments, "start")
    if not raw:
        raise BadArguments("start is missing")
    try:
        start = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadArguments(f"start is not an ISO 8601 date-time: {raw!r}") from exc
    zone = _zone(profile)
    # The model speaks local time; an offset it adds is honoured, then shown locally.
    start = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    if start < now:
        raise BadArguments(f"start {start.isoformat()} is in the past")
    return start


def _minutes(arguments: dict[str, Any], profile: AgentProfile) -> int:
    value = arguments.get("minutes")
    if value is None:
        return profile.appointment_minutes
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise BadArguments("minutes must be a whole number")
    if not MIN_MINUTES <= int(value) <= MAX_MINUTES:
        raise BadArguments(f"minutes must be between {MIN_MINUTES} and {MAX_MINUTES}")
    return int(value)


def _target(label: str, profile: AgentProfile) -> TransferTarget | None:
    """The target the model named (by label or reference, any case); None — the
    profile's first — when it named none or one that is not there: the caller asked
    for a human either way."""
    wanted = label.casefold()
    for target in profile.transfer_targets:
        if wanted and wanted in (target.label.casefold(), target.ref.casefold()):
            return target
    return None


def _act(call: ToolCall, profile: AgentProfile, state: DialogState, now: datetime) -> Act:
    """The act a tool call asks for; ``BadArguments`` when it cannot be done."""
    if call.name not in available_tools(profile):
        raise BadArguments(f"no tool {call.name!r} on this call")
    arguments = _arguments(call)
    if call.name == BOOK:
        return BookAppointment(
            start=_start(arguments, profile, now),
            minutes=_minutes(arguments, profile),
            caller_name=_text(arguments, "name"),
        )
    if call.name == TRANSFER:
        summary = (
            _text(arguments, "summary") or _last_caller_turn(state) or "Caller asked for a human."
        )
        return HandOver(
            target=_target(_text(arguments, "target"), profile), summary=_labelled(summary)
        )
    if call.name == TAKE_MESSAGE:
        return RecordMessage(about=_text(arguments, "about"))
    if call.name == FOLLOW_UP:
        text = _text(arguments, "text")
        if not text:
            raise BadArguments("text is missing")
        if len(text) > MAX_FOLLOW_UP:
            raise BadArguments(f"text is longer than {MAX_FOLLOW_UP} characters")
        return SendFollowUp(text=_labelled(text))
    return EndCall()


def _last_caller_turn(state: DialogState) -> str:
    for speaker, text in reversed(state.history):
        if speaker == CALLER:
            return text
    return ""


def _tool_steps_since_caller(state: DialogState) -> int:
    steps = 0
    for speaker, _ in reversed(state.history):
        if speaker == CALLER:
            break
        steps += speaker == TOOL_CALL
    return steps


def _call_entry(call: ToolCall) -> tuple[str, str]:
    return TOOL_CALL, json.dumps({"id": call.id, "name": call.name, "arguments": call.arguments})


def _result_entry(call_id: str, result: dict[str, Any]) -> tuple[str, str]:
    content = json.dumps(result, ensure_ascii=False)
    return TOOL_RESULT, json.dumps({"id": call_id, "content": content}, ensure_ascii=False)


def _local(moment: datetime, profile: AgentProfile) -> str:
    return moment.astimezone(_zone(profile)).isoformat()


def _spoken_when(moment: datetime, profile: AgentProfile) -> str:
    """A local time as the model should say it (small models get week days wrong)."""
    local = moment.astimezone(_zone(profile))
    month = _MONTHS[local.month - 1]
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {month} at {local:%H:%M}"


def _result(heard: Input, profile: AgentProfile) -> tuple[dict[str, Any], Outcome | None]:
    """An act's result as the tool's answer to the model (times local, as the model
    speaks them), and the call's outcome."""
    if isinstance(heard, Booked):
        return {
            "booked": True,
            "start": _local(heard.start, profile),
            "when": _spoken_when(heard.start, profile),
            "minutes": heard.minutes,
        }, "booked"
    if isinstance(heard, NotBooked):
        result: dict[str, Any] = {
            "booked": False,
            "wanted": _local(heard.wanted, profile),
            "free_starts_nearby": [_local(a, profile) for a in heard.alternatives],
        }
        if heard.error:
            result["error"] = heard.error
        else:
            result["reason"] = "closed or already taken"
        return result, None
    if isinstance(heard, HandOverFailed):
        return {"transferred": False, "status": heard.status, "reason": heard.reason}, None
    if isinstance(heard, MessageTaken):
        transcript = (heard.transcript or "")[:MAX_RESULT_TEXT]
        return {"message_recorded": True, "transcript": transcript}, "message"
    if isinstance(heard, FollowUpSent):
        return {"sent": heard.refused is None, "refused_by_rule": heard.refused}, None
    raise TypeError(f"not an act's result: {heard!r}")


def _closed(state: DialogState, why: str) -> DialogState:
    """``state`` with any pending tool call answered by ``why``: the API refuses a
    conversation where a tool call has no result."""
    if not state.pending:
        return state
    results = [_result_entry(call_id, {"error": why}) for call_id, _ in state.pending]
    return replace(state, history=(*state.history, *results), pending=())


@dataclass(frozen=True, slots=True)
class ModelBrain:
    """A ``Brain`` over a language model (``AskModel`` out, ``ModelAnswered`` in) whose
    tool calls are the rules brain's acts; ``fallback`` answers when the model cannot
    (A1's dialog; the guard applies A2–A4 around it)."""

    fallback: Brain

    def hear(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]:
        """The next state and reply for one input (see the module's docstring)."""
        if state.rules_only:
            return self._by_rules(profile, state, heard, now)
        if isinstance(heard, Heard):
            return self._ask(profile, self._caller_spoke(state, heard.text), now)
        if isinstance(heard, Silence):
            # Prompting a silent caller, then ending politely, needs no model.
            state = _closed(state, "the caller said nothing")
            return self.fallback.hear(profile, state, heard, now)
        if isinstance(heard, ModelAnswered):
            return self._answered(profile, state, heard, now)
        if not state.pending:
            # A result the model did not ask for (the rules brain's act, before a
            # fallback): the rules brain knows what to say.
            return self.fallback.hear(profile, state, heard, now)
        result, outcome = _result(heard, profile)
        call_id = state.pending[0][0]
        state = replace(state, pending=(), history=(*state.history, _result_entry(call_id, result)))
        next_state, reply = self._ask(profile, state, now)
        return next_state, replace(reply, outcome=outcome)

    def _by_rules(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]:
        next_state, reply = self.fallback.hear(profile, state, heard, now)
        # The rules brain may build a fresh state: the switch is kept for the call.
        return replace(next_state, rules_only=True), reply

    @staticmethod
    def _caller_spoke(state: DialogState, text: str) -> DialogState:
        state = _closed(state, "the caller spoke first")
        return replace(state, history=(*state.history, (CALLER, text)), misses=0)

    @staticmethod
    def _ask(profile: AgentProfile, state: DialogState, now: datetime) -> tuple[DialogState, Reply]:
        act = AskModel(messages=model_messages(profile, state, now), tools=available_tools(profile))
        return state, Reply(act=act)

    def _answered(
        self, profile: AgentProfile, state: DialogState, answer: ModelAnswered, now: datetime
    ) -> tuple[DialogState, Reply]:
        if answer.error is not None:
            return self._give_up(state)
        state = _closed(state, "no result came")
        say = spoken_sentences(answer.content)
        if not answer.tool_calls:
            if not say:
                return self._say(replace(state, misses=state.misses + 1), (SAY_AGAIN,))
            return self._say(replace(state, misses=0), say)
        first, *others = answer.tool_calls
        calls = [_call_entry(call) for call in answer.tool_calls]
        # One act per reply: the model is told the others were not done.
        skipped = [_result_entry(c.id, {"error": "not done: one action at a time"}) for c in others]
        try:
            if _tool_steps_since_caller(state) >= MAX_TOOL_STEPS:
                raise BadArguments("too many actions in a row; ask the caller")
            act = _act(first, profile, state, now)
        except BadArguments as exc:
            # What the model meant to say with a failed act would mislead: not said.
            return self._reask(
                replace(state, history=(*state.history, *calls, *skipped)), first, str(exc)
            )
        if not say and first.name in SAY_WITH_ACT:
            say = (SAY_WITH_ACT[first.name],)
        spoken = [(AGENT, " ".join(say))] if say else []
        history = (*state.history, *spoken, *calls, *skipped)
        if isinstance(act, EndCall):
            # Nothing follows a hang-up: its result is known now.
            done = _result_entry(first.id, {"ok": True})
            return replace(state, history=(*history, done), misses=0), Reply(say=say, act=act)
        state = replace(state, history=history, pending=((first.id, first.name),), misses=0)
        return state, Reply(say=say, act=act)

    @staticmethod
    def _reask(state: DialogState, call: ToolCall, why: str) -> tuple[DialogState, Reply]:
        """Bad arguments: the model hears why, the caller a polite question."""
        sentence = ASK_WHEN if call.name == BOOK and "start" in why else ASK_WHAT_NEXT
        history = [*state.history, _result_entry(call.id, {"error": why}), (AGENT, sentence)]
        return replace(state, history=tuple(history)), Reply(say=(sentence,))

    @staticmethod
    def _say(state: DialogState, say: tuple[str, ...]) -> tuple[DialogState, Reply]:
        return replace(state, history=(*state.history, (AGENT, " ".join(say)))), Reply(say=say)

    @staticmethod
    def _give_up(state: DialogState) -> tuple[DialogState, Reply]:
        history = (*state.history, (AGENT, FALLBACK_SENTENCE))
        state = replace(state, history=history, pending=(), rules_only=True)
        return state, Reply(say=(FALLBACK_SENTENCE,))
