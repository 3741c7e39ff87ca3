"""TwiML turn latency (issue 16, Figures): from the end of a caller's digit to the first
audio of the next ``<Say>`` reaching the caller, against the webhook's own round trip.

``dialtone serve`` runs on free ports in a temporary directory
(``tests.interop.conftest.start_platform``: ``webhook_allow_private_targets``,
``lookup_cache_seconds=0``, quiet), with an account holding +33123456789 whose VoiceUrl
(set over the Twilio-compatible API with the twilio SDK) is a TwiML application on
loopback in this process (``tests.interop.twiml_app``, a ThreadingHTTPServer that checks
every request's signature with the SDK's RequestValidator). It answers ``/voice`` with
``<Gather numDigits="1" action="/turn" timeout="30"/>`` and ``/turn`` with
``<Say>You pressed one.</Say><Redirect>/voice</Redirect>``.

The caller is ``_sipua.Uac`` (INVITE from an outside number straight to the platform's
SIP port, as the interop IVR test's sipp does; PCMA with RFC 4733 telephone-events at
payload type 101) and an RTP socket in this process's event loop. A turn: once the
Gather listens (``/voice`` fetched, then a pause), the caller sends digit 1 as a phone
does (three start packets 20 ms apart, then three end packets with the E bit, one event
timestamp); the clock starts just before the first end packet leaves (dialtone takes the
digit on its first end packet) and stops when the first RTP packet from dialtone whose
payload is not all silence arrives: the ``/turn`` webhook, the cached speech, the first
20 ms frame. The first packet of any kind (``first_packet_ms``) and the all-silence
frames the speech starts with (``say_leading_silence_frames``, 20 ms each: the
synthesiser's lead-in, which dialtone sends as it comes) are reported beside it. Then
the caller waits until the Say has played and the Redirect has fetched ``/voice`` again.

The first turn synthesises the sentence (reported as ``uncached_ms``); ``--warmup`` more
turns follow unmeasured, then ``--turns`` measured ones. p50 and p95 per run, medians
over ``--runs`` (a fresh server each run).

The reference, in the same run: after each measured turn, while the Gather listens, this
process POSTs to ``/turn`` itself (the parameters dialtone last sent there, a new
connection each time as the application's HTTP/1.0 server closes them): the webhook's own
round trip on loopback. ``ratio_p50``/``ratio_p95``: the turn's percentile over the
webhook's; what dialtone adds on top of the customer's application is the difference,
the ratio says how many webhook round trips a turn costs. Goal: turn p95 <= 150 ms.

``--quick``: 1 run of 8 turns. Prints readable lines on stderr, then one JSON object as
its last line. Exits 1 when a turn got no audio (the call went wrong), never because of
speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from tests.interop.conftest import Platform, provision, start_platform, stop_platform
from tests.interop.twiml_app import Params, TwimlApp, twiml_app
from twilio.rest import Client

import dialtone
from _proc import CpuMeter, python_speed_ms
from _sipua import Uac

GOAL_P95_MS = 150.0
EVENT_PT = 101
PCMA = 8
ALAW_SILENCE = 0xD5
DIGIT_1 = 1
FRAME = 0.02

VOICE = '<Response><Gather numDigits="1" action="/turn" timeout="30"/></Response>'
TURN = "<Response><Say>You pressed one.</Say><Redirect>/voice</Redirect></Response>"


def voice(_: Params) -> str:
    return VOICE


def turn(_: Params) -> str:
    return TURN


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the value at or above ``fraction`` of them)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


# -- the caller's media ---------------------------------------------------------------------


class CallerMedia(asyncio.DatagramProtocol):
    """The caller's RTP socket: sends telephone-events, timestamps what dialtone sends."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.last_packet = 0.0  # monotonic time of the last packet from dialtone
        self.received = 0
        self._first_any: float | None = None
        self.silent_before_audio = 0  # all-silence packets before the audio, this turn
        self._first_audio: asyncio.Future[float] | None = None
        self._sequence = 1000
        self._timestamp = 160_000
        self._ssrc = 0x0BE7C401

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        now = time.monotonic()
        self.last_packet = now
        self.received += 1
        if len(data) < 12:
            return
        if self._first_any is None:
            self._first_any = now
        waiter = self._first_audio
        if waiter is None or waiter.done():
            return
        if data[1] & 0x7F != PCMA:
            return
        # The payload after the fixed header and any CSRCs (dialtone sends none).
        payload = data[12 + 4 * (data[0] & 0x0F) :]
        if payload and payload.count(ALAW_SILENCE) != len(payload):
            waiter.set_result(now)
        else:
            self.silent_before_audio += 1

    def arm(self) -> asyncio.Future[float]:
        """Wait for the next non-silent audio packet (its arrival time)."""
        self._first_any = None
        self.silent_before_audio = 0
        self._first_audio = asyncio.get_running_loop().create_future()
        return self._first_audio

    @property
    def first_any(self) -> float | None:
        return self._first_any

    def _packet(self, marker: bool, end: bool, duration: int) -> bytes:
        self._sequence = (self._sequence + 1) & 0xFFFF
        header = struct.pack(
            "!BBHII",
            0x80,
            (0x80 if marker else 0) | EVENT_PT,
            self._sequence,
            self._timestamp,
            self._ssrc,
        )
        # RFC 4733 §2.3: event, E bit and volume (10: -10 dBm0), duration in samples.
        return header + struct.pack("!BBH", DIGIT_1, (0x80 if end else 0) | 10, duration)

    async def press(self) -> float:
        """Digit 1 as phones send it; the monotonic time the first end packet left."""
        assert self.transport is not None
        assert self.remote is not None
        self._timestamp = (self._timestamp + 8000) & 0xFFFFFFFF  # a new event each press
        for index in range(3):
            self.transport.sendto(self._packet(index == 0, False, 160 * (index + 1)), self.remote)
            await asyncio.sleep(FRAME)
        sent = time.monotonic()
        for _ in range(3):
            self.transport.sendto(self._packet(False, True, 640), self.remote)
        return sent


# -- one run --------------------------------------------------------------------------------


@dataclass
class RunResult:
    uncached_ms: float | None = None
    turns_ms: list[float] = field(default_factory=list)
    first_packet_ms: list[float] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)
    silent_frames: list[int] = field(default_factory=list)
    failed_turns: int = 0
    dialtone_cpu_percent: float | None = None
    machine_busy_percent: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "uncached_ms": _round(self.uncached_ms),
            "turn_ms_p50": _round(percentile(self.turns_ms, 0.50)),
            "turn_ms_p95": _round(percentile(self.turns_ms, 0.95)),
            "turn_ms_max": _round(max(self.turns_ms, default=None)),
            "first_packet_ms_p50": _round(percentile(self.first_packet_ms, 0.50)),
            "first_packet_ms_p95": _round(percentile(self.first_packet_ms, 0.95)),
            "webhook_ms_p50": _round(percentile(self.webhook_ms, 0.50)),
            "say_leading_silence_frames": (
                statistics.median(self.silent_frames) if self.silent_frames else None
            ),
            "webhook_ms_p95": _round(percentile(self.webhook_ms, 0.95)),
            "turns": len(self.turns_ms),
            "failed_turns": self.failed_turns,
            "dialtone_cpu_percent": self.dialtone_cpu_percent,
            "machine_busy_percent": self.machine_busy_percent,
        }


def point_number(platform: Platform, app: TwimlApp) -> None:
    """The number's VoiceUrl, set as a customer would (the SDK, over the Twilio API)."""
    client = Client(platform.account_id, platform.extra["auth_token"])
    client.api.base_url = platform.base_url
    (number,) = client.incoming_phone_numbers.list(phone_number=platform.number)
    client.incoming_phone_numbers(number.sid).update(voice_url=app.url("/voice"))


async def until(predicate: Any, timeout: float, step: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return bool(predicate())


async def listening_again(app: TwimlApp, media: CallerMedia, fetched: int, pause: float) -> bool:
    """The Say has played and the Redirect has fetched ``/voice`` again (its
    ``fetched``-th time); then ``pause`` for the new Gather to be listening."""
    if not await until(lambda: len(app.to("/voice")) > fetched, 15.0):
        return False
    await until(lambda: time.monotonic() - media.last_packet > 0.1, 5.0)
    await asyncio.sleep(pause)
    return True


def webhook_round_trip(http: httpx.Client, app: TwimlApp) -> float:
    """One POST to ``/turn`` as dialtone makes it (its last parameters), in ms."""
    sent = app.to("/turn")
    body = urlencode(sent[-1] if sent else {"Digits": "1"})
    start = time.perf_counter()
    answer = http.post(
        app.url("/turn"),
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    elapsed = 1000 * (time.perf_counter() - start)
    if answer.status_code != 200 or "<Say>" not in answer.text:
        raise RuntimeError(f"the application answered {answer.status_code}: {answer.text}")
    return elapsed


async def one_call(
    platform: Platform, app: TwimlApp, turns: int, warmup: int, pause: float
) -> RunResult:
    loop = asyncio.get_running_loop()
    result = RunResult()
    transport, media = await loop.create_datagram_endpoint(CallerMedia, local_addr=("127.0.0.1", 0))
    media_port = transport.get_extra_info("sockname")[1]
    sip, uac = await loop.create_datagram_endpoint(
        lambda: Uac(("127.0.0.1", platform.sip_port), platform.number, telephone_event=EVENT_PT),
        local_addr=("127.0.0.1", 0),
    )
    meter: CpuMeter | None = None
    try:
        call = await uac.call(media_port)
        media.remote = ("127.0.0.1", await call.answered)
        if not await listening_again(app, media, 0, pause):
            raise RuntimeError("the call never fetched /voice")
        with httpx.Client(timeout=10) as http:
            for index in range(1 + warmup + turns):
                fetched = len(app.to("/voice"))
                waiter = media.arm()
                pressed = await media.press()
                try:
                    heard = await asyncio.wait_for(waiter, 10.0)
                except TimeoutError:
                    result.failed_turns += 1
                    print(f"turn {index}: no audio within 10 s", file=sys.stderr)
                    break
                took = 1000 * (heard - pressed)
                first = media.first_any
                if index == 0:
                    result.uncached_ms = took
                    print(f"uncached turn: {took:.1f} ms", file=sys.stderr, flush=True)
                elif index > warmup:
                    if meter is None:
                        meter = CpuMeter(platform.process.pid).start()
                    result.turns_ms.append(took)
                    result.silent_frames.append(media.silent_before_audio)
                    if first is not None:
                        result.first_packet_ms.append(1000 * (first - pressed))
                if not await listening_again(app, media, fetched, pause):
                    result.failed_turns += 1
                    print(f"turn {index}: /voice not fetched again", file=sys.stderr)
                    break
                if index > warmup:
                    result.webhook_ms.append(webhook_round_trip(http, app))
        if meter is not None:
            meter.stop()
            result.dialtone_cpu_percent = meter.percent
            result.machine_busy_percent = meter.machine_busy_percent
        with contextlib.suppress(Exception):
            await asyncio.wait_for(uac.hang_up(call), 5)
    finally:
        sip.close()
        transport.close()
    return result


def measure(args: argparse.Namespace, index: int) -> RunResult:
    with tempfile.TemporaryDirectory() as tmp:
        platform = start_platform(
            Path(tmp),
            webhook_allow_private_targets="true",
            lookup_cache_seconds="0",
            log_level="WARNING",
        )
        try:
            provision(platform)
            with twiml_app(platform.extra["auth_token"], {"/voice": voice, "/turn": turn}) as app:
                point_number(platform, app)
                result = asyncio.run(one_call(platform, app, args.turns, args.warmup, args.pause))
        finally:
            stop_platform(platform)
    print(f"run {index + 1}: {json.dumps(result.summary())}", file=sys.stderr, flush=True)
    return result


def median(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return round(statistics.median(got), 1) if got else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=40, help="measured turns per run")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured turns after the first")
    parser.add_argument(
        "--pause", type=float, default=0.3, help="s after /voice is fetched before a digit"
    )
    parser.add_argument("--quick", action="store_true", help="1 run, 8 turns, 2 warm-up")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.turns, args.warmup = 1, 8, 2
    speed_before = python_speed_ms()
    runs = [measure(args, index) for index in range(args.runs)]
    summaries = [r.summary() for r in runs]

    def pick(key: str) -> float | None:
        return median([s[key] for s in summaries])

    p50, p95 = pick("turn_ms_p50"), pick("turn_ms_p95")
    hook50, hook95 = pick("webhook_ms_p50"), pick("webhook_ms_p95")
    failed = sum(r.failed_turns for r in runs)
    print(
        json.dumps(
            {
                "benchmark": "twiml_turn",
                "path": "caller's RFC 4733 end packet -> dialtone (Gather, webhook /turn on "
                "loopback, cached <Say>) -> first non-silent RTP packet at the caller",
                "reference_path": "POST /turn from this process to the same application",
                "runs": args.runs,
                "turns_per_run": args.turns,
                "warmup_turns": args.warmup,
                "turn_ms_p50": p50,
                "turn_ms_p95": p95,
                "webhook_ms_p50": hook50,
                "webhook_ms_p95": hook95,
                "ratio_p50": round(p50 / hook50, 2) if p50 and hook50 else None,
                "ratio_p95": round(p95 / hook95, 2) if p95 and hook95 else None,
                "uncached_ms": pick("uncached_ms"),
                "first_packet_ms_p50": pick("first_packet_ms_p50"),
                "first_packet_ms_p95": pick("first_packet_ms_p95"),
                "say_leading_silence_frames": pick("say_leading_silence_frames"),
                "dialtone_cpu_percent": pick("dialtone_cpu_percent"),
                "machine_busy_percent": pick("machine_busy_percent"),
                "failed_turns": failed,
                "runs_detail": summaries,
                "build": dialtone.BUILD.mode,
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
                "goal_p95_ms": GOAL_P95_MS,
                "meets_goal": p95 is not None and p95 <= GOAL_P95_MS and failed == 0,
            }
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
