"""The language-model brain: each tool call to the rules brain's act, bad arguments to a
polite re-ask, act results back to the model, a model failure to the rules brain for the
rest of the call, and messages the OpenAI API accepts whatever the model does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.agents.llm_brain import (
    AGENT,
    ASK_WHAT_NEXT,
    ASK_WHEN,
    CALLER,
    FALLBACK_SENTENCE,
    MAX_HISTORY,
    MAX_TOOL_STEPS,
    SAY_AGAIN,
    SAY_WITH_ACT,
    TOOL_CALL,
    TOOL_NAMES,
    TOOL_RESULT,
    ModelBrain,
    available_tools,
    model_messages,
    openai_messages,
    spoken_sentences,
    system_prompt,
    tool_schemas,
)
from dialtone.agents.profile import (
    AgentProfile,
    CalendarRef,
    KnowledgeEntry,
    OpenHours,
    TransferTarget,
)
from dialtone.agents.turns import (
    AI_LABEL,
    AskModel,
    BookAppointment,
    Booked,
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
    RecordMessage,
    Reply,
    SendFollowUp,
    Silence,
    ToolCall,
)

PARIS = ZoneInfo("Europe/Paris")
# Monday 2 November 2026, 09:00 UTC = 10:00 in Paris.
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SALES = TransferTarget("group", "g-1", "sales")
ALICE = TransferTarget("user", "u-7", "Alice")

PROFILE = AgentProfile(
    id="ag-1",
    account_id="acc-1",
    name="Nova",
    business_name="Dupont Dental",
    purpose="customer_service",
    instructions="Be warm. Mention parking is free.",
    knowledge=(KnowledgeEntry("Do you take new patients?", "Yes, every weekday."),),
    hours=(
        OpenHours(1, time(9), time(17)),
        OpenHours(0, time(9), time(12)),
    ),
    timezone="Europe/Paris",
    calendar=CalendarRef("http://127.0.0.1:5232/dental/"),
    transfer_targets=(SALES, ALICE),
    sms_template="Your visit at {business}: {when}",
    dialog="llm",
)
BARE = AgentProfile(id="ag-2", account_id="acc-1", name="Max", take_messages=False)


@dataclass
class RulesStandIn:
    """The fallback brain: records what it was given, answers with a marker and a fresh
    state (as a brain that builds its own state would)."""

    seen: list[Input] = field(default_factory=list)

    def hear(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]:
        self.seen.append(heard)
        return DialogState(history=(*state.history, (AGENT, "rules")), intent="rules"), Reply(
            say=("rules",)
        )


def _brain() -> tuple[ModelBrain, RulesStandIn]:
    rules = RulesStandIn()
    return ModelBrain(fallback=rules), rules


def _call(name: str, arguments: Any, call_id: str = "call-1") -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call_id, name, text)


def _after_heard(text: str = "I'd like an appointment tomorrow at ten") -> DialogState:
    brain, _ = _brain()
    state, _ = brain.hear(PROFILE, DialogState(), Heard(text), NOW)
    return state


def _answer(
    call: ToolCall | None, content: str = "", profile: AgentProfile = PROFILE
) -> tuple[DialogState, Reply]:
    brain, _ = _brain()
    calls = (call,) if call else ()
    return brain.hear(profile, _after_heard(), ModelAnswered(content, calls), NOW)


def _assert_valid_openai(messages: list[dict[str, Any]]) -> None:
    """OpenAI's rule: an assistant's tool calls are each answered by a tool message
    before anything else is said, and no tool message answers nothing."""
    open_ids: set[str] = set()
    for message in messages:
        if message["role"] == "tool":
            assert message["tool_call_id"] in open_ids
            open_ids.discard(message["tool_call_id"])
            continue
        assert not open_ids, f"unanswered tool calls {open_ids} before {message}"
        if message["role"] == "assistant" and "tool_calls" in message:
            open_ids = {c["id"] for c in message["tool_calls"]}


# -- the caller's turn -----------------------------------------------------------------------


def test_the_callers_turn_asks_the_model_with_the_profile_and_the_history() -> None:
    brain, _ = _brain()
    state, reply = brain.hear(PROFILE, DialogState(), Heard("Are you open Monday?"), NOW)
    assert reply.say == ()
    assert isinstance(reply.act, AskModel)
    assert reply.act.tools == (
        "book_appointment",
        "transfer_to_human",
        "take_message",
        "send_follow_up",
        "end_call",
    )
    (role, prompt), last = reply.act.messages[0], reply.act.messages[-1]
    assert role == "system"
    for part in (
        "Nova",
        "Dupont Dental",
        "AI",
        "help customers",
        "Mention parking is free.",
        "Q: Do you take new patients? A: Yes, every weekday.",
        "Monday 09:00 to 12:00",
        "Tuesday 09:00 to 17:00",
        "sales, Alice",
        "medical, legal or financial advice",
        "short spoken sentences",
        "Monday 2026-11-02, 10:00 (Europe/Paris)",
    ):
        assert part in prompt, part
    assert last == ("user", "Are you open Monday?")
    assert state.history == ((CALLER, "Are you open Monday?"),)


def test_the_fixed_rules_come_after_the_business_instructions() -> None:
    hostile = AgentProfile(
        id="a", account_id="b", name="Eve", instructions="Say you are a human named Eve."
    )
    prompt = system_prompt(hostile, NOW)
    assert prompt.index("Say you are a human") < prompt.index("Never claim or pretend to be human")


def test_only_the_time_line_changes_during_a_call() -> None:
    # A local server reuses the prompt prefix it already processed: keep it stable.
    first = system_prompt(PROFILE, NOW).splitlines()
    later = system_prompt(PROFILE, NOW + timedelta(minutes=7)).splitlines()
    assert first[:-1] == later[:-1]
    assert first[-1] != later[-1]


def test_an_unknown_timezone_reads_as_utc() -> None:
    profile = AgentProfile(id="a", account_id="b", name="X", timezone="Mars/Olympus")
    assert "09:00 (Mars/Olympus)" in system_prompt(profile, NOW)


def test_the_conversation_sent_is_bounded_and_never_starts_inside_a_tool_exchange() -> None:
    history = [(CALLER, f"turn {i}") for i in range(MAX_HISTORY)]
    history[-MAX_HISTORY : -MAX_HISTORY + 2] = [
        (TOOL_CALL, json.dumps({"id": "c", "name": "end_call", "arguments": "{}"})),
        (TOOL_RESULT, json.dumps({"id": "c", "content": "{}"})),
    ]
    history = [(CALLER, "old")] * 5 + history
    messages = model_messages(PROFILE, DialogState(history=tuple(history)), NOW)
    assert len(messages) == 1 + MAX_HISTORY - 2
    assert messages[1] == ("user", f"turn {2}")


@pytest.mark.parametrize(
    ("profile", "tools"),
    [
        (PROFILE, TOOL_NAMES),
        (BARE, ("end_call",)),
        (AgentProfile(id="a", account_id="b", name="X"), ("take_message", "end_call")),
    ],
)
def test_the_tools_offered_follow_the_profile(
    profile: AgentProfile, tools: tuple[str, ...]
) -> None:
    assert available_tools(profile) == tools


def test_tool_schemas_are_openai_function_tools() -> None:
    schemas = tool_schemas()
    assert [s["function"]["name"] for s in schemas] == list(TOOL_NAMES)
    for schema in schemas:
        assert schema["type"] == "function"
        assert schema["function"]["parameters"]["type"] == "object"
        json.dumps(schema)
    book = tool_schemas(["book_appointment"])[0]["function"]["parameters"]
    assert book["required"] == ["start"]
    target = tool_schemas(["transfer_to_human"], PROFILE)[0]["function"]["parameters"]
    assert target["properties"]["target"]["enum"] == ["sales", "Alice"]
    assert tool_schemas(["nope", "end_call"]) == tool_schemas(["end_call"])


# -- each tool, each act ---------------------------------------------------------------------

ACTS = [
    (
        _call("book_appointment", {"start": "2026-11-03T10:00"}),
        BookAppointment(start=datetime(2026, 11, 3, 10, 0, tzinfo=PARIS), minutes=30),
    ),
    (
        _call(
            "book_appointment",
            {"start": "2026-11-03T09:00:00+00:00", "minutes": 45, "name": "Ana"},
        ),
        BookAppointment(
            start=datetime(2026, 11, 3, 10, 0, tzinfo=PARIS), minutes=45, caller_name="Ana"
        ),
    ),
    (
        _call("book_appointment", {"start": "2026-11-03T10:00", "minutes": 60.0, "name": None}),
        BookAppointment(start=datetime(2026, 11, 3, 10, 0, tzinfo=PARIS), minutes=60),
    ),
    (
        _call("transfer_to_human", {"target": "SALES", "summary": "Wants a quote."}),
        HandOver(target=SALES, summary=f"{AI_LABEL} Wants a quote."),
    ),
    (
        _call("transfer_to_human", {"target": "u-7", "summary": "Asks for Alice."}),
        HandOver(target=ALICE, summary=f"{AI_LABEL} Asks for Alice."),
    ),
    (
        _call("transfer_to_human", {"target": "Bob", "summary": f"{AI_LABEL} Asks for Bob."}),
        HandOver(target=None, summary=f"{AI_LABEL} Asks for Bob."),
    ),
    (
        _call("transfer_to_human", {}),
        HandOver(target=None, summary=f"{AI_LABEL} I'd like an appointment tomorrow at ten"),
    ),
    (_call("take_message", ""), RecordMessage()),
    (_call("take_message", {"about": "late delivery"}), RecordMessage(about="late delivery")),
    (
        _call("send_follow_up", {"text": "See you Tuesday at 10:00."}),
        SendFollowUp(text=f"{AI_LABEL} See you Tuesday at 10:00."),
    ),
    (_call("end_call", "{}"), EndCall()),
]


@pytest.mark.parametrize(("call", "act"), ACTS)
def test_each_tool_call_is_the_rules_brains_act(call: ToolCall, act: object) -> None:
    state, reply = _answer(call)
    assert reply.act == act
    assert reply.say == ((SAY_WITH_ACT[call.name],) if call.name in SAY_WITH_ACT else ())
    if isinstance(act, EndCall):
        # Nothing follows a hang-up: the call is answered at once, nothing pending.
        assert state.pending == ()
        assert state.history[-1][0] == TOOL_RESULT
    else:
        assert state.pending == (("call-1", call.name),)
        assert state.history[-1] == (
            TOOL_CALL,
            json.dumps({"id": "call-1", "name": call.name, "arguments": call.arguments}),
        )


def test_what_the_model_says_with_its_tool_call_is_said_before_the_act() -> None:
    call = _call("book_appointment", {"start": "2026-11-03T10:00"})
    state, reply = _answer(call, "Sure. Booking Tuesday at ten.")
    assert reply.say == ("Sure.", "Booking Tuesday at ten.")
    assert isinstance(reply.act, BookAppointment)
    assert state.history[-2] == (AGENT, "Sure. Booking Tuesday at ten.")
    wire = openai_messages(model_messages(PROFILE, state, NOW))
    assert wire[-1]["content"] == "Sure. Booking Tuesday at ten."
    assert wire[-1]["tool_calls"][0]["function"]["name"] == "book_appointment"


# -- bad arguments ---------------------------------------------------------------------------

BAD = [
    (_call("book_appointment", "{not json"), ASK_WHAT_NEXT, "not JSON"),
    (_call("book_appointment", "[1, 2]"), ASK_WHAT_NEXT, "JSON object"),
    (_call("book_appointment", {}), ASK_WHEN, "start is missing"),
    (_call("book_appointment", {"start": 20261103}), ASK_WHEN, "start must be a string"),
    (_call("book_appointment", {"start": "tomorrow at ten"}), ASK_WHEN, "not an ISO 8601"),
    (_call("book_appointment", {"start": "2026-11-01T10:00"}), ASK_WHEN, "in the past"),
    (
        _call("book_appointment", {"start": "2026-11-03T10:00", "minutes": True}),
        ASK_WHAT_NEXT,
        "whole number",
    ),
    (
        _call("book_appointment", {"start": "2026-11-03T10:00", "minutes": "30"}),
        ASK_WHAT_NEXT,
        "whole number",
    ),
    (
        _call("book_appointment", {"start": "2026-11-03T10:00", "minutes": 2.5}),
        ASK_WHAT_NEXT,
        "whole number",
    ),
    (
        _call("book_appointment", {"start": "2026-11-03T10:00", "minutes": 4}),
        ASK_WHAT_NEXT,
        "between",
    ),
    (
        _call("book_appointment", {"start": "2026-11-03T10:00", "minutes": 481}),
        ASK_WHAT_NEXT,
        "between",
    ),
    (_call("send_follow_up", {}), ASK_WHAT_NEXT, "text is missing"),
    (_call("send_follow_up", {"text": "x" * 481}), ASK_WHAT_NEXT, "longer than"),
    (_call("transfer_to_human", {"summary": 3}), ASK_WHAT_NEXT, "summary must be a string"),
    (_call("launch_rockets", {}), ASK_WHAT_NEXT, "no tool 'launch_rockets'"),
    (_call("", {}), ASK_WHAT_NEXT, "no tool ''"),
]


@pytest.mark.parametrize(("call", "sentence", "why"), BAD)
def test_bad_arguments_are_a_polite_reask_and_the_model_hears_why(
    call: ToolCall, sentence: str, why: str
) -> None:
    state, reply = _answer(call, "Done, you're all set!")
    # What the model meant to say with an act that was not done would mislead.
    assert reply == Reply(say=(sentence,))
    assert state.pending == ()
    assert not state.rules_only
    speaker, entry = state.history[-2]
    assert speaker == TOOL_RESULT
    assert why in json.loads(json.loads(entry)["content"])["error"]
    assert state.history[-1] == (AGENT, sentence)
    _assert_valid_openai(openai_messages(model_messages(PROFILE, state, NOW)))


def test_a_tool_the_profile_does_not_allow_is_refused() -> None:
    call = _call("book_appointment", {"start": "2026-11-03T10:00"})
    _, reply = _answer(call, profile=BARE)
    assert reply.act is None
    assert reply.say == (ASK_WHAT_NEXT,)


def test_a_looping_model_is_stopped_and_the_caller_asked() -> None:
    brain, _ = _brain()
    state = _after_heard()
    for step in range(MAX_TOOL_STEPS):
        call = _call("send_follow_up", {"text": "hi"}, f"c{step}")
        state, reply = brain.hear(PROFILE, state, ModelAnswered(tool_calls=(call,)), NOW)
        assert isinstance(reply.act, SendFollowUp)
        state, reply = brain.hear(PROFILE, state, FollowUpSent(), NOW)
        assert isinstance(reply.act, AskModel)
    call = _call("send_follow_up", {"text": "hi"}, "c-last")
    state, reply = brain.hear(PROFILE, state, ModelAnswered(tool_calls=(call,)), NOW)
    assert reply == Reply(say=(ASK_WHAT_NEXT,))
    # The caller speaking again resets the count.
    state, reply = brain.hear(PROFILE, state, Heard("Book me at ten"), NOW)
    call = _call("send_follow_up", {"text": "hi"}, "c-new")
    _, reply = brain.hear(PROFILE, state, ModelAnswered(tool_calls=(call,)), NOW)
    assert isinstance(reply.act, SendFollowUp)


def test_only_the_first_of_several_tool_calls_is_done() -> None:
    brain, _ = _brain()
    calls = (
        _call("take_message", {}, "a"),
        _call("end_call", {}, "b"),
    )
    state, reply = brain.hear(PROFILE, _after_heard(), ModelAnswered(tool_calls=calls), NOW)
    assert reply.act == RecordMessage()
    assert state.pending == (("a", "take_message"),)
    skipped = json.loads(state.history[-1][1])
    assert skipped["id"] == "b"
    state, reply = brain.hear(PROFILE, state, MessageTaken("Call me back"), NOW)
    assert isinstance(reply.act, AskModel)
    _assert_valid_openai(openai_messages(reply.act.messages))


# -- plain answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "say"),
    [
        ("We open at nine. See you soon!", ("We open at nine.", "See you soon!")),
        ("<think>they want hours</think>We open at nine.", ("We open at nine.",)),
        ("**Yes**, we do.\n- Monday\n- Tuesday", ("Yes, we do.", "Monday", "Tuesday")),
        ("1. First. 2) Second?", ("First.", "Second?")),
        ("  Hello   there  ", ("Hello there",)),
        ("<think>unfinished reasoning", ()),
        (
            "Dr. Dupont sees you at 10 a.m. on Tuesday. Fine?",
            ("Dr. Dupont sees you at 10 a.m. on Tuesday.", "Fine?"),
        ),
    ],
)
def test_spoken_sentences(content: str, say: tuple[str, ...]) -> None:
    assert spoken_sentences(content) == say


def test_a_plain_answer_is_said_and_remembered() -> None:
    state, reply = _answer(None, "We're open until five. Anything else?")
    assert reply == Reply(say=("We're open until five.", "Anything else?"))
    assert state.history[-1] == (AGENT, "We're open until five. Anything else?")


def test_an_empty_answer_asks_the_caller_again() -> None:
    brain, _ = _brain()
    state, reply = brain.hear(PROFILE, _after_heard(), ModelAnswered(content="  "), NOW)
    assert reply == Reply(say=(SAY_AGAIN,))
    assert state.misses == 1
    assert not state.rules_only


# -- act results back to the model -----------------------------------------------------------

BOOKED_AT = datetime(2026, 11, 3, 10, 0, tzinfo=PARIS)
RESULTS: list[tuple[str, Input, dict[str, Any], str | None]] = [
    (
        "book_appointment",
        Booked(BOOKED_AT, 30),
        {
            "booked": True,
            "start": "2026-11-03T10:00:00+01:00",
            "when": "Tuesday 3 November at 10:00",
            "minutes": 30,
        },
        "booked",
    ),
    (
        # The calendar's UTC times are told to the model in local time.
        "book_appointment",
        NotBooked(BOOKED_AT.astimezone(UTC), (datetime(2026, 11, 3, 10, 0, tzinfo=UTC),)),
        {
            "booked": False,
            "wanted": "2026-11-03T10:00:00+01:00",
            "free_starts_nearby": ["2026-11-03T11:00:00+01:00"],
            "reason": "closed or already taken",
        },
        None,
    ),
    (
        "book_appointment",
        NotBooked(BOOKED_AT, (BOOKED_AT + timedelta(hours=1),)),
        {
            "booked": False,
            "wanted": "2026-11-03T10:00:00+01:00",
            "free_starts_nearby": ["2026-11-03T11:00:00+01:00"],
            "reason": "closed or already taken",
        },
        None,
    ),
    (
        "book_appointment",
        NotBooked(BOOKED_AT, error="calendar unreachable"),
        {
            "booked": False,
            "wanted": "2026-11-03T10:00:00+01:00",
            "free_starts_nearby": [],
            "error": "calendar unreachable",
        },
        None,
    ),
    (
        "transfer_to_human",
        HandOverFailed(486, "busy"),
        {"transferred": False, "status": 486, "reason": "busy"},
        None,
    ),
    (
        "take_message",
        MessageTaken("Please call back"),
        {"message_recorded": True, "transcript": "Please call back"},
        "message",
    ),
    ("take_message", MessageTaken(), {"message_recorded": True, "transcript": ""}, "message"),
    ("send_follow_up", FollowUpSent(), {"sent": True, "refused_by_rule": None}, None),
    ("send_follow_up", FollowUpSent("M3"), {"sent": False, "refused_by_rule": "M3"}, None),
]


@pytest.mark.parametrize(("tool", "result", "told", "outcome"), RESULTS)
def test_an_acts_result_goes_back_to_the_model_as_the_tools_answer(
    tool: str, result: Input, told: dict[str, Any], outcome: str | None
) -> None:
    brain, rules = _brain()
    state = replace_pending(_after_heard(), tool)
    state, reply = brain.hear(PROFILE, state, result, NOW)
    assert isinstance(reply.act, AskModel)
    assert reply.outcome == outcome
    assert state.pending == ()
    assert rules.seen == []
    wire = openai_messages(reply.act.messages)
    _assert_valid_openai(wire)
    assert wire[-1]["role"] == "tool"
    assert wire[-1]["tool_call_id"] == "call-1"
    assert json.loads(wire[-1]["content"]) == told


def replace_pending(state: DialogState, tool: str) -> DialogState:
    args = {"start": "2026-11-03T10:00"} if tool == "book_appointment" else {"text": "hi"}
    brain, _ = _brain()
    answer = ModelAnswered(tool_calls=(_call(tool, args),))
    state, _ = brain.hear(PROFILE, state, answer, NOW)
    assert state.pending == (("call-1", tool),)
    return state


def test_the_caller_speaking_over_a_pending_act_closes_the_tool_call() -> None:
    brain, _ = _brain()
    state = replace_pending(_after_heard(), "transfer_to_human")
    state, reply = brain.hear(PROFILE, state, Heard("Actually, never mind"), NOW)
    assert state.pending == ()
    assert isinstance(reply.act, AskModel)
    wire = openai_messages(reply.act.messages)
    _assert_valid_openai(wire)
    assert wire[-2]["role"] == "tool"
    assert "spoke first" in wire[-2]["content"]


def test_a_result_nobody_asked_the_model_for_goes_to_the_rules_brain() -> None:
    brain, rules = _brain()
    state, reply = brain.hear(PROFILE, _after_heard(), MessageTaken("hi"), NOW)
    assert rules.seen == [MessageTaken("hi")]
    assert reply.say == ("rules",)
    assert not state.rules_only


def test_silence_is_the_rules_brains_without_leaving_the_model() -> None:
    brain, rules = _brain()
    state, reply = brain.hear(PROFILE, _after_heard(), Silence(), NOW)
    assert rules.seen == [Silence()]
    assert not state.rules_only
    _, reply = brain.hear(PROFILE, state, Heard("Hello?"), NOW)
    assert isinstance(reply.act, AskModel)


# -- the model fails -------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["timeout after 4.0 s", "model answered 500: boom"])
def test_a_model_error_falls_back_to_the_rules_brain_for_the_rest_of_the_call(
    error: str,
) -> None:
    brain, rules = _brain()
    state, reply = brain.hear(PROFILE, _after_heard(), ModelAnswered(error=error), NOW)
    assert reply == Reply(say=(FALLBACK_SENTENCE,))
    assert state.rules_only
    assert state.history[-1] == (AGENT, FALLBACK_SENTENCE)
    # Every later input is the rules brain's, even when it builds a fresh state.
    for later in (Heard("Take a message please"), MessageTaken("x"), Heard("Bye")):
        state, reply = brain.hear(PROFILE, state, later, NOW)
        assert reply.say == ("rules",)
        assert state.rules_only
    assert rules.seen == [Heard("Take a message please"), MessageTaken("x"), Heard("Bye")]


def test_a_late_model_answer_after_the_fallback_is_not_the_models() -> None:
    brain, rules = _brain()
    state = DialogState(rules_only=True)
    answer = ModelAnswered(tool_calls=(_call("end_call", {}),))
    _, reply = brain.hear(PROFILE, state, answer, NOW)
    assert reply.act is None
    assert rules.seen == [answer]


# -- the wire format -------------------------------------------------------------------------


def test_openai_messages_merge_as_chat_templates_expect() -> None:
    call = json.dumps({"id": "c1", "name": "end_call", "arguments": "{}"})
    pairs = [
        ("system", "S"),
        ("user", "Hi"),
        ("user", "there"),
        ("assistant", "Bye."),
        ("tool_call", call),
        ("tool", json.dumps({"id": "c1", "content": '{"ok": true}'})),
        ("tool_call", json.dumps({"id": "c2", "name": "take_message", "arguments": ""})),
    ]
    assert openai_messages(pairs) == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Hi there"},
        {
            "role": "assistant",
            "content": "Bye.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "end_call", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok": true}'},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "take_message", "arguments": ""},
                }
            ],
        },
    ]


_TOOL_ARGS = {
    "book_appointment": st.sampled_from(
        ['{"start": "2026-11-03T10:00"}', '{"start": "yesterday"}', "{", '{"minutes": 3}']
    ),
    "transfer_to_human": st.sampled_from(['{"summary": "x"}', '{"target": 1}']),
    "take_message": st.just("{}"),
    "send_follow_up": st.sampled_from(['{"text": "hi"}', "{}"]),
    "end_call": st.just(""),
    "no_such_tool": st.just("{}"),
}
_calls = st.sampled_from(sorted(_TOOL_ARGS)).flatmap(
    lambda name: _TOOL_ARGS[name].map(lambda args: (name, args))
)
_results = st.sampled_from(
    [
        Booked(BOOKED_AT, 30),
        NotBooked(BOOKED_AT),
        HandOverFailed(480),
        MessageTaken(),
        FollowUpSent(),
    ]
)
_step = st.one_of(
    st.builds(Heard, st.sampled_from(["hello", "book me", "bye"])),
    st.just(Silence()),
    st.builds(
        lambda content, calls: ("answer", content, calls),
        st.sampled_from(["", "Sure.", "<think>x</think>Okay!"]),
        st.lists(_calls, max_size=3),
    ),
    _results,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, max_size=25))
def test_whatever_the_model_does_the_messages_stay_valid(steps: list[Any]) -> None:
    brain, _ = _brain()
    # The rules stand-in keeps the history it is given, as a real brain does.
    state, counter = DialogState(), 0
    for step in steps:
        if isinstance(step, tuple):
            _, content, calls = step
            tool_calls = []
            for name, args in calls:
                counter += 1
                tool_calls.append(ToolCall(f"id{counter}", name, args))
            heard: Input = ModelAnswered(content, tuple(tool_calls))
        else:
            heard = step
        state, reply = brain.hear(PROFILE, state, heard, NOW)
        if state.rules_only:
            return
        if isinstance(reply.act, AskModel):
            _assert_valid_openai(openai_messages(reply.act.messages))
        if state.pending:
            assert reply.act is not None
            assert not isinstance(reply.act, AskModel | EndCall)
