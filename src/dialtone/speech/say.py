"""Make a test utterance: ``python -m dialtone.speech.say "text" out.wav``.

Writes what the text sounds like on a call: 8 kHz 16-bit mono WAV, or with a ``.pcap``
name an RTP capture sipp plays into a call (``play_pcap_audio``). ``--lead`` and
``--trail`` add silence around the speech (a caller seldom speaks at the first packet,
and the end of speech is heard in silence). ``--engine fake`` needs no model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dialtone.speech.engines import SpeechOptions, synthesizer
from dialtone.speech.pcap import pcap_of
from dialtone.speech.wav import pcm8k_to_wav

BYTES_PER_SECOND = 16000


def utterance(
    text: str,
    *,
    engine: str = "offline",
    voice: str | None = None,
    language: str | None = None,
    lead: float = 0.0,
    trail: float = 0.0,
) -> bytes:
    """``text`` spoken, with ``lead`` and ``trail`` seconds of silence, as 8 kHz PCM."""
    options = SpeechOptions(engine="fake" if engine == "fake" else "offline")
    pcm = synthesizer(options).synthesize(text, voice=voice, language=language)
    return _silence(lead) + pcm + _silence(trail)


def _silence(seconds: float) -> bytes:
    return bytes(int(seconds * BYTES_PER_SECOND) // 2 * 2)


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m dialtone.speech.say",
        description="Speak text into an 8 kHz WAV, or a pcap sipp plays.",
    )
    parser.add_argument("text")
    parser.add_argument("out", type=Path, help="a .wav, or a .pcap for sipp")
    parser.add_argument("--voice", default=None, help="a TwiML voice name, or heart")
    parser.add_argument("--language", default=None, help="BCP 47, default en-US")
    parser.add_argument("--lead", type=float, default=0.0, help="seconds of silence before")
    parser.add_argument("--trail", type=float, default=0.0, help="seconds of silence after")
    parser.add_argument("--codec", default="PCMA", choices=["PCMA", "PCMU"], help="for a pcap")
    parser.add_argument("--engine", default="offline", choices=["offline", "fake"])
    args = parser.parse_args(argv)
    pcm = utterance(
        args.text,
        engine=args.engine,
        voice=args.voice,
        language=args.language,
        lead=args.lead,
        trail=args.trail,
    )
    if args.out.suffix.lower() == ".pcap":
        args.out.write_bytes(pcap_of(pcm, args.codec))
    else:
        args.out.write_bytes(pcm8k_to_wav(pcm))
    print(f"{args.out}: {len(pcm) / BYTES_PER_SECOND:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
