"""SMS segments (TERMS M1, M2): GSM-7 160/153, UCS-2 70/67, pairs never split."""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.core.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_TABLE,
    SmsSegments,
    count_segments,
)

BASIC_SORTED = "".join(sorted(GSM7_BASIC))


def test_the_basic_table_is_the_gsm_03_38_one() -> None:
    assert len(GSM7_TABLE) == 128
    assert len(set(GSM7_TABLE)) == 128
    assert GSM7_TABLE[0x1B] == "\x1b"  # the escape, not a character of the alphabet
    spot = {0x00: "@", 0x02: "$", 0x09: "Ç", 0x11: "_", 0x24: "¤", 0x40: "¡", 0x60: "¿"}
    for code, char in spot.items():
        assert GSM7_TABLE[code] == char
    assert len(GSM7_BASIC) == 127
    greek = "ΔΦΓΛΩΠΨΣΘΞ"
    assert all(unicodedata.name(c).startswith("GREEK CAPITAL LETTER") for c in greek)
    assert set(greek) <= GSM7_BASIC
    for char in "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà\n\r 09azAZ!?.,;:'\"()/+-=<>#%&*":
        assert char in GSM7_BASIC, char
    assert GSM7_BASIC.isdisjoint(GSM7_EXTENSION)


@pytest.mark.parametrize("char", ["`", "ç", "\x1b", "\t", "á", "Ê", "…", "’", "😀", "α"])
def test_characters_outside_gsm_switch_the_whole_text_to_ucs2(char: str) -> None:
    got = count_segments("Hello " + char)
    assert got.encoding == "UCS-2"
    assert got.units == 6 + len(char.encode("utf-16-le")) // 2


@pytest.mark.parametrize("char", sorted("\f^{}\\[~]|€"))
def test_extension_characters_cost_two_septets(char: str) -> None:
    assert count_segments(char) == SmsSegments("GSM-7", 2, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsSegments("GSM-7", 0, 1)),
        ("€", SmsSegments("GSM-7", 2, 1)),
        ("😀", SmsSegments("UCS-2", 2, 1)),
        # GSM-7: 160 in one SMS, then parts of 153
        ("a" * 159, SmsSegments("GSM-7", 159, 1)),
        ("a" * 160, SmsSegments("GSM-7", 160, 1)),
        ("a" * 161, SmsSegments("GSM-7", 161, 2)),
        ("a" * 305, SmsSegments("GSM-7", 305, 2)),
        ("a" * 306, SmsSegments("GSM-7", 306, 2)),
        ("a" * 307, SmsSegments("GSM-7", 307, 3)),
        ("a" * 459, SmsSegments("GSM-7", 459, 3)),
        ("a" * 460, SmsSegments("GSM-7", 460, 4)),
        # an extension character counts double against the 160 as well
        ("a" * 158 + "€", SmsSegments("GSM-7", 160, 1)),
        ("a" * 159 + "€", SmsSegments("GSM-7", 161, 2)),
        # UCS-2: 70 in one SMS, then parts of 67
        ("ç" * 69, SmsSegments("UCS-2", 69, 1)),
        ("ç" * 70, SmsSegments("UCS-2", 70, 1)),
        ("ç" * 71, SmsSegments("UCS-2", 71, 2)),
        ("ç" * 133, SmsSegments("UCS-2", 133, 2)),
        ("ç" * 134, SmsSegments("UCS-2", 134, 2)),
        ("ç" * 135, SmsSegments("UCS-2", 135, 3)),
        ("😀" * 35, SmsSegments("UCS-2", 70, 1)),
        ("😀" * 35 + "a", SmsSegments("UCS-2", 71, 2)),
        # one non-GSM character makes 100 GSM characters UCS-2: two parts, not one
        ("a" * 99 + "ç", SmsSegments("UCS-2", 100, 2)),
        ("a" * 99 + "Ç", SmsSegments("GSM-7", 100, 1)),
    ],
)
def test_segment_boundaries(text: str, expected: SmsSegments) -> None:
    assert count_segments(text) == expected


@pytest.mark.parametrize(
    ("before", "after", "segments"),
    [
        (151, 153, 2),  # the escape pair ends part 1 exactly at septet 153
        (152, 152, 3),  # it would straddle 153/154: it opens part 2, which then overflows
        (153, 151, 2),  # it opens part 2 cleanly
    ],
)
def test_an_escape_pair_never_straddles_two_parts(before: int, after: int, segments: int) -> None:
    text = "a" * before + "€" + "a" * after
    got = count_segments(text)
    assert got.units == before + 2 + after
    assert got.segments == segments


@pytest.mark.parametrize(
    ("before", "after", "segments"),
    [
        (65, 67, 2),  # the surrogate pair ends part 1 exactly at unit 67
        (66, 66, 3),  # it would straddle 67/68: one part more than ceil(134 / 67)
        (67, 65, 2),
    ],
)
def test_a_surrogate_pair_never_straddles_two_parts(before: int, after: int, segments: int) -> None:
    text = "ç" * before + "😀" + "ç" * after
    got = count_segments(text)
    assert got == SmsSegments("UCS-2", before + 2 + after, segments)


_PER_PART = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=700))
def test_any_text_takes_at_least_the_parts_its_units_need(text: str) -> None:
    got = count_segments(text)
    single, part = _PER_PART[got.encoding]
    assert got.segments >= 1
    if got.units > single:
        assert got.segments >= math.ceil(got.units / part)
    assert got.segments <= max(1, math.ceil(got.units / (part - 1)))  # at most 1 lost per part


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(BASIC_SORTED + "\f^{}\\[~]|€"),
        max_size=700,
    )
)
def test_gsm_text_stays_gsm(text: str) -> None:
    got = count_segments(text)
    assert got.encoding == "GSM-7"
    assert got.units == len(text) + sum(c in GSM7_EXTENSION for c in text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(BASIC_SORTED), max_size=700))
def test_basic_gsm_text_is_plain_arithmetic(text: str) -> None:
    got = count_segments(text)
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert got == SmsSegments("GSM-7", len(text), expected)
