"""The AI receptionist's voice-to-voice latency (issue 17, Figures): from the end of the
caller's speech on the wire to the first packet of the agent's answer on the wire, with
the offline engines on this CPU; the word error rate of what the agent heard; and how
many simultaneous agent calls hold the goal (p50 <= 800 ms, p95 <= 1.2 s).

``dialtone serve`` runs on free ports (``tests.interop.conftest.start_platform``) with a
Radicale calendar (Debian's ``radicale``, ``tests/peers/radicale.py``); an agent created
over the API answers +33123456789 (hours every day, the calendar, no transfer targets
and no message taking, so that every utterance gets a spoken answer and the call goes
on). The callers are ``tests/interop/voice_caller`` (SIP from outside, RTP in real time
from this process): each waits until the agent has been quiet 0.8 s, says the next
utterance, and stamps the last voiced frame it sends and the first voiced packet that
comes back. The utterances are ``_utterances.py``'s corpus (hibari's voice and
espeak-ng's when installed), without the texts that hand the call over, take a message,
report an emergency or say goodbye: 20 texts, 40 utterances with both voices.

The stages come from each call's report (``GET /v1/agent-reports``), measured by dialtone
on its own clock: ``stt_ms`` (the endpointer's end of speech -> the recogniser's text),
``dialog_ms``, ``tts_first_ms`` (-> the answer's first sentence synthesised). The rest of
the wire figure, ``vad_end_ms``, is the endpointer's wait (``end_silence_ms``, 400 by
default) plus what the network, the jitter of 20 ms packets and the player add.

Concurrency: the same callers ``--concurrency`` at a time (each a call of its own), the
highest level whose p50 and p95 still meet the goal is reported. ``--quick``: one voice,
8 utterances, concurrency 1. JSON on the last line; exits 1 only when no answer came.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import Platform, provision, start_platform, stop_platform
from tests.interop.voice_caller import caller_number, talking_call
from tests.peers.radicale import radicale_calendar

import dialtone
from _proc import CpuMeter
from _utterances import Utterance, build
from dialtone.agents.profile import DEFAULT_END_SILENCE_MS
from dialtone.speech.wav import wav_to_pcm
from dialtone.speech.wer import score, total

GOAL_P50_MS = 800.0
GOAL_P95_MS = 1200.0
QUIET = 0.8  # the agent has finished speaking
# Texts whose answer is not a spoken turn (a hand-over, a message, the end of the call).
SKIP = (
    "speak to someone",
    "human",
    "put me through",
    "transfer me",
    "doctor martin available",
    "message",
    "tell her",
    "fire",
    "collapsed",
    "broken into",
    "goodbye",
    "no, thank you",
    "send me a text",
    "my name is",
)
PER_CALL = 8
END_SILENCE_MS = DEFAULT_END_SILENCE_MS  # the agent's, left at its default here


def conversational(utterances: list[Utterance]) -> list[Utterance]:
    return [u for u in utterances if not any(s in u.text.lower() for s in SKIP)]


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Turn:
    utterance: Utterance
    wire_ms: float | None


@dataclass
class CallResult:
    caller: str = ""
    turns: list[Turn] = field(default_factory=list)


CALLERS = itertools.count(1)


async def one_caller(platform: Platform, utterances: list[Utterance]) -> CallResult:
    """One call saying ``utterances`` in turn; each answer's latency on the wire. Each
    call has a number of its own, which its report names."""
    index = next(CALLERS)
    result = CallResult(caller_number(index))
    async with talking_call(platform.sip_port, platform.number, caller_index=index) as call:
        peer = call.peer
        if await peer.first_voice_after(0.0, 20) is None:
            return result
        for utterance in utterances:
            if await peer.quiet_since(QUIET, 30) is None:
                break
            spoken = peer.say(wav_to_pcm(utterance.path.read_bytes()))
            await spoken.done.wait()
            assert spoken.end is not None
            answer = await peer.first_voice_after(spoken.end, 8)
            result.turns.append(
                Turn(utterance, None if answer is None else 1000 * (answer - spoken.end))
            )
    return result


def reports(platform: Platform) -> list[dict[str, Any]]:
    with platform.http() as http:
        return list(http.get("/v1/agent-reports", params={"limit": 200}).json()["reports"])


async def level(platform: Platform, corpus: list[Utterance], callers: int) -> list[CallResult]:
    """``callers`` simultaneous calls, each saying its share of the corpus in calls of
    PER_CALL utterances; at least PER_CALL each (the corpus taken round again from
    another place), so that a level of many callers still has many turns at once."""
    size = max(PER_CALL, len(corpus) // callers)
    shares = [[corpus[(i * size + k) % len(corpus)] for k in range(size)] for i in range(callers)]

    async def caller(share: list[Utterance]) -> list[CallResult]:
        done = []
        for start in range(0, len(share), PER_CALL):
            done.append(await one_caller(platform, share[start : start + PER_CALL]))
        return done

    batches = await asyncio.gather(*(caller(share) for share in shares if share))
    return [call for batch in batches for call in batch]


def summary(calls: list[CallResult], filed: list[dict[str, Any]]) -> dict[str, Any]:
    wire = [t.wire_ms for c in calls for t in c.turns if t.wire_ms is not None]
    missed = sum(1 for c in calls for t in c.turns if t.wire_ms is None)
    stages: dict[str, list[float]] = {"stt_ms": [], "dialog_ms": [], "tts_first_ms": []}
    for report in filed:
        for figures in report["latencies"]:
            for name, values in stages.items():
                if figures.get(name) is not None:
                    values.append(float(figures[name]))
    p50 = percentile(wire, 0.5)
    inside = [percentile(v, 0.5) for v in stages.values()]
    # What the server's own stages do not cover: the endpointer's wait for the end of
    # speech, packetisation and the network (medians subtracted: an estimate).
    endpointing = (
        None if p50 is None or None in inside else p50 - sum(v for v in inside if v is not None)
    )
    return {
        "utterances": len(wire) + missed,
        "unanswered": missed,
        "voice_to_voice_ms_p50": None if p50 is None else round(p50),
        "voice_to_voice_ms_p95": _r(percentile(wire, 0.95)),
        "voice_to_voice_ms_max": _r(max(wire, default=None)),
        "vad_end_ms_p50": _r(endpointing),
        **{f"{k}_p50": _r(percentile(v, 0.5)) for k, v in stages.items()},
        **{f"{k}_p95": _r(percentile(v, 0.95)) for k, v in stages.items()},
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,2,4,8,12,16", help="levels, comma-separated")
    parser.add_argument("--corpus", type=Path, default=Path("var/bench-utterances"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    engines: tuple[str, ...] = ("hibari",) if args.quick else ("hibari", "espeak")
    try:
        corpus = conversational(build(args.corpus, engines))
    except SystemExit as missing:  # espeak-ng absent: hibari's voice alone
        print(missing, file=sys.stderr)
        corpus = conversational(build(args.corpus, ("hibari",)))
    if args.quick:
        corpus = corpus[:8]
    levels = [1] if args.quick else [int(n) for n in args.concurrency.split(",")]
    out: dict[str, Any] = {
        "benchmark": "agent_latency",
        "build": dialtone.BUILD.mode,
        "goal_ms": {"p50": GOAL_P50_MS, "p95": GOAL_P95_MS},
        "levels": {},
    }
    with tempfile.TemporaryDirectory() as tmp, radicale_calendar(Path(tmp) / "cal") as cal:
        platform = start_platform(Path(tmp), log_level="WARNING")
        try:
            provision(platform)
            with platform.http() as http:
                agent = http.post(
                    "/v1/agents",
                    json={
                        "name": "Robin",
                        "business_name": "Acme Dental",
                        "timezone": "Europe/Paris",
                        "take_messages": False,
                        "hours": [
                            {"weekday": d, "opens": "08:00", "closes": "20:00"} for d in range(7)
                        ],
                        "calendar_url": cal.url,
                        "calendar_username": cal.username,
                        "calendar_password": cal.password,
                    },
                ).json()["id"]
                routed = http.put(
                    f"/v1/numbers/{platform.number}/route",
                    json={"kind": "agent", "target": agent},
                )
                routed.raise_for_status()
            # A first call loads the models and fills the prompt cache's greeting.
            asyncio.run(one_caller(platform, corpus[:1]))
            best = 0
            for callers in levels:
                seen = {r["id"] for r in reports(platform)}
                meter = CpuMeter(platform.process.pid).start()
                started = time.monotonic()
                calls = asyncio.run(level(platform, corpus, callers))
                meter.stop()
                time.sleep(2)  # the last reports are filed
                filed = [r for r in reports(platform) if r["id"] not in seen]
                result = summary(calls, filed)
                result["seconds"] = round(time.monotonic() - started, 1)
                result["dialtone_cpu_percent"] = meter.percent
                result["word_error_rate"] = wer(calls, filed)
                out["levels"][str(callers)] = result
                print(f"{callers} caller(s): {json.dumps(result)}", file=sys.stderr, flush=True)
                p50, p95 = result["voice_to_voice_ms_p50"], result["voice_to_voice_ms_p95"]
                if p50 is None or p95 is None or p50 > GOAL_P50_MS or p95 > GOAL_P95_MS:
                    break
                best = callers
            out["calls_within_goal"] = best
        finally:
            stop_platform(platform)
    first = out["levels"].get("1", {})
    out["voice_to_voice_ms_p50"] = first.get("voice_to_voice_ms_p50")
    out["voice_to_voice_ms_p95"] = first.get("voice_to_voice_ms_p95")
    # The reference: the wait for the end of the caller's turn, which no agent can skip
    # (the profile's end_silence_ms); the ratio says what the rest adds on top of it.
    out["endpointing_floor_ms"] = END_SILENCE_MS
    p50 = out["voice_to_voice_ms_p50"]
    out["ratio_p50_to_floor"] = None if p50 is None else round(p50 / END_SILENCE_MS, 2)
    print(json.dumps(out))
    return 0 if first.get("utterances", 0) > first.get("unanswered", 0) else 1


def wer(calls: list[CallResult], filed: list[dict[str, Any]]) -> dict[str, Any]:
    """Word error rate of what the agent heard (each call's report's caller lines, in
    order; the report found by the call's own number) against what was said, by voice."""
    by_caller = {r["from"]: r for r in filed}
    scores: dict[str, list[Any]] = {}
    for call in calls:
        report = by_caller.get(call.caller)
        if report is None:
            continue
        heard = [line["text"] for line in report["transcript"] if line["speaker"] == "caller"]
        said = [t.utterance for t in call.turns if t.wire_ms is not None]
        for utterance, text in zip(said, heard, strict=False):
            scores.setdefault(utterance.engine, []).append(score(utterance.text, text))
    rates: dict[str, Any] = {engine: round(total(s).rate, 3) for engine, s in scores.items()}
    everything = [s for v in scores.values() for s in v]
    rates["all"] = round(total(everything).rate, 3) if everything else None
    return rates


if __name__ == "__main__":
    raise SystemExit(main())
