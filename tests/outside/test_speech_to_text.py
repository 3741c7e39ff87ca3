"""The OpenAI-compatible transcription adapter, against a stand-in for the remote service
(httpx.MockTransport): what it sends, and every way the answer can be unusable."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from dialtone.outside.speech_to_text import FakeTranscriber, HttpTranscriber, TranscriptionError

WAV = b"RIFF....WAVEfmt fake"


def _run(transcriber: HttpTranscriber, language: str | None = None) -> str:
    return asyncio.run(transcriber.transcribe(WAV, language=language))


def test_sends_the_audio_model_and_key_as_the_api_expects() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"text": "  Call me back.  "})

    transcriber = HttpTranscriber(
        "http://stt.example/v1/",
        model="whisper-large-v3",
        api_key="k-123",
        transport=httpx.MockTransport(handler),
    )
    assert _run(transcriber, language="fr") == "Call me back."
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "http://stt.example/v1/audio/transcriptions"
    assert request.headers["Authorization"] == "Bearer k-123"
    body = request.read()
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="model"\r\n\r\nwhisper-large-v3' in body
    assert b'name="language"\r\n\r\nfr' in body
    assert b'filename="voicemail.wav"' in body
    assert WAV in body


def test_no_key_no_authorization_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "Authorization" not in request.headers
        assert b'name="language"' not in request.read()
        return httpx.Response(200, json={"text": "ok"})

    assert _run(HttpTranscriber("http://stt", transport=httpx.MockTransport(handler))) == "ok"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="boom"),
        httpx.Response(401, json={"error": "bad key"}),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"no": "text"}),
        httpx.Response(200, json={"text": 42}),
        httpx.Response(200, content=json.dumps(["text"]).encode()),
    ],
)
def test_unusable_answers_are_a_transcription_error(response: httpx.Response) -> None:
    transcriber = HttpTranscriber("http://stt", transport=httpx.MockTransport(lambda _: response))
    with pytest.raises(TranscriptionError):
        _run(transcriber)


def test_unreachable_is_a_transcription_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TranscriptionError, match="unreachable"):
        _run(HttpTranscriber("http://stt", transport=httpx.MockTransport(handler)))


def test_fake_returns_its_text() -> None:
    fake = FakeTranscriber("hi")
    assert asyncio.run(fake.transcribe(WAV)) == "hi"
    assert fake.calls == [len(WAV)]
