"""The language model asked for an agent's ``AskModel`` (issue 17, ``dialog="llm"``).

The brain (``agents.llm_brain``) is pure and the adapter (``outside.chat_model``) knows
no dialog types; here the act becomes an OpenAI request and the answer a
``ModelAnswered``, within the profile's timeout whatever the model does. Any failure is
an answer with ``error``: the brain then says its fixed sentence and the rules brain
takes the rest of the call.
"""

from __future__ import annotations

import asyncio
import logging

from dialtone.agents.llm_brain import openai_messages, tool_schemas
from dialtone.agents.profile import AgentProfile, ModelRef
from dialtone.agents.turns import AskModel, ModelAnswered, ToolCall
from dialtone.outside.chat_model import ChatAnswer, ChatModel, OpenAiCompatibleChat

log = logging.getLogger("dialtone.agents")

# The deadline when a profile names no model (``ModelRef``'s own default).
DEFAULT_TIMEOUT_SECONDS = ModelRef(url="", model="").timeout_seconds
# Past the adapter's own deadline, ours: a ChatModel that ignores its timeout still
# cannot hold the caller.
GRACE_SECONDS = 0.25


def model_answered(answer: ChatAnswer) -> ModelAnswered:
    """The adapter's answer as the dialog's input."""
    return ModelAnswered(
        content=answer.content,
        tool_calls=tuple(ToolCall(c.id, c.name, c.arguments) for c in answer.tool_calls),
        error=answer.error,
    )


async def ask_model(chat: ChatModel, act: AskModel, profile: AgentProfile) -> ModelAnswered:
    """Ask ``chat`` for ``act`` with the tools it names (the profile's transfer labels
    listed), within ``profile.model.timeout_seconds``; never raises (A1's dialog falls
    back to its rules on an error)."""
    timeout = profile.model.timeout_seconds if profile.model else DEFAULT_TIMEOUT_SECONDS
    try:
        messages = openai_messages(act.messages)
        tools = tool_schemas(act.tools, profile)
        async with asyncio.timeout(timeout + GRACE_SECONDS):
            answer = await chat.complete(messages, tools, timeout=timeout)
    except TimeoutError:
        answer = ChatAnswer(error=f"timeout after {timeout:g} s")
    except Exception as exc:
        answer = ChatAnswer(error=f"{type(exc).__name__}: {exc}"[:300])
    if answer.error is not None:
        log.warning("agent %s: the model failed: %s", profile.id, answer.error)
    return model_answered(answer)


class ModelClients:
    """One chat client per endpoint (URL, model, key), kept for the process so that every
    call's turns reuse an open connection; ``aclose`` at shutdown."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str], OpenAiCompatibleChat] = {}

    def for_profile(self, profile: AgentProfile) -> OpenAiCompatibleChat | None:
        """The client for the profile's model; None when it names none."""
        ref = profile.model
        if ref is None:
            return None
        key = (ref.url, ref.model, ref.api_key)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = OpenAiCompatibleChat(ref.url, ref.model, ref.api_key)
        return client

    async def aclose(self) -> None:
        """Close every kept connection."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
