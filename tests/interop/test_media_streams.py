"""Media streams end to end (issue 16's acceptance): a caller (baresip, sending a 440 Hz
tone) dials a number whose TwiML is ``<Connect><Stream>``; a WebSocket server written
here from Twilio's published protocol (JSON with base64 µ-law, not dialtone's code)
hears the caller's tone, sends a 1000 Hz tone back that the caller hears, gets its mark
back once that audio was played, and hangs up by closing; the TwiML goes on after the
stream (``<Say>`` then the end)."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from dialtone.codecs.g711 import ulaw_decode, ulaw_encode
from tests.interop.baresip import Baresip, read_samples, require_baresip, rms, tone_power
from tests.interop.conftest import Platform, poll, registrations, require_sipp, serving
from tests.interop.twiml_app import Params, point_number, twiml_app

pytestmark = pytest.mark.interop

PASSWORD = "s3cret-phone-pass"
CALLER_HZ = 440.0
BACK_HZ = 1000.0


def tone(hz: float, seconds: float) -> bytes:
    samples = (
        int(9000 * math.sin(2 * math.pi * hz * i / 8000)) for i in range(int(8000 * seconds))
    )
    return b"".join(struct.pack("<h", s) for s in samples)


class StreamServer:
    """A media-stream client's server side, from Twilio's protocol description."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.inbound = bytearray()  # the caller's audio, decoded
        self.marks_back: list[str] = []
        self.port = 0
        self.done = threading.Event()
        self._ready = threading.Event()

    async def handle(self, ws: ServerConnection) -> None:
        stream_sid = ""
        sent = False
        async for raw in ws:
            message = json.loads(raw)
            self.events.append(message)
            kind = message["event"]
            if kind == "start":
                stream_sid = message["start"]["streamSid"]
            elif kind == "media" and message["media"]["track"] == "inbound":
                self.inbound += ulaw_decode(base64.b64decode(message["media"]["payload"]))
                if not sent and len(self.inbound) >= 16000:  # a second of the caller
                    sent = True
                    back = ulaw_encode(tone(BACK_HZ, 2.0))
                    for start in range(0, len(back), 160):
                        chunk = base64.b64encode(back[start : start + 160]).decode()
                        await ws.send(
                            json.dumps(
                                {
                                    "event": "media",
                                    "streamSid": stream_sid,
                                    "media": {"payload": chunk},
                                }
                            )
                        )
                    await ws.send(
                        json.dumps(
                            {"event": "mark", "streamSid": stream_sid, "mark": {"name": "tone"}}
                        )
                    )
            elif kind == "mark":
                self.marks_back.append(message["mark"]["name"])
                await ws.close()  # the conversation is over: the TwiML goes on
        self.done.set()

    def run(self) -> None:
        async def main() -> None:
            async with serve(self.handle, "127.0.0.1", 0) as server:
                self.port = server.sockets[0].getsockname()[1]
                self._ready.set()
                await asyncio.get_running_loop().create_future()

        threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
        assert self._ready.wait(10)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"),),
        password=PASSWORD,
        webhook_allow_private_targets="true",
        lookup_cache_seconds="0",
    ) as running:
        yield running


def test_a_stream_hears_the_caller_and_speaks_back(platform: Platform, tmp_path: Path) -> None:
    require_baresip()
    ws = StreamServer()
    ws.run()

    def voice(p: Params) -> str:
        return (
            f'<Response><Connect><Stream url="ws://127.0.0.1:{ws.port}/media">'
            '<Parameter name="caller" value="alice"/></Stream></Connect>'
            "<Say>The assistant has left.</Say></Response>"
        )

    with twiml_app(platform.extra["auth_token"], {"/voice": voice}) as app:
        point_number(platform, voice_url=app.url("/voice"))
        alice = Baresip(
            tmp_path,
            "alice",
            user="alice",
            password=PASSWORD,
            registrar_port=platform.sip_port,
            tone_hz=CALLER_HZ,
        )
        try:
            assert poll(lambda: registrations(platform), timeout=20), alice.log()[-3000:]
            alice.dial(platform.number)
            alice.wait_event("CALL_ESTABLISHED", timeout=30)
            assert ws.done.wait(30), [e["event"] for e in ws.events]
            time.sleep(1.5)  # the <Say> after the stream
            alice.command("hangup")
            time.sleep(0.5)
        finally:
            alice.stop()
    kinds = [e["event"] for e in ws.events]
    assert kinds[:2] == ["connected", "start"], kinds
    start = ws.events[1]["start"]
    assert start["callSid"].startswith("CA")
    assert start["accountSid"] == platform.account_id
    assert start["customParameters"] == {"caller": "alice"}
    assert start["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    media = [e for e in ws.events if e["event"] == "media"]
    chunks = [int(e["media"]["chunk"]) for e in media]
    assert chunks == sorted(chunks)
    assert len(set(chunks)) == len(chunks)
    # The stream heard the caller's tone.
    heard = list(memoryview(bytes(ws.inbound)).cast("h"))
    assert tone_power(heard, CALLER_HZ) > 100 * tone_power(heard, BACK_HZ)
    # Its mark came back once its audio had been played.
    assert ws.marks_back == ["tone"]
    # The caller heard the stream's tone.
    samples = read_samples(alice.received())
    assert rms(samples) > 500
    assert tone_power(samples, BACK_HZ) > 10 * tone_power(samples, CALLER_HZ)
