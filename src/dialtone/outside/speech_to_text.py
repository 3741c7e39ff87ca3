"""Speech-to-text for voicemail (TERMS V9: the result is labelled machine-generated).

One small interface, a real adapter and a fake:

- ``HttpTranscriber`` speaks the OpenAI-compatible ``POST /audio/transcriptions`` API
  that OpenAI, whisper.cpp's server, faster-whisper-server and LocalAI all offer, so an
  operator can point dialtone at a hosted service or at a model on their own machine.
- ``FakeTranscriber`` returns a fixed text, for tests and demos.

Errors are ``TranscriptionError``: the voicemail is kept without a transcript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import httpx


class TranscriptionError(Exception):
    """The transcriber could not turn this audio into text."""


class Transcriber(Protocol):
    """Turns a WAV file's bytes into text."""

    async def transcribe(self, wav: bytes, *, language: str | None = None) -> str: ...


@dataclass
class HttpTranscriber:
    """An OpenAI-compatible transcription endpoint (``base_url`` ends before
    ``/audio/transcriptions``, e.g. ``https://api.openai.com/v1``)."""

    base_url: str
    model: str = "whisper-1"
    api_key: str | None = None
    timeout: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None

    async def transcribe(self, wav: bytes, *, language: str | None = None) -> str:
        """POST the audio as multipart form data; the JSON answer's ``text``."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        data = {"model": self.model, "response_format": "json"}
        if language:
            data["language"] = language
        url = self.base_url.rstrip("/") + "/audio/transcriptions"
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as http:
                response = await http.post(
                    url,
                    headers=headers,
                    data=data,
                    files={"file": ("voicemail.wav", wav, "audio/wav")},
                )
        except httpx.HTTPError as exc:
            raise TranscriptionError(f"transcriber unreachable: {exc}") from exc
        if response.status_code != 200:
            raise TranscriptionError(
                f"transcriber answered {response.status_code}: {response.text[:200]}"
            )
        try:
            text = response.json()["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TranscriptionError("transcriber answer has no text") from exc
        if not isinstance(text, str):
            raise TranscriptionError("transcriber answer has no text")
        return text.strip()


@dataclass
class FakeTranscriber:
    """Always the same text; records what it was given."""

    text: str = "Hello, this is a test message."
    calls: list[int] = field(default_factory=list)

    async def transcribe(self, wav: bytes, *, language: str | None = None) -> str:
        self.calls.append(len(wav))
        return self.text
