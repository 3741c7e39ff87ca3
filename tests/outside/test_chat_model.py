"""The OpenAI-compatible chat adapter against a real HTTP server on loopback: a tiny
responder written here stands in for a model server (llama-server, Ollama, vLLM) that
cannot run in the tests. What is sent, what is read back, and every failure an error."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dialtone.outside.chat_model import (
    ChatAnswer,
    ChatToolCall,
    FakeChat,
    OpenAiCompatibleChat,
    parse_completion,
)

MESSAGES = [
    {"role": "system", "content": "You are Nova."},
    {"role": "user", "content": "Book me tomorrow at ten"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "end_call",
            "description": "Hang up",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


@dataclass
class Scripted:
    """One answer of the stand-in server: status, body (JSON or raw text), delay."""

    status: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class Responder:
    """The stand-in model server: answers POST /v1/chat/completions from a script and
    records each request (path, headers, JSON body)."""

    server: ThreadingHTTPServer
    script: list[Scripted] = field(default_factory=list)
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"


@pytest.fixture
def responder() -> Iterator[Responder]:
    holder: list[Responder] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = holder[0]
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            me.seen.append((self.path, dict(self.headers.items()), body))
            answer = me.script.pop(0) if me.script else Scripted(500, "no script")
            if answer.delay:
                # Released at teardown so no thread outlives the test.
                me.release.wait(answer.delay)
            raw = (
                answer.body.encode()
                if isinstance(answer.body, str)
                else json.dumps(answer.body).encode()
            )
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except OSError:
                pass  # the client gave up (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder.append(Responder(server))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        holder[0].release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}}],
    }


def _ask(chat: OpenAiCompatibleChat, timeout: float = 5.0) -> ChatAnswer:
    async def run() -> ChatAnswer:
        try:
            return await chat.complete(MESSAGES, TOOLS, timeout=timeout)
        finally:
            await chat.aclose()

    return asyncio.run(run())


def test_sends_the_conversation_tools_model_and_key_as_the_api_expects(
    responder: Responder,
) -> None:
    responder.script.append(Scripted(body=_completion({"content": " We open at nine. "})))
    chat = OpenAiCompatibleChat(responder.url + "/", "qwen2.5-1.5b-instruct", api_key="sk-1")
    assert _ask(chat) == ChatAnswer(content="We open at nine.")
    [(path, headers, body)] = responder.seen
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-1"
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "model": "qwen2.5-1.5b-instruct",
        "messages": MESSAGES,
        "max_tokens": 200,
        "temperature": 0.3,
        "stream": False,
        "tools": TOOLS,
        "tool_choice": "auto",
    }


def test_no_key_no_authorization_and_no_tools_no_tool_choice(responder: Responder) -> None:
    responder.script.append(Scripted(body=_completion({"content": "Hi"})))

    async def run() -> ChatAnswer:
        chat = OpenAiCompatibleChat(responder.url, "m")
        try:
            return await chat.complete(MESSAGES, [], timeout=5)
        finally:
            await chat.aclose()

    assert asyncio.run(run()).content == "Hi"
    [(_, headers, body)] = responder.seen
    assert "Authorization" not in headers
    assert "tools" not in body
    assert "tool_choice" not in body


def test_reads_tool_calls(responder: Responder) -> None:
    responder.script.append(
        Scripted(
            body=_completion(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_abc",
                            "type": "function",
                            "function": {
                                "name": "book_appointment",
                                "arguments": '{"start": "2026-11-03T10:00"}',
                            },
                        }
                    ],
                }
            )
        )
    )
    answer = _ask(OpenAiCompatibleChat(responder.url, "m"))
    assert answer == ChatAnswer(
        tool_calls=(ChatToolCall("call_abc", "book_appointment", '{"start": "2026-11-03T10:00"}'),)
    )


def test_one_connection_serves_a_whole_call(responder: Responder) -> None:
    responder.script += [Scripted(body=_completion({"content": str(i)})) for i in range(3)]
    chat = OpenAiCompatibleChat(responder.url, "m")

    async def run() -> list[str]:
        answers = [(await chat.complete(MESSAGES, TOOLS, timeout=5)).content for _ in range(3)]
        await chat.aclose()
        return answers

    assert asyncio.run(run()) == ["0", "1", "2"]
    assert len(responder.seen) == 3


def test_a_server_slower_than_the_timeout_is_an_error_in_time(responder: Responder) -> None:
    responder.script.append(Scripted(body=_completion({"content": "late"}), delay=10))
    chat = OpenAiCompatibleChat(responder.url, "m")

    async def run() -> tuple[ChatAnswer, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await chat.complete(MESSAGES, TOOLS, timeout=0.3)
        elapsed = loop.time() - started
        await chat.aclose()
        return answer, elapsed

    answer, elapsed = asyncio.run(run())
    assert answer == ChatAnswer(error="timeout after 0.3 s")
    assert elapsed < 2


@pytest.mark.parametrize(
    ("scripted", "error"),
    [
        (
            Scripted(500, {"error": "out of memory"}),
            'model answered 500: {"error": "out of memory"}',
        ),
        (Scripted(401, {"error": {"message": "bad key"}}), "model answered 401"),
        (Scripted(404, "x" * 1000), "model answered 404: " + "x" * 200),
        (Scripted(200, "not json"), "unusable model answer"),
        (Scripted(200, {"choices": []}), "unusable model answer"),
        (Scripted(200, {"no": "choices"}), "unusable model answer"),
        (Scripted(200, ["a list"]), "unusable model answer"),
        (Scripted(200, {"error": "context too long"}), "unusable model answer: error: context"),
        (Scripted(200, _completion({"content": 42})), "unusable model answer"),
        (
            Scripted(200, _completion({"tool_calls": [{"id": "c", "function": {}}]})),
            "unusable model answer",
        ),
        (Scripted(200, _completion({"tool_calls": "end_call"})), "unusable model answer"),
    ],
)
def test_every_unusable_answer_is_an_error_never_an_exception(
    responder: Responder, scripted: Scripted, error: str
) -> None:
    responder.script.append(scripted)
    answer = _ask(OpenAiCompatibleChat(responder.url, "m"))
    assert answer.error is not None
    assert answer.error.startswith(error)
    assert answer.content == ""
    assert answer.tool_calls == ()


def test_an_unreachable_server_is_an_error() -> None:
    # A port nothing listens on: bind one, close it, use it.
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    answer = _ask(OpenAiCompatibleChat(f"http://127.0.0.1:{port}/v1", "m"))
    assert answer.error is not None
    assert answer.error.startswith("model unreachable: ConnectError")


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        # Ollama and others: arguments as an object.
        (
            {
                "tool_calls": [
                    {"id": "c1", "function": {"name": "take_message", "arguments": {"about": "x"}}}
                ]
            },
            ChatAnswer(tool_calls=(ChatToolCall("c1", "take_message", '{"about": "x"}'),)),
        ),
        # Some local servers leave out the id, or the arguments.
        (
            {
                "content": "Bye.",
                "tool_calls": [
                    {"function": {"name": "end_call"}},
                    {"id": "", "function": {"name": "end_call", "arguments": None}},
                ],
            },
            ChatAnswer(
                content="Bye.",
                tool_calls=(
                    ChatToolCall("call_0", "end_call", ""),
                    ChatToolCall("call_1", "end_call", ""),
                ),
            ),
        ),
        # Content as a list of text parts.
        (
            {"content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]},
            ChatAnswer(content="Hello there"),
        ),
        ({"content": None, "tool_calls": None}, ChatAnswer()),
    ],
)
def test_parse_completion_accepts_the_local_servers_variants(
    message: dict[str, Any], answer: ChatAnswer
) -> None:
    assert parse_completion(_completion(message)) == answer


def test_fake_chat_answers_its_script_then_an_error() -> None:
    fake = FakeChat([ChatAnswer(content="one")])

    async def run() -> list[ChatAnswer]:
        return [await fake.complete(MESSAGES, TOOLS, timeout=2) for _ in range(2)]

    first, second = asyncio.run(run())
    assert first.content == "one"
    assert second.error is not None
    assert fake.requests[0] == (MESSAGES, TOOLS, 2)
