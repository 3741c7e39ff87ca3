"""SMS text on the wire (TERMS M1): GSM 03.38 septets both ways, packing, UCS-2, and
the inbound data codings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.core.sms import GSM7_BASIC, GSM7_EXTENSION, GSM7_TABLE, count_segments
from dialtone.core.sms_encoding import (
    SmsEncodingError,
    decode_gsm7,
    decode_short_message,
    decode_ucs2,
    encode_gsm7,
    encode_ucs2,
    encoding_of,
    pack_septets,
    udh_fill_bits,
    unpack_septets,
)

# 03.38 §6.2.1.1, written out here rather than read from core.sms, so a wrong table fails.
EXTENSION_CODES = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
GSM_CHARS = "".join(sorted(GSM7_BASIC | GSM7_EXTENSION))


@pytest.mark.parametrize("code", [c for c in range(128) if c != 0x1B])
def test_every_basic_character_is_its_code_and_back(code: int) -> None:
    char = GSM7_TABLE[code]
    assert encode_gsm7(char) == bytes([code])
    assert decode_gsm7(bytes([code])) == char


@pytest.mark.parametrize(("char", "code"), sorted(EXTENSION_CODES.items()))
def test_every_extension_character_is_the_escape_then_its_code(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([0x1B, code])
    assert decode_gsm7(bytes([0x1B, code])) == char


def test_the_extension_table_is_exactly_the_counted_one() -> None:
    assert set(EXTENSION_CODES) == GSM7_EXTENSION


def test_spot_codes_of_the_default_table() -> None:
    assert encode_gsm7("@£$ÇΔ_ ¡¿äà\n\r") == bytes(
        [0x00, 0x01, 0x02, 0x09, 0x10, 0x11, 0x20, 0x40, 0x60, 0x7B, 0x7F, 0x0A, 0x0D]
    )
    assert encode_gsm7("Hello, €5!") == b"Hello, \x1b\x655!"


@pytest.mark.parametrize(("text", "index"), [("ç", 0), ("ab`", 2), ("x\x1b", 1), ("a😀", 1)])
def test_a_character_without_a_gsm_code_is_refused_by_position(text: str, index: int) -> None:
    with pytest.raises(SmsEncodingError, match=f"at {index} has no GSM 7-bit code"):
        encode_gsm7(text)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\x1b\x41", "A"),  # unknown extension code: the default table's character
        (b"\x1b\x00", "@"),
        (b"\x1b\x0d", "\r"),  # CR2, reserved: read as the default table's CR
        (b"\x1b\x1b", " "),  # reserved for another extension table: a space, says 03.38
        (b"a\x1b\x1bb", "a b"),
        (b"abc\x1b", "abc"),  # a lone escape at the end is dropped
        (b"\x1b", ""),
        (b"\x1b\x1b\x1b\x65", " €"),
    ],
)
def test_escape_sequences_decode_as_03_38_says(data: bytes, text: str) -> None:
    assert decode_gsm7(data) == text


@pytest.mark.parametrize("octet", [0x80, 0xFF])
def test_an_octet_above_0x7f_is_no_septet(octet: int) -> None:
    with pytest.raises(SmsEncodingError, match="at 1 is not a GSM 7-bit septet"):
        decode_gsm7(bytes([0x41, octet]))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400))
def test_gsm_text_round_trips_and_takes_the_counted_septets(text: str) -> None:
    encoded = encode_gsm7(text)
    assert decode_gsm7(encoded) == text
    assert len(encoded) == count_segments(text).units
    assert encoding_of(text) == "GSM-7"


@pytest.mark.parametrize(
    ("text", "fill", "packed"),
    [
        ("hellohello", 0, "e8329bfd4697d9ec37"),  # the classic 3GPP example
        ("hello", 0, "e8329bfd06"),
        ("", 0, ""),
        ("A", 0, "41"),
        ("A", 1, "82"),
        ("AA", 1, "8241"),  # 0x41 << 1 | 0x41 << 8
        ("A", 6, "4010"),  # 13 bits: two octets
        ("aaaaaaa", 0, "e170381c0e8701"),  # 7 septets, 49 bits: 7 octets, 7 spare bits
        ("aaaaaaaa", 0, "e170381c0e87c3"),  # 8 septets fill 7 octets exactly
    ],
)
def test_packing_known_vectors(text: str, fill: int, packed: str) -> None:
    septets = encode_gsm7(text)
    assert pack_septets(septets, fill).hex() == packed
    assert unpack_septets(bytes.fromhex(packed), len(septets), fill) == septets


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_packing_round_trips_at_any_fill(septets: bytes, fill: int) -> None:
    packed = pack_septets(septets, fill)
    assert len(packed) == -(-(fill + 7 * len(septets)) // 8)
    assert unpack_septets(packed, len(septets), fill) == septets
    # fill bits are leading zero bits: the same number, shifted
    plain = int.from_bytes(pack_septets(septets), "little")
    assert int.from_bytes(packed, "little") == plain << fill


def test_packing_refuses_what_is_not_septets() -> None:
    with pytest.raises(SmsEncodingError, match="at 1 is not a septet"):
        pack_septets(b"\x01\x80")
    with pytest.raises(SmsEncodingError, match="fill bits must be 0 to 6"):
        pack_septets(b"a", 7)
    with pytest.raises(SmsEncodingError, match="fill bits must be 0 to 6"):
        unpack_septets(b"a", 1, -1)
    with pytest.raises(SmsEncodingError, match="fewer than 2 septets"):
        unpack_septets(b"\x41", 2)
    with pytest.raises(SmsEncodingError, match="fewer than 8 septets after 1 fill bits"):
        unpack_septets(bytes(7), 8, 1)
    with pytest.raises(SmsEncodingError, match="negative"):
        unpack_septets(b"", -1)


@pytest.mark.parametrize(("octets", "fill"), [(0, 0), (1, 6), (6, 1), (7, 0), (8, 6), (12, 2)])
def test_fill_bits_after_a_header(octets: int, fill: int) -> None:
    assert udh_fill_bits(octets) == fill
    assert (8 * octets + fill) % 7 == 0


@pytest.mark.parametrize(
    ("text", "octets"),
    [
        ("", ""),
        ("aé", "006100e9"),
        ("€", "20ac"),
        ("😀", "d83dde00"),  # U+1F600 as its surrogate pair
        ("a😀b", "0061d83dde000062"),
    ],
)
def test_ucs2_is_utf16_big_endian(text: str, octets: str) -> None:
    assert encode_ucs2(text).hex() == octets
    assert decode_ucs2(bytes.fromhex(octets)) == text


@pytest.mark.parametrize("text", ["\ud83d", "a\ude00", "\ude00\ud83d", "ok\udfff!"])
def test_a_lone_surrogate_in_the_text_is_refused(text: str) -> None:
    with pytest.raises(SmsEncodingError, match=r"lone surrogate U\+D[89A-F][0-9A-F]{2} at"):
        encode_ucs2(text)


@pytest.mark.parametrize(
    ("octets", "match"),
    [
        ("00", "odd"),
        ("006100", "odd"),
        ("d83d", "unpaired surrogate"),  # high surrogate at the end
        ("d83d0061", "unpaired surrogate"),  # high surrogate then no low one
        ("de000061", "unpaired surrogate"),  # a low surrogate first
        ("0061dc00", "unpaired surrogate"),
        ("d83dd83d", "unpaired surrogate"),
    ],
)
def test_invalid_ucs2_is_refused_clearly(octets: str, match: str) -> None:
    with pytest.raises(SmsEncodingError, match=match):
        decode_ucs2(bytes.fromhex(octets))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_ucs2_round_trips_any_text_without_lone_surrogates(text: str) -> None:
    assert decode_ucs2(encode_ucs2(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_decoding_any_octets_gives_text_or_the_clear_error(data: bytes) -> None:
    assert decode_short_message(3, data) == data.decode("latin-1")
    if all(octet < 0x80 for octet in data):
        assert decode_short_message(1, data) == data.decode("ascii")
        assert len(decode_short_message(0, data)) <= len(data)
    else:
        for coding in (0, 1):
            with pytest.raises(SmsEncodingError):
                decode_short_message(coding, data)
    try:
        text = decode_short_message(8, data)
    except SmsEncodingError:
        return
    assert encode_ucs2(text) == data


@pytest.mark.parametrize(
    ("coding", "data", "text"),
    [
        (0, b"Hello \x1b\x65", "Hello €"),
        (0, b"\x00\x7f", "@à"),
        (1, b"Hello ~", "Hello ~"),
        (3, b"caf\xe9 \xa3", "café £"),
        (8, bytes.fromhex("0063d83dde00"), "c😀"),
    ],
)
def test_inbound_text_by_data_coding(coding: int, data: bytes, text: str) -> None:
    assert decode_short_message(coding, data) == text


@pytest.mark.parametrize(
    ("coding", "data", "match"),
    [
        (1, b"caf\xe9", "0xE9 at 3 is not IA5"),
        (0, b"\x80", "not a GSM 7-bit septet"),
        (8, b"\x00", "odd"),
        (2, b"\x00", "data_coding 0x02"),  # 8-bit binary
        (4, b"\x00", "data_coding 0x04"),
        (0xF0, b"a", "data_coding 0xF0"),  # GSM class 0, not read
    ],
)
def test_inbound_octets_that_are_not_text_are_refused(coding: int, data: bytes, match: str) -> None:
    with pytest.raises(SmsEncodingError, match=match):
        decode_short_message(coding, data)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("", "GSM-7"), ("Hi €", "GSM-7"), ("Hi ç", "UCS-2"), ("😀", "UCS-2"), ("\ud83d", "UCS-2")],
)
def test_the_encoding_is_count_segments_choice(text: str, encoding: str) -> None:
    assert encoding_of(text) == encoding
