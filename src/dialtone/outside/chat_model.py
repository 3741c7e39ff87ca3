"""A chat language model for the AI receptionist's optional dialog (issue 17, TERMS A1).

One small interface, a real adapter and a fake:

- ``OpenAiCompatibleChat`` speaks ``POST {url}/chat/completions`` with function tools,
  the API that OpenAI and the local servers (llama.cpp's ``llama-server``, Ollama, vLLM,
  LocalAI) all offer, so an operator can keep the model on their own machine.
- ``FakeChat`` answers from a script, for tests and demos.

Messages and tools go in already in the OpenAI format (``agents.llm_brain`` makes them);
what comes out is a ``ChatAnswer``: the text, the tool calls, or why there is none.
Nothing raises: a model that fails is an answer with ``error`` (the dialog then falls
back to its rules). The adapter knows nothing of dialtone's dialog types (this layer may
not import ``agents``): ``runtime.agent_model`` converts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

# How much of a failed answer's body goes into the error (logs, the call's report).
ERROR_BODY_CHARS = 200


@dataclass(frozen=True, slots=True)
class ChatToolCall:
    """A function the model asked to call (``arguments``: its JSON text)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """The model's reply (``content``, ``tool_calls``) or why there is none (``error``)."""

    content: str = ""
    tool_calls: tuple[ChatToolCall, ...] = ()
    error: str | None = None


class ChatModel(Protocol):
    """A chat model with function tools; ``complete`` never raises and returns within
    ``timeout`` seconds."""

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        timeout: float,
    ) -> ChatAnswer: ...


@dataclass
class OpenAiCompatibleChat:
    """An OpenAI-compatible chat endpoint. ``url`` ends before ``/chat/completions``
    (``http://127.0.0.1:8080/v1`` for llama-server, ``http://127.0.0.1:11434/v1`` for
    Ollama, ``https://api.openai.com/v1``). One HTTP client is kept open: reusing its
    connection saves a handshake on every turn of a call. Close with ``aclose``."""

    url: str
    model: str
    api_key: str = ""
    # Spoken answers are short: a cap keeps a rambling model from holding the caller.
    max_tokens: int = 200
    temperature: float = 0.3
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    def request_body(
        self, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """The JSON body POSTed for one completion."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": False,
        }
        if tools:
            body["tools"] = list(tools)
            body["tool_choice"] = "auto"
        return body

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        timeout: float,
    ) -> ChatAnswer:
        """POST the conversation; the first choice's message, or the error."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        endpoint = self.url.rstrip("/") + "/chat/completions"
        try:
            # httpx's timeout bounds each phase; the caller's deadline is for the whole.
            async with asyncio.timeout(timeout):
                response = await self._http().post(
                    endpoint,
                    json=self.request_body(messages, tools),
                    headers=headers,
                    timeout=timeout,
                )
        except (TimeoutError, httpx.TimeoutException):
            return ChatAnswer(error=f"timeout after {timeout:g} s")
        except httpx.HTTPError as exc:
            return ChatAnswer(error=f"model unreachable: {type(exc).__name__}: {exc}")
        if response.status_code != 200:
            text = response.text[:ERROR_BODY_CHARS]
            return ChatAnswer(error=f"model answered {response.status_code}: {text}")
        try:
            return parse_completion(response.json())
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return ChatAnswer(error=f"unusable model answer: {exc}")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(transport=self.transport)
        return self._client

    async def aclose(self) -> None:
        """Close the kept connection (the next ``complete`` opens another)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _text(content: object) -> str:
    """A message's content: a string, null, or (some servers) a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    raise TypeError(f"content is {type(content).__name__}")


def _tool_call(index: int, raw: object) -> ChatToolCall:
    if not isinstance(raw, dict):
        raise TypeError("a tool call is not an object")
    function = raw.get("function")
    if not isinstance(function, dict):
        raise TypeError("a tool call has no function")
    name = function.get("name")
    arguments = function.get("arguments", "")
    if not isinstance(name, str):
        raise TypeError("a tool call has no name")
    if isinstance(arguments, dict):
        # Some servers send the arguments as an object, not its JSON text.
        arguments = json.dumps(arguments)
    elif arguments is None:
        arguments = ""
    elif not isinstance(arguments, str):
        raise TypeError("a tool call's arguments are not text")
    call_id = raw.get("id")
    # Some local servers leave the id out; the conversation still needs one per call.
    return ChatToolCall(
        call_id if isinstance(call_id, str) and call_id else f"call_{index}", name, arguments
    )


def parse_completion(payload: object) -> ChatAnswer:
    """A ``/chat/completions`` answer's first choice as a ``ChatAnswer``; raises
    ValueError, KeyError, IndexError or TypeError when it is not one."""
    if not isinstance(payload, dict):
        raise TypeError("the answer is not an object")
    if payload.get("error"):
        # Some servers answer 200 with an error object.
        raise ValueError(f"error: {str(payload['error'])[:ERROR_BODY_CHARS]}")
    message = payload["choices"][0]["message"]
    if not isinstance(message, dict):
        raise TypeError("the choice has no message")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TypeError("tool_calls is not a list")
    return ChatAnswer(
        content=_text(message.get("content")).strip(),
        tool_calls=tuple(_tool_call(i, raw) for i, raw in enumerate(calls)),
    )


@dataclass
class FakeChat:
    """Answers from ``script`` in order (then an error); records every request."""

    script: list[ChatAnswer] = field(default_factory=list)
    requests: list[tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], float]] = field(
        default_factory=list
    )

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        *,
        timeout: float,
    ) -> ChatAnswer:
        self.requests.append((list(messages), list(tools), timeout))
        if not self.script:
            return ChatAnswer(error="the fake model has no more answers")
        return self.script.pop(0)
