"""A reply cut into pieces to synthesise one by one (speech.sentences), and the
pieces spoken in turn (speech.reply)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.speech.reply import synthesize_pieces
from dialtone.speech.sentences import speech_pieces, split_first_clause, split_sentences
from dialtone.speech.synthesizer import FakeSynthesizer


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("", []),
        ("   ", []),
        ("Sure.", ["Sure."]),
        ("Sure", ["Sure"]),
        ("Sure. One moment.", ["Sure.", "One moment."]),
        ("Booked!  Anything else?", ["Booked!", "Anything else?"]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ("Wait... Done.", ["Wait...", "Done."]),
        ("Dr. Martin is in. Mr. Dupont is not.", ["Dr. Martin is in.", "Mr. Dupont is not."]),
        ("Come at 10 a.m. tomorrow. Bye.", ["Come at 10 a.m. tomorrow.", "Bye."]),
        ("It costs $4.50 today. Bye.", ["It costs $4.50 today.", "Bye."]),
        ("At 10.30 then. Bye.", ["At 10.30 then.", "Bye."]),
        ('He said "yes." Then left.', ['He said "yes."', "Then left."]),
        ("No. I can't.", ["No.", "I can't."]),
        ("e.g. this one. And that.", ["e.g. this one.", "And that."]),
        ("Line one\nline two. Next", ["Line one\nline two.", "Next"]),
    ],
)
def test_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    ("sentence", "pieces"),
    [
        # Eight words or fewer: whole, commas or not.
        ("One moment, let me book that.", ["One moment, let me book that."]),
        ("a b c d e, f g h.", ["a b c d e, f g h."]),
        # Nine words: cut at the first boundary after three words.
        (
            "I have booked you in, tomorrow at ten in the morning.",
            ["I have booked you in,", "tomorrow at ten in the morning."],
        ),
        # A boundary after too few words is passed over for the next one.
        (
            "Sure, I can book that for you; tomorrow at ten works.",
            ["Sure, I can book that for you;", "tomorrow at ten works."],
        ),
        (
            "I am sorry - that slot is taken now, try another.",
            ["I am sorry -", "that slot is taken now, try another."],
        ),
        # No boundary: whole.
        (
            "I have booked you in for tomorrow at ten in the morning.",
            ["I have booked you in for tomorrow at ten in the morning."],
        ),
        # A boundary at the very end leaves no tail: whole.
        (
            "one two three four five six seven eight nine:",
            ["one two three four five six seven eight nine:"],
        ),
    ],
)
def test_a_long_first_sentence_is_cut_at_a_clause(sentence: str, pieces: list[str]) -> None:
    assert split_first_clause(sentence) == pieces


def test_only_the_first_sentence_is_cut() -> None:
    long = "I have booked you in, tomorrow at ten in the morning."
    assert speech_pieces(f"{long} {long}") == [
        "I have booked you in,",
        "tomorrow at ten in the morning.",
        long,
    ]
    assert speech_pieces("") == []


@given(st.text(alphabet=st.sampled_from(list("ab .,!?\n")), max_size=60))
def test_pieces_keep_every_word_in_order(text: str) -> None:
    assert " ".join(speech_pieces(text)).split() == text.split()


def test_pieces_are_spoken_one_at_a_time() -> None:
    engine = FakeSynthesizer()
    spoken = synthesize_pieces(engine, "Sure. One moment.", voice=None, language=None)
    first = next(spoken)
    # The first piece's audio comes before the second is made.
    assert [call[0] for call in engine.calls] == ["Sure."]
    assert first == engine.synthesize("Sure.", voice=None, language=None)
    assert len(list(spoken)) == 1
    assert [call[0] for call in engine.calls] == ["Sure.", "Sure.", "One moment."]


class Padded(FakeSynthesizer):
    """Speech after 180 ms of silence, as hibari makes it."""

    def synthesize(self, text: str, *, voice: str | None, language: str | None) -> bytes:
        return bytes(2880) + super().synthesize(text, voice=voice, language=language)


def test_the_first_piece_starts_at_its_first_sound_the_others_keep_their_pause() -> None:
    engine = Padded()
    first, second = synthesize_pieces(engine, "Sure. One moment.", voice=None, language=None)
    sure = FakeSynthesizer().synthesize("Sure.", voice=None, language=None)
    # About 20 ms (160 samples) kept before the first sample louder than the
    # silence level (the tone's third), against a click.
    assert first.endswith(sure)
    assert 300 <= len(first) - len(sure) <= 320
    assert second.startswith(bytes(2880))


def test_nothing_to_say_is_no_audio() -> None:
    assert list(synthesize_pieces(FakeSynthesizer(), " ", voice=None, language=None)) == []
