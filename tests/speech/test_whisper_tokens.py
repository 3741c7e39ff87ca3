"""Whisper's prompts and decoding (speech.whisper_tokens): with the packaged tiny.en
tokenizer, and with a small multilingual tokenizer made here (language and task)."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from dialtone.speech.whisper_engine import packaged_model
from dialtone.speech.whisper_tokens import MAX_PREVIOUS, Segment, TokenizerError, WhisperTokens

WORDS = ["hello", "world", ",", "good", "morning", "[UNK]"]
SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|fr|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
    "<|0.00|>",
]


def small_tokenizer(specials: list[str] = SPECIALS) -> Tokenizer:
    """Words first, then Whisper's special tokens, in Whisper's order."""
    vocab = {token: index for index, token in enumerate(WORDS + specials)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(specials)
    return tokenizer


def ids(*tokens: str) -> list[int]:
    order = WORDS + SPECIALS
    return [order.index(t) for t in tokens]


@pytest.fixture(scope="module")
def english() -> WhisperTokens:
    model = packaged_model()
    assert model is not None
    return WhisperTokens.from_file(model / "tokenizer.json", multilingual=False)


def test_an_english_model_is_prompted_without_language_or_task(english: WhisperTokens) -> None:
    # tiny.en's own ids (its vocabulary is one shorter than the multilingual models').
    assert english.prompt() == [50257, 50362]
    assert english.prompt(language=50259) == [50257, 50362]
    assert english.language("fr") is None


def test_hints_come_first_as_earlier_text(english: WhisperTokens) -> None:
    prompt = english.prompt(hints=("appointment", " Tuesday "))
    assert prompt[0] == english.sot_prev
    assert prompt[-2:] == [english.sot, english.no_timestamps]
    assert english.tokenizer.decode(prompt[1:-2]) == " appointment, Tuesday"
    assert english.prompt(hints=("", "  ")) == english.prompt()


def test_long_hints_keep_their_last_tokens(english: WhisperTokens) -> None:
    prompt = english.prompt(hints=[f"word{i}" for i in range(400)])
    assert len(prompt) == 1 + MAX_PREVIOUS + 2
    assert english.tokenizer.decode(prompt[1:-2]).endswith("word399")


def test_decoding_drops_special_and_timestamp_tokens(english: WhisperTokens) -> None:
    words = english.encode(" I would like an appointment")
    assert english.decode([*words, english.eot]) == " I would like an appointment"
    assert english.decode([english.no_timestamps + 1, *words, english.eot + 5]) == (
        " I would like an appointment"
    )


def test_suppressed_tokens_are_the_models_and_the_prompts(english: WhisperTokens) -> None:
    model = packaged_model()
    assert model is not None
    config = json.loads((model / "config.json").read_text())["suppress_ids"]
    suppressed = english.suppressed([-1, *config])
    assert -1 not in suppressed
    assert set(config) <= set(suppressed)
    for token in (english.sot, english.sot_prev, english.transcribe, english.no_speech):
        assert token in suppressed
    assert english.eot not in suppressed  # it must be able to stop
    assert suppressed == sorted(set(suppressed))


def test_a_multilingual_model_is_prompted_with_language_and_task() -> None:
    tokens = WhisperTokens(small_tokenizer(), multilingual=True)
    french = tokens.language("fr")
    assert french == ids("<|fr|>")[0]
    assert tokens.language("xx") is None
    assert tokens.prompt(language=french) == ids(
        "<|startoftranscript|>", "<|fr|>", "<|transcribe|>", "<|notimestamps|>"
    )
    assert tokens.prompt(language=french, hints=("hello", "world")) == ids(
        "<|startofprev|>",
        "hello",
        ",",
        "world",
        "<|startoftranscript|>",
        "<|fr|>",
        "<|transcribe|>",
        "<|notimestamps|>",
    )
    with pytest.raises(TokenizerError):
        tokens.prompt()
    assert tokens.decode(ids("good", "morning", "<|endoftext|>", "<|0.00|>")) == "good morning"


def test_no_captions_stands_for_no_speech_in_older_tokenizers() -> None:
    older = [t if t != "<|nospeech|>" else "<|nocaptions|>" for t in SPECIALS]
    tokens = WhisperTokens(small_tokenizer(older), multilingual=True)
    assert tokens.no_speech == SPECIALS.index("<|nospeech|>") + len(WORDS)


def test_a_tokenizer_without_whispers_tokens_is_refused() -> None:
    with pytest.raises(TokenizerError, match="startofprev"):
        WhisperTokens(small_tokenizer([t for t in SPECIALS if "prev" not in t]), multilingual=False)


def test_timestamps_are_asked_for_by_leaving_out_notimestamps(english: WhisperTokens) -> None:
    assert english.prompt(timestamps=True) == [50257]
    assert english.timestamp_begin == 50363


def test_segments_of_an_answer_with_timestamps(english: WhisperTokens) -> None:
    t = english.timestamp_begin
    hello, world = english.encode(" Hello."), english.encode(" World.")
    answer = [t, *hello, t + 100, t + 100, *world, t + 150, english.eot]
    assert english.segments(answer) == [
        Segment(0.0, tuple(hello)),
        Segment(2.0, tuple(world)),
    ]
    # No timestamps: one segment at 0; an unclosed last segment is kept.
    assert english.segments([*hello, english.eot]) == [Segment(0.0, tuple(hello))]
    assert english.segments([t + 50, *world]) == [Segment(1.0, tuple(world))]
    assert english.segments([t, t + 10, english.eot]) == []
