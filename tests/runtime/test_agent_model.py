"""Asking the model for an agent: the act as an OpenAI request, the answer as the
dialog's input, the profile's deadline kept whatever the model does; then whole turns of
the language-model brain against the stand-in model server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialtone.agents.llm_brain import FALLBACK_SENTENCE, ModelBrain
from dialtone.agents.profile import (
    AgentProfile,
    CalendarRef,
    ModelRef,
    OpenHours,
    TransferTarget,
)
from dialtone.agents.turns import (
    AskModel,
    BookAppointment,
    Booked,
    DialogState,
    Heard,
    Input,
    ModelAnswered,
    Reply,
    ToolCall,
)
from dialtone.outside.chat_model import ChatAnswer, ChatToolCall, FakeChat
from dialtone.runtime.agent_model import (
    DEFAULT_TIMEOUT_SECONDS,
    ModelClients,
    ask_model,
    model_answered,
)
from tests.outside.test_chat_model import Responder, Scripted, _completion, responder

__all__ = ["responder"]  # the loopback model server, a fixture

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
PROFILE = AgentProfile(
    id="ag-1",
    account_id="acc-1",
    name="Nova",
    business_name="Dupont Dental",
    timezone="Europe/Paris",
    hours=(OpenHours(1, time(9), time(17)),),
    calendar=CalendarRef("http://127.0.0.1:5232/dental/"),
    transfer_targets=(TransferTarget("group", "g-1", "sales"),),
    dialog="llm",
    model=ModelRef("http://127.0.0.1:9/v1", "qwen", timeout_seconds=1.5),
)
ACT = AskModel(
    messages=(("system", "S"), ("user", "Hi"), ("assistant", "Hello.")),
    tools=("transfer_to_human", "end_call"),
)


def test_the_act_is_sent_in_the_openai_format_within_the_profiles_timeout() -> None:
    fake = FakeChat([ChatAnswer(content="Hi!", tool_calls=(ChatToolCall("c", "end_call", ""),))])
    answer = asyncio.run(ask_model(fake, ACT, PROFILE))
    assert answer == ModelAnswered(content="Hi!", tool_calls=(ToolCall("c", "end_call", ""),))
    [(messages, tools, timeout)] = fake.requests
    assert messages == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
    ]
    assert [t["function"]["name"] for t in tools] == ["transfer_to_human", "end_call"]
    assert tools[0]["function"]["parameters"]["properties"]["target"]["enum"] == ["sales"]
    assert timeout == 1.5


def test_a_profile_without_a_model_gets_the_default_deadline() -> None:
    fake = FakeChat([ChatAnswer(content="ok")])
    bare = AgentProfile(id="a", account_id="b", name="X")
    asyncio.run(ask_model(fake, ACT, bare))
    assert fake.requests[0][2] == DEFAULT_TIMEOUT_SECONDS == 4.0


class Stuck:
    """A chat model that ignores its timeout."""

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        timeout: float,
    ) -> ChatAnswer:
        await asyncio.sleep(30)
        return ChatAnswer(content="too late")


class Broken:
    """A chat model that raises (against its contract)."""

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        timeout: float,
    ) -> ChatAnswer:
        raise RuntimeError("segfault in the bindings")


def test_a_model_that_ignores_its_timeout_is_cut_off() -> None:
    quick = AgentProfile(
        id="a", account_id="b", name="X", model=ModelRef("http://x", "m", timeout_seconds=0.1)
    )

    async def run() -> tuple[ModelAnswered, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await ask_model(Stuck(), ACT, quick)
        return answer, loop.time() - started

    answer, elapsed = asyncio.run(run())
    assert answer == ModelAnswered(error="timeout after 0.1 s")
    assert elapsed < 1


def test_a_model_that_raises_is_an_error_answer() -> None:
    answer = asyncio.run(ask_model(Broken(), ACT, PROFILE))
    assert answer == ModelAnswered(error="RuntimeError: segfault in the bindings")


def test_an_error_answer_stays_an_error() -> None:
    assert model_answered(ChatAnswer(error="model answered 500")) == ModelAnswered(
        error="model answered 500"
    )


def test_model_clients_keep_one_client_per_endpoint() -> None:
    clients = ModelClients()
    first = clients.for_profile(PROFILE)
    assert first is not None
    assert first.url == "http://127.0.0.1:9/v1"
    assert first.model == "qwen"
    assert clients.for_profile(PROFILE) is first
    other = AgentProfile(id="z", account_id="b", name="Y", model=ModelRef("http://h/v1", "m"))
    assert clients.for_profile(other) is not first
    assert clients.for_profile(AgentProfile(id="n", account_id="b", name="N")) is None
    asyncio.run(clients.aclose())
    assert clients.for_profile(PROFILE) is not first


# -- whole turns over loopback ---------------------------------------------------------------


class RulesStandIn:
    def hear(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]:
        return state, Reply(say=("rules",))


def _turns(responder: Responder, inputs: list[Input | None]) -> list[Reply]:
    """Feed ``inputs`` to the brain; each ``None`` is the model's answer to the last
    ``AskModel``, asked over HTTP as the runtime asks it."""
    profile = replace(PROFILE, model=ModelRef(responder.url, "qwen", timeout_seconds=0.5))
    brain = ModelBrain(fallback=RulesStandIn())
    clients = ModelClients()
    chat = clients.for_profile(profile)
    assert chat is not None

    async def run() -> list[Reply]:
        state, replies = DialogState(), []
        last: Reply | None = None
        for item in inputs:
            heard = item
            if heard is None:
                assert last is not None
                assert isinstance(last.act, AskModel)
                heard = await ask_model(chat, last.act, profile)
            state, last = brain.hear(profile, state, heard, NOW)
            replies.append(last)
        await clients.aclose()
        return replies

    return asyncio.run(run())


def test_a_booking_turn_end_to_end(responder: Responder) -> None:
    responder.script += [
        Scripted(
            body=_completion(
                {
                    "content": "Let me book Tuesday at ten.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {
                                "name": "book_appointment",
                                "arguments": '{"start": "2026-11-03T10:00", "name": "Ana"}',
                            },
                        }
                    ],
                }
            )
        ),
        Scripted(body=_completion({"content": "You're booked for Tuesday at ten. Anything else?"})),
    ]
    booked_at = datetime(2026, 11, 3, 10, 0, tzinfo=PARIS)
    replies = _turns(
        responder, [Heard("Book me tomorrow at ten, I'm Ana"), None, Booked(booked_at, 30), None]
    )
    assert replies[1] == Reply(
        say=("Let me book Tuesday at ten.",),
        act=BookAppointment(start=booked_at, minutes=30, caller_name="Ana"),
    )
    assert replies[2].outcome == "booked"
    assert replies[3] == Reply(say=("You're booked for Tuesday at ten.", "Anything else?"))
    first, second = (body for _, _, body in responder.seen)
    assert first["messages"][-1] == {"role": "user", "content": "Book me tomorrow at ten, I'm Ana"}
    assert [t["function"]["name"] for t in first["tools"]] == [
        "book_appointment",
        "transfer_to_human",
        "take_message",
        "end_call",
    ]
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_1"
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": (
            '{"booked": true, "start": "2026-11-03T10:00:00+01:00", '
            '"when": "Tuesday 3 November at 10:00", "minutes": 30}'
        ),
    }


@pytest.mark.parametrize(
    "scripted", [Scripted(500, {"error": "boom"}), Scripted(body=_completion({}), delay=5)]
)
def test_a_failing_model_server_hands_the_call_to_the_rules(
    responder: Responder, scripted: Scripted
) -> None:
    responder.script.append(scripted)
    replies = _turns(responder, [Heard("Hello"), None, Heard("Take a message")])
    assert replies[1] == Reply(say=(FALLBACK_SENTENCE,))
    assert replies[2] == Reply(say=("rules",))
    assert len(responder.seen) == 1
