"""Caller utterances to an AI receptionist, as a call carries them: the test corpus of
``stt_wer.py`` (and of issue 17's voice-to-voice figures).

Each text is said twice: by hibari (our own text-to-speech, ``dialtone.speech``) and by
Debian's ``espeak-ng`` (another voice entirely, one the recogniser was never tuned to;
``apt-get install espeak-ng``), both as 8 kHz 16-bit mono WAV (espeak's 22.05 kHz
brought down through ``speech.resample``'s low-pass). The files are cached under the
directory given (``<engine>/<nn>.wav`` and ``manifest.json`` with each reference text)
and remade only when a text changes; they are never committed.

``python benchmarks/_utterances.py DIR`` makes them and prints the manifest's path.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dialtone.speech.wav import pcm8k_to_wav, wav_to_pcm

# Booking with dates and times, asking for someone, messages, hours, emergencies,
# "are you a robot", and the short answers of a dialog.
TEXTS = (
    "I'd like an appointment tomorrow at ten.",
    "Can I book a table for four on Friday at seven thirty?",
    "Do you have anything available next Tuesday morning?",
    "I need to reschedule my appointment from Monday to Wednesday.",
    "Could I come in on the third of March at two p.m.?",
    "Please cancel my booking for this afternoon.",
    "Is half past nine on Thursday free?",
    "Book me in with the dentist next week, any day after four.",
    "Can I speak to someone?",
    "I'd like to talk to a human, please.",
    "Put me through to the accounts department.",
    "Is Doctor Martin available today?",
    "Could you transfer me to Sarah in sales?",
    "Please take a message for Mr. Dupont.",
    "Tell her that the delivery will be late, and to call me back on five five five, "
    "one two three four.",
    "I'd like to leave a message about my invoice.",
    "My name is John Smith and my number is oh seven seven, double two, four five six.",
    "What are your opening hours?",
    "Are you open on Sunday?",
    "What time do you close today?",
    "Where are you located?",
    "How much does a consultation cost?",
    "There's a fire in the building!",
    "My father has collapsed and he isn't breathing.",
    "Someone has broken into my house, I need help.",
    "Are you a robot?",
    "Am I talking to a real person?",
    "Yes, that's right.",
    "No, thank you.",
    "That's all, goodbye.",
    "Sorry, could you repeat that?",
    "Actually, make it eleven fifteen instead.",
    "Can you send me a text with the details?",
    "Should I take antibiotics for my sore throat?",
)

ENGINES = ("hibari", "espeak")
ESPEAK_VOICE = "en-us"
ESPEAK_WORDS_PER_MINUTE = 165


@dataclass(frozen=True, slots=True)
class Utterance:
    """One caller utterance: the engine that said it, its reference text, its WAV."""

    name: str
    engine: str
    text: str
    path: Path


def _key(engine: str, text: str) -> str:
    return hashlib.sha256(f"{engine}\0{text}".encode()).hexdigest()[:16]


def _hibari() -> object:
    from dialtone.speech.hibari_engine import HibariSynthesizer

    return HibariSynthesizer()


def _say_hibari(engine: object, text: str) -> bytes:
    from dialtone.speech.hibari_engine import HibariSynthesizer

    assert isinstance(engine, HibariSynthesizer)
    return engine.synthesize(text, voice=None, language="en-US")


def _say_espeak(text: str) -> bytes:
    program = shutil.which("espeak-ng")
    if program is None:
        raise SystemExit("espeak-ng is not installed: apt-get install -y espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        subprocess.run(
            [program, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_WORDS_PER_MINUTE), "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        return wav_to_pcm(out.read_bytes())


def build(directory: Path, engines: tuple[str, ...] = ENGINES) -> list[Utterance]:
    """Every text said by every engine, as WAVs under ``directory`` (made once)."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    known: dict[str, str] = {}
    if manifest_path.is_file():
        known = {row["path"]: row["key"] for row in json.loads(manifest_path.read_text())}
    hibari: object | None = None
    rows: list[dict[str, str]] = []
    utterances: list[Utterance] = []
    for engine in engines:
        (directory / engine).mkdir(exist_ok=True)
        for index, text in enumerate(TEXTS):
            name = f"{engine}/{index:02d}"
            path = directory / f"{name}.wav"
            key = _key(engine, text)
            if known.get(str(path)) != key or not path.is_file():
                if engine == "hibari":
                    hibari = hibari or _hibari()
                    pcm = _say_hibari(hibari, text)
                else:
                    pcm = _say_espeak(text)
                path.write_bytes(pcm8k_to_wav(pcm))
            rows.append({"path": str(path), "key": key, "text": text, "engine": engine})
            utterances.append(Utterance(name, engine, text, path))
    manifest_path.write_text(json.dumps(rows, indent=1))
    return utterances


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python benchmarks/_utterances.py DIR", file=sys.stderr)
        return 2
    made = build(Path(sys.argv[1]))
    print(json.dumps([{**asdict(u), "path": str(u.path)} for u in made][:2], indent=1))
    print(f"{len(made)} utterances in {sys.argv[1]}/manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
