"""Speech-to-text word error rate and time per utterance (issue 17, Figures), for the
Whisper configurations an agent may use: the 30 s window or the fitted one
(``window="fit"``), beam search of 5 or greedy (beam 1), with or without the decoder's
fallback to sampling at rising temperatures when its text is unlikely.

The corpus is ``_utterances.py``'s (≥30 receptionist-domain caller utterances, said by
hibari and by espeak-ng, 8 kHz), made or reused under ``--corpus``. Each utterance
goes the way a call's audio goes: half a second of silence before it, a second after,
G.711 A-law there and back, then the endpointer (WebRTC VAD, ``end_silence`` 0.5 s,
``early`` 0.2 s) cuts it. Every configuration hears the ``SpeechEnded`` audio; the
``early`` row hears, with the last configuration, the last ``Pausing`` audio of an
utterance whose end has the same voiced audio (what the listener would use), counts how
often that text equals the final one, and how many pauses there were
(``early_recognitions``: each a recognition started, wasted unless it is the last).

Recognition time is wall time of ``recognize`` (one CPU thread, after a warm-up), p50
and p95 per configuration. WER is over all utterances of an engine, numbers normalised
(``dialtone.speech.wer``). Readable lines on stderr, one JSON object as the last line.
Not part of ``run_all``: the models take most of a core for a few minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _utterances import Utterance, build
from dialtone.codecs.g711 import alaw_decode, alaw_encode
from dialtone.speech.endpoint import (
    FRAME_BYTES,
    EndpointConfig,
    Endpointer,
    Pausing,
    SpeechEnded,
)
from dialtone.speech.vad import WebRtcDetector
from dialtone.speech.wav import wav_to_pcm
from dialtone.speech.wer import Score, score, total
from dialtone.speech.whisper_engine import WhisperRecognizer, Window

# (window, beam, temperature fallback): the Gather's default first, the agent's last.
CONFIGS: tuple[tuple[Window, int, bool], ...] = (
    ("30s", 5, True),
    ("30s", 1, True),
    ("fit", 5, True),
    ("fit", 1, True),
    ("fit", 1, False),
    ("fit", 5, False),
)


def config_name(window: str, beam: int, fallback: bool) -> str:
    return f"{window}_beam{beam}" + ("" if fallback else "_nofallback")


LEAD = 0.5
TRAIL = 1.0
ENDPOINT = EndpointConfig(end_silence=0.5, early=0.2)


@dataclass(frozen=True, slots=True)
class Cut:
    """What the listener has of one utterance: the final audio, and the early audio
    when the first pause's voiced audio is the final one's (else None)."""

    utterance: Utterance
    final: bytes
    early: bytes | None
    pauses: int  # recognitions the listener starts early (all but the last wasted)


def cut(utterance: Utterance) -> Cut:
    """The utterance through the call's path and the endpointer."""
    pcm = wav_to_pcm(utterance.path.read_bytes())
    line = alaw_decode(
        alaw_encode(bytes(int(LEAD * 8000) * 2) + pcm + bytes(int(TRAIL * 8000) * 2))
    )
    endpointer = Endpointer(ENDPOINT, WebRtcDetector(2), now=0.0)
    pauses: list[Pausing] = []
    for index in range(len(line) // FRAME_BYTES):
        frame = line[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        for event in endpointer.feed(frame, (index + 1) * 0.02):
            if isinstance(event, Pausing):
                pauses.append(event)
            elif isinstance(event, SpeechEnded):
                last = pauses[-1] if pauses else None
                early = last.audio if last is not None and last.voiced == event.voiced else None
                return Cut(utterance, event.audio, early, len(pauses))
    raise RuntimeError(f"{utterance.name}: the endpointer heard no end of speech")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(engine: WhisperRecognizer, audios: list[tuple[Utterance, bytes]]) -> dict[str, Any]:
    """WER per voice and over all, times, and each text heard."""
    times: list[float] = []
    scores: dict[str, list[Score]] = {}
    heard: dict[str, str] = {}
    for utterance, audio in audios:
        started = time.perf_counter()
        text = engine.recognize(audio, language="en-US").text
        times.append(time.perf_counter() - started)
        scores.setdefault(utterance.engine, []).append(score(utterance.text, text))
        heard[utterance.name] = text
    by_voice = {voice: round(total(s).rate, 4) for voice, s in scores.items()}
    everything = total(one for s in scores.values() for one in s)
    return {
        "wer": round(everything.rate, 4),
        "wer_by_voice": by_voice,
        "p50_ms": round(1000 * statistics.median(times), 1),
        "p95_ms": round(1000 * percentile(times, 0.95), 1),
        "max_ms": round(1000 * max(times), 1),
        "heard": heard,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path("var/bench-utterances"), help="where the WAVs are kept"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="print every text heard")
    parser.add_argument(
        "--configs",
        default=",".join(config_name(*c) for c in CONFIGS),
        help="which of them, comma-separated (the last also hears the early audio)",
    )
    args = parser.parse_args()
    wanted = [c for c in CONFIGS if config_name(*c) in args.configs.split(",")]
    cuts = [cut(u) for u in build(args.corpus)]
    base = WhisperRecognizer(cpu_threads=args.threads)
    base.warm_up()
    results: dict[str, dict[str, Any]] = {}
    for window, beam, fallback in wanted:
        engine = base.tuned(window=window, beam_size=beam, fallback=fallback)
        engine.warm_up()  # the fitted window's shapes set up once, not on the first caller
        name = config_name(window, beam, fallback)
        results[name] = run(engine, [(c.utterance, c.final) for c in cuts])
        print(
            f"{name}: {json.dumps({k: v for k, v in results[name].items() if k != 'heard'})}",
            file=sys.stderr,
            flush=True,
        )
    window, beam, fallback = wanted[-1]
    engine = base.tuned(window=window, beam_size=beam, fallback=fallback)
    early_cuts = [c for c in cuts if c.early is not None]
    early = run(engine, [(c.utterance, c.early) for c in early_cuts if c.early is not None])
    final_heard = results[config_name(window, beam, fallback)]["heard"]
    same = sum(
        early["heard"][c.utterance.name] == final_heard[c.utterance.name] for c in early_cuts
    )
    early["usable"] = f"{len(early_cuts)}/{len(cuts)}"
    early["same_text_as_final"] = f"{same}/{len(early_cuts)}"
    early["early_recognitions"] = sum(c.pauses for c in cuts)
    results[f"early_{config_name(window, beam, fallback)}"] = early
    print(f"early: {json.dumps({k: v for k, v in early.items() if k != 'heard'})}", file=sys.stderr)
    if args.show:
        for c in cuts:
            print(c.utterance.name, repr(c.utterance.text), file=sys.stderr)
            for name, result in results.items():
                print(f"   {name:>16}: {result['heard'].get(c.utterance.name)!r}", file=sys.stderr)
    summary = {
        "utterances": len(cuts),
        "configs": {n: {k: v for k, v in r.items() if k != "heard"} for n, r in results.items()},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
