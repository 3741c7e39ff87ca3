"""Whisper's tokens: the decoder's prompt and the text of what it answers.

A Whisper model directory carries its tokenizer as ``tokenizer.json``, read here with
``tokenizers`` (Apache-2.0). The decoder is prompted with

    [<|startofprev|>, hint tokens...]   only with hints: text said to come before
    <|startoftranscript|>
    <|xx|> <|transcribe|>               multilingual models only: language and task
    <|notimestamps|>                    unless timestamps are wanted

With timestamps the answer is segments, ``<|t0|> text <|t1|>``, each timestamp token
(from the one after <|notimestamps|>, "<|0.00|>") a step of 20 ms (``segments``).

English-only models (``*.en``) know no language or task token. Hints are the TwiML
``hints`` joined by ", " and given as earlier text (what Whisper calls the initial
prompt), which leans the decoder towards those words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

# The decoder's context is 448 tokens; earlier text may take half of it.
MAX_LENGTH = 448
MAX_PREVIOUS = MAX_LENGTH // 2 - 1
TIMESTAMP_STEP = 0.02


@dataclass(frozen=True, slots=True)
class Segment:
    """Text the decoder placed at ``start`` seconds into the window (its text tokens)."""

    start: float
    ids: tuple[int, ...]


class TokenizerError(Exception):
    """The tokenizer lacks a token Whisper needs."""


class WhisperTokens:
    """The special tokens of one Whisper tokenizer, its prompts, and decoding."""

    def __init__(self, tokenizer: Tokenizer, *, multilingual: bool) -> None:
        self.tokenizer = tokenizer
        self.multilingual = multilingual
        self.sot = self._id("<|startoftranscript|>")
        self.eot = self._id("<|endoftext|>")
        self.sot_prev = self._id("<|startofprev|>")
        self.no_timestamps = self._id("<|notimestamps|>")
        # Whisper's timestamp tokens follow <|notimestamps|>, with no name in some
        # tokenizers.
        self.timestamp_begin = self.no_timestamps + 1
        self.transcribe = self._id("<|transcribe|>")
        self.translate = self._id("<|translate|>")
        self.sot_lm = self._id("<|startoflm|>")
        no_speech = tokenizer.token_to_id("<|nospeech|>")
        self.no_speech = no_speech if no_speech is not None else self._id("<|nocaptions|>")

    @classmethod
    def from_file(cls, path: Path, *, multilingual: bool) -> WhisperTokens:
        """The tokenizer in ``path`` (a model directory's ``tokenizer.json``)."""
        return cls(Tokenizer.from_file(str(path)), multilingual=multilingual)

    def _id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise TokenizerError(f"the tokenizer has no {token}")
        return found

    def language(self, code: str) -> int | None:
        """The token of ``code`` (ISO 639-1, "fr"), None if the model knows no such
        language or is English only."""
        if not self.multilingual:
            return None
        return self.tokenizer.token_to_id(f"<|{code}|>")

    def encode(self, text: str) -> list[int]:
        """Text tokens of ``text``, no special token added."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def prompt(
        self, *, language: int | None = None, hints: Sequence[str] = (), timestamps: bool = False
    ) -> list[int]:
        """The decoder's prompt: hints as earlier text when there are any, then the
        start of the transcript, language and task on a multilingual model (``language``
        being a token from ``language()``), and <|notimestamps|> unless ``timestamps``."""
        tokens: list[int] = []
        words = ", ".join(h.strip() for h in hints if h.strip())
        if words:
            # A leading space, as the words would have after earlier speech.
            tokens += [self.sot_prev, *self.encode(" " + words)[-MAX_PREVIOUS:]]
        tokens.append(self.sot)
        if self.multilingual:
            if language is None:
                raise TokenizerError("a multilingual model needs a language token")
            tokens += [language, self.transcribe]
        if not timestamps:
            tokens.append(self.no_timestamps)
        return tokens

    def segments(self, ids: Sequence[int]) -> list[Segment]:
        """The answer's segments: text after a timestamp starts one at that time; text
        before any timestamp is a segment at 0. Special tokens are dropped, empty
        segments left out."""
        found: list[Segment] = []
        start = 0.0
        text: list[int] = []
        for token in ids:
            if token >= self.timestamp_begin:
                if text:
                    found.append(Segment(start, tuple(text)))
                    text = []
                start = (token - self.timestamp_begin) * TIMESTAMP_STEP
            elif token < self.eot:
                text.append(token)
        if text:
            found.append(Segment(start, tuple(text)))
        return found

    def decode(self, ids: Sequence[int]) -> str:
        """The text of the decoder's answer: special and timestamp tokens (all from
        <|endoftext|> on) dropped."""
        return str(self.tokenizer.decode([i for i in ids if i < self.eot]))

    def suppressed(self, from_config: Sequence[int] = ()) -> list[int]:
        """Tokens never to be generated: the model's own list (its ``config.json``
        ``suppress_ids``: speaker tags, music signs and the like) and the prompt's
        special tokens."""
        special = (
            self.transcribe,
            self.translate,
            self.sot,
            self.sot_prev,
            self.sot_lm,
            self.no_speech,
        )
        return sorted({*(t for t in from_config if t >= 0), *special})
