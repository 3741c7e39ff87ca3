"""Inbound concatenated SMS put back together (TERMS M1): in any order, duplicates
ignored, incomplete ones expired at ``now`` and handed back."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.core.sms_encoding import SmsEncodingError
from dialtone.core.sms_parts import ConcatInfo, parse_udh, split_message
from dialtone.core.sms_reassembly import Fragment, Incomplete, Reassembler

A, B = "+4930111", "+4930222"


def _gsm(text: str) -> Fragment:
    return Fragment(0, text.encode("ascii"))


def test_parts_in_order_give_the_text_at_the_last_one() -> None:
    reassembler = Reassembler()
    assert reassembler.add(A, B, ConcatInfo(7, 3, 1), _gsm("Hel"), now=0.0) is None
    assert reassembler.add(A, B, ConcatInfo(7, 3, 2), _gsm("lo "), now=1.0) is None
    assert reassembler.pending == 1
    assert reassembler.add(A, B, ConcatInfo(7, 3, 3), _gsm("you"), now=2.0) == "Hello you"
    assert reassembler.pending == 0
    assert reassembler.expire(1_000.0) == []


def test_parts_out_of_order_and_duplicates() -> None:
    reassembler = Reassembler()
    assert reassembler.add(A, B, ConcatInfo(7, 3, 3), _gsm("C"), now=0.0) is None
    assert reassembler.add(A, B, ConcatInfo(7, 3, 1), _gsm("A"), now=0.0) is None
    assert reassembler.add(A, B, ConcatInfo(7, 3, 1), _gsm("X"), now=0.0) is None  # first kept
    assert reassembler.add(A, B, ConcatInfo(7, 3, 3), _gsm("Y"), now=0.0) is None
    assert reassembler.add(A, B, ConcatInfo(7, 3, 2), _gsm("B"), now=0.0) == "ABC"


def test_a_single_part_message_completes_at_once() -> None:
    assert Reassembler().add(A, B, ConcatInfo(1, 1, 1), _gsm("hi"), now=0.0) == "hi"


def test_messages_are_kept_apart_by_source_destination_and_reference() -> None:
    reassembler = Reassembler()
    for source, destination, reference in [(A, B, 1), (B, A, 1), (A, B, 2), (A, "+1", 1)]:
        tag = f"{source[-1]}{destination[-1]}{reference}"
        info = ConcatInfo(reference, 2, 1)
        assert reassembler.add(source, destination, info, _gsm(tag + ":"), now=0.0) is None
    assert reassembler.pending == 4
    assert reassembler.add(B, A, ConcatInfo(1, 2, 2), _gsm("end"), now=0.0) == "211:end"
    assert reassembler.add(A, "+1", ConcatInfo(1, 2, 2), _gsm("end"), now=0.0) == "111:end"
    assert reassembler.pending == 2


def test_a_pair_a_sender_split_across_parts_still_reads_right() -> None:
    reassembler = Reassembler()
    # non-conforming senders: an escape pair and a surrogate pair cut in two
    assert reassembler.add(A, B, ConcatInfo(1, 2, 1), Fragment(0, b"5\x1b"), now=0.0) is None
    assert reassembler.add(A, B, ConcatInfo(1, 2, 2), Fragment(0, b"\x65!"), now=0.0) == "5€!"
    ucs = bytes.fromhex("0061d83dde000062")
    assert reassembler.add(A, B, ConcatInfo(2, 2, 2), Fragment(8, ucs[4:]), now=0.0) is None
    assert reassembler.add(A, B, ConcatInfo(2, 2, 1), Fragment(8, ucs[:4]), now=0.0) == "a😀b"


def test_parts_in_different_codings_are_decoded_each_on_its_own() -> None:
    reassembler = Reassembler()
    assert reassembler.add(A, B, ConcatInfo(1, 2, 1), Fragment(3, b"caf\xe9 "), now=0.0) is None
    got = reassembler.add(A, B, ConcatInfo(1, 2, 2), Fragment(8, "😀".encode("utf-16-be")), 0.0)
    assert got == "café 😀"


def test_expire_drops_what_is_incomplete_after_the_timeout() -> None:
    reassembler = Reassembler(timeout=300.0)
    reassembler.add(A, B, ConcatInfo(9, 4, 3), _gsm("three "), now=100.0)
    reassembler.add(A, B, ConcatInfo(9, 4, 1), _gsm("one "), now=250.0)
    reassembler.add(B, A, ConcatInfo(5, 2, 1), _gsm("later"), now=200.0)
    assert reassembler.expire(399.9) == []
    assert reassembler.expire(400.0) == [
        Incomplete(A, B, 9, 4, (1, 3), (2, 4), 100.0, "one three ")
    ]
    assert reassembler.pending == 1
    assert reassembler.expire(400.0) == []
    (late,) = reassembler.expire(500.0)
    assert (late.source, late.reference, late.missing, late.text) == (B, 5, (2,), "later")
    assert reassembler.pending == 0


def test_a_part_that_comes_after_its_message_expired_starts_again() -> None:
    reassembler = Reassembler(timeout=10.0)
    reassembler.add(A, B, ConcatInfo(9, 2, 1), _gsm("a"), now=0.0)
    assert len(reassembler.expire(10.0)) == 1
    assert reassembler.add(A, B, ConcatInfo(9, 2, 2), _gsm("b"), now=11.0) is None
    (dropped,) = reassembler.expire(21.0)
    assert (dropped.received, dropped.text, dropped.started) == ((2,), "b", 11.0)


def test_a_late_copy_of_a_delivered_part_is_ignored_within_the_timeout() -> None:
    reassembler = Reassembler(timeout=60.0)
    reassembler.add(A, B, ConcatInfo(4, 2, 1), _gsm("one "), now=0.0)
    assert reassembler.add(A, B, ConcatInfo(4, 2, 2), _gsm("two"), now=10.0) == "one two"
    assert reassembler.add(A, B, ConcatInfo(4, 2, 1), _gsm("one "), now=69.0) is None
    assert reassembler.pending == 0
    # other octets under the same reference: a new message, not a copy
    assert reassembler.add(A, B, ConcatInfo(4, 2, 1), _gsm("uno "), now=69.0) is None
    assert reassembler.add(A, B, ConcatInfo(4, 2, 2), _gsm("dos"), now=69.0) == "uno dos"
    # forgotten once the timeout has passed since delivery: a copy starts again
    assert reassembler.expire(129.0) == []
    assert reassembler.add(A, B, ConcatInfo(4, 2, 1), _gsm("uno "), now=130.0) is None
    assert reassembler.pending == 1


def test_a_reused_reference_with_another_total_displaces_the_old_message() -> None:
    reassembler = Reassembler()
    reassembler.add(A, B, ConcatInfo(3, 3, 1), _gsm("old"), now=0.0)
    assert reassembler.add(A, B, ConcatInfo(3, 2, 2), _gsm("new2"), now=5.0) is None
    assert reassembler.pending == 1
    assert reassembler.add(A, B, ConcatInfo(3, 2, 1), _gsm("new1"), now=6.0) == "new1new2"
    (old,) = reassembler.expire(7.0)  # handed back at once, not after the timeout
    assert (old.total, old.received, old.missing, old.text) == (3, (1,), (2, 3), "old")


def test_a_part_that_does_not_decode_alone_reads_as_a_replacement_character() -> None:
    reassembler = Reassembler(timeout=1.0)
    reassembler.add(A, B, ConcatInfo(1, 3, 1), Fragment(8, b"\x00a\xd8"), now=0.0)
    reassembler.add(A, B, ConcatInfo(1, 3, 2), _gsm("ok"), now=0.0)
    (dropped,) = reassembler.expire(1.0)
    assert dropped.text == "\ufffdok"


@pytest.mark.parametrize(("total", "sequence"), [(0, 1), (3, 0), (3, 4), (-1, 1)])
def test_sar_numbers_out_of_range_are_refused(total: int, sequence: int) -> None:
    with pytest.raises(SmsEncodingError, match="is not a part of a message"):
        Reassembler().add(A, B, ConcatInfo(1, total, sequence, 16), _gsm("x"), now=0.0)


def test_a_complete_message_that_does_not_decode_is_refused_and_dropped() -> None:
    reassembler = Reassembler()
    reassembler.add(A, B, ConcatInfo(1, 2, 1), Fragment(8, b"\x00a"), now=0.0)
    with pytest.raises(SmsEncodingError, match="odd"):
        reassembler.add(A, B, ConcatInfo(1, 2, 2), Fragment(8, b"\x00"), now=0.0)
    assert reassembler.pending == 0
    assert reassembler.expire(1e9) == []


@pytest.mark.parametrize("timeout", [0.0, -1.0])
def test_the_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Reassembler(timeout)


_texts = st.text(
    alphabet=st.one_of(
        st.sampled_from("abcXYZ 019@£€[]{}^~|\\\f\n"),
        st.characters(min_codepoint=0x80, max_codepoint=0xFFFF, exclude_categories=("Cs",)),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    ),
    max_size=600,
)


@settings(max_examples=200, deadline=None)
@given(_texts, st.integers(0, 255), st.booleans(), st.randoms(use_true_random=False))
def test_what_split_message_sends_reassembles_to_the_text(
    text: str, reference: int, sar: bool, shuffler: random.Random
) -> None:
    split = split_message(text, reference, concatenation="sar" if sar else "udh")
    arrivals = list(split.parts) + list(split.parts[: len(split.parts) // 2])  # duplicates
    shuffler.shuffle(arrivals)
    reassembler = Reassembler()
    results = []
    for part in arrivals:
        if part.udhi:
            info, payload = parse_udh(part.short_message)
            assert info is not None
        else:
            info, payload = part.sar or ConcatInfo(reference, 1, 1), part.payload
        results.append(reassembler.add(A, B, info, Fragment(split.data_coding, payload), 0.0))
    assert [r for r in results if r is not None] == [text]  # once, late copies ignored
    assert reassembler.pending == 0
    assert reassembler.expire(0.0) == []
