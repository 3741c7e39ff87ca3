"""A reply spoken piece by piece, so its first words play while the rest are made.

``synthesize_pieces`` runs the synthesizer on ``sentences.speech_pieces`` of the text in
turn, yielding each piece's audio as soon as it is made. The first piece starts at its
first sound: hibari opens every text with about 180 ms of silence, which would be 180 ms
more before the caller hears the agent (``prompt_cache.trim_leading_silence``, as for
cached prompts); the later pieces keep theirs, the natural pause between sentences.
"""

from __future__ import annotations

from collections.abc import Iterator

from dialtone.speech.prompt_cache import trim_leading_silence
from dialtone.speech.sentences import speech_pieces
from dialtone.speech.synthesizer import Synthesizer


def synthesize_pieces(
    engine: Synthesizer, text: str, *, voice: str | None, language: str | None
) -> Iterator[bytes]:
    """``text`` spoken by ``engine``, one piece's 8 kHz PCM at a time (see the
    module). Each ``next`` blocks while the piece is made: iterate off the event loop.
    Raises ``SynthesisError``."""
    first = True
    for piece in speech_pieces(text):
        audio = engine.synthesize(piece, voice=voice, language=language)
        if first:
            audio = trim_leading_silence(audio)
        if audio:
            first = False
            yield audio
