"""hibari-tts: the offline text-to-speech engine (Apache-2.0, onnxruntime, English).

Its American female voice "heart" ships inside the wheel; hibari fetches its other voices
from the network on first use, which dialtone never lets it do: a voice is used only
when its model file is on disk, the bundled one or one the operator copied into
``voices_dir`` (named as in hibari's registry, e.g. ``am_fenrir_v2.int8.onnx`` for the
male "fenrir"). Voices are loaded once, lazily, each behind a lock: an onnxruntime
session may run from several threads, but hibari's phonemizer keeps state.

hibari speaks at 24 kHz; ``speech.resample`` takes it to 8 kHz through a low-pass and
the level is brought to a peak of -6 dBFS (hibari's output peaks near -12 dBFS, quiet
once G.711 and a handset have had their share).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from dialtone.speech.resample import resample, to_pcm16
from dialtone.speech.synthesizer import SynthesisError
from dialtone.speech.voices import Gender, Voice, VoiceChoice, choose_voice

log = logging.getLogger(__name__)

ENGINE_RATE = 24000
OUT_RATE = 8000
PEAK = 0.5  # -6 dBFS
DEFAULT_VOICE = "heart"
# The noise component is drawn from a generator: a fixed seed makes a prompt's audio
# the same every time it is made (a cache rebuilt is the same cache).
SEED = 0
WARM_UP_TEXT = "Hello."


def bundled_model() -> Path:
    """The voice model inside the hibari-tts wheel ("heart")."""
    return Path(str(resources.files("hibari") / "assets" / "hibari.onnx"))


def registry() -> dict[str, dict[str, Any]]:
    """hibari's voice registry: name -> language, gender, model file, bundled."""
    from hibari.voices import VOICES  # noqa: PLC0415  (loads onnx-free JSON only)

    return dict(VOICES)


@dataclass
class _Loaded:
    engine: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


class HibariSynthesizer:
    """``Synthesizer`` over hibari: the bundled voice, and any other of hibari's voices
    whose model file is in ``voices_dir``."""

    def __init__(
        self, *, model: Path | None = None, voices_dir: Path | None = None, threads: int = 1
    ) -> None:
        self.threads = threads
        self._paths: dict[str, Path] = {}
        voices: list[Voice] = []
        for name, entry in registry().items():
            if entry.get("bundled"):
                path = model or bundled_model()
            elif voices_dir is not None and (voices_dir / entry["file"]).is_file():
                path = voices_dir / entry["file"]
            else:
                continue
            gender: Gender = "male" if entry.get("gender") == "male" else "female"
            voice = Voice(name, str(entry["language"]), gender)
            if name == DEFAULT_VOICE:
                voices.insert(0, voice)
            else:
                voices.append(voice)
            self._paths[name] = path
        if not voices or voices[0].name != DEFAULT_VOICE:
            raise SynthesisError("hibari's bundled voice is missing from the package")
        if not self._paths[DEFAULT_VOICE].is_file():
            raise SynthesisError(f"hibari model not found: {self._paths[DEFAULT_VOICE]}")
        self.voices: tuple[Voice, ...] = tuple(voices)
        self.name = f"hibari-{metadata.version('hibari-tts')}"
        self._loaded: dict[str, _Loaded] = {}
        self._loading = threading.Lock()
        self._reported: set[str] = set()

    def choose(self, voice: str | None, language: str | None) -> VoiceChoice:
        """See ``speech.voices.choose_voice``; each fallback is logged once."""
        choice = choose_voice(self.voices, self.voices[0], voice, language)
        if choice.fallback and choice.fallback not in self._reported:
            self._reported.add(choice.fallback)
            log.warning("text-to-speech: %s", choice.fallback)
        return choice

    def synthesize(self, text: str, *, voice: str | None, language: str | None) -> bytes:
        """``text`` spoken, as 8 kHz 16-bit mono PCM (empty for text with nothing to
        say). Raises ``SynthesisError``."""
        chosen = self.choose(voice, language).voice
        loaded = self._load(chosen.name)
        try:
            with loaded.lock:
                audio = loaded.engine(text, seed=SEED)
        except Exception as exc:  # the engine's own errors are many and untyped
            raise SynthesisError(f"hibari could not say {text[:40]!r}: {exc}") from exc
        samples = np.asarray(audio, dtype=np.float32)
        if samples.size == 0:
            return b""
        narrow = resample(samples, ENGINE_RATE, OUT_RATE)
        peak = float(np.max(np.abs(narrow)))
        if peak > 0:
            narrow = (narrow * (PEAK / peak)).astype(np.float32)
        return to_pcm16(narrow)

    def load(self) -> None:
        """Load the default voice now (a process that serves calls pays the model's
        load before its first caller, not during)."""
        self._load(DEFAULT_VOICE)

    def warm_up(self) -> None:
        """Load the default voice and say one word: the first synthesis also sets up
        hibari's phonemizer and onnxruntime's kernels (measured: load 0.86 s, then the
        first "Sure." 40 ms against 24 ms after), so the first caller's reply is not
        the one paying for it."""
        self.synthesize(WARM_UP_TEXT, voice=DEFAULT_VOICE, language=None)

    def _load(self, name: str) -> _Loaded:
        with self._loading:
            loaded = self._loaded.get(name)
            if loaded is None:
                loaded = _Loaded(self._engine(name))
                self._loaded[name] = loaded
            return loaded

    def _engine(self, name: str) -> Any:
        from hibari import Hibari  # noqa: PLC0415  (onnxruntime: imported when first used)
        from hibari.g2p import G2P  # noqa: PLC0415

        entry = registry()[name]
        # The model is given by path: hibari never looks a voice up in its download
        # cache, nor fetches one. The G2P follows the voice's accent.
        g2p = G2P(british=bool(entry.get("british")))
        try:
            return Hibari(voice=name, model=str(self._paths[name]), threads=self.threads, g2p=g2p)
        except Exception as exc:
            raise SynthesisError(f"hibari could not load {self._paths[name]}: {exc}") from exc
