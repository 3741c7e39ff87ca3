"""SMS parts on the wire (TERMS M1, M2): the parts sent are the parts counted, headers
as 3GPP TS 23.040 writes them, pairs never split, and the header read back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.core.sms import GSM7_BASIC, GSM7_EXTENSION, count_segments
from dialtone.core.sms_encoding import (
    SmsEncodingError,
    decode_short_message,
    pack_septets,
    udh_fill_bits,
)
from dialtone.core.sms_parts import (
    ConcatInfo,
    SplitMessage,
    parse_udh,
    split_message,
)

BASIC = "".join(sorted(GSM7_BASIC))
EXTENSION = "".join(sorted(GSM7_EXTENSION))


def _payload_units(split: SplitMessage) -> list[int]:
    """Septets (GSM-7, one per octet) or UTF-16 units (UCS-2) of each part's payload."""
    per_unit = 1 if split.data_coding == 0 else 2
    return [len(part.payload) // per_unit for part in split.parts]


def _text_back(split: SplitMessage) -> str:
    joined = "".join(decode_short_message(split.data_coding, part.payload) for part in split.parts)
    return joined


@pytest.mark.parametrize(
    ("text", "data_coding", "units"),
    [
        ("", 0, [0]),
        ("a" * 160, 0, [160]),
        ("a" * 161, 0, [153, 8]),
        ("a" * 306, 0, [153, 153]),
        ("a" * 307, 0, [153, 153, 1]),
        ("a" * 158 + "€", 0, [160]),
        ("a" * 159 + "€", 0, [153, 8]),
        # an extension character at position 153 (the 153rd): its pair would take
        # septets 153 and 154, so it opens part 2
        ("a" * 152 + "€" + "a" * 10, 0, [152, 12]),
        ("a" * 151 + "€" + "a" * 10, 0, [153, 10]),
        ("a" * 153 + "€" + "a" * 10, 0, [153, 12]),
        ("ç" * 70, 8, [70]),
        ("ç" * 71, 8, [67, 4]),
        ("ç" * 134, 8, [67, 67]),
        ("ç" * 135, 8, [67, 67, 1]),
        ("😀" * 35, 8, [70]),
        # an emoji at position 67: its pair would take units 67 and 68, so it opens part 2
        ("ç" * 66 + "😀" + "ç" * 10, 8, [66, 12]),
        ("ç" * 65 + "😀" + "ç" * 10, 8, [67, 10]),
    ],
)
def test_parts_at_the_boundaries(text: str, data_coding: int, units: list[int]) -> None:
    split = split_message(text, 0x2A)
    assert split.data_coding == data_coding
    assert split.encoding == ("GSM-7" if data_coding == 0 else "UCS-2")
    assert _payload_units(split) == units
    assert len(split.parts) == count_segments(text).segments
    assert _text_back(split) == text


def test_a_single_part_has_no_header() -> None:
    (part,) = split_message("Hello €", 9).parts
    assert part.udh == b""
    assert part.short_message == b"Hello \x1b\x65"
    assert part.udhi is False
    assert part.sar is None
    (sar_single,) = split_message("Hello", 9, concatenation="sar").parts
    assert sar_single.sar is None
    assert sar_single.short_message == b"Hello"


def test_udh_with_an_8_bit_reference() -> None:
    split = split_message("a" * 200, 0xAB)
    assert [part.udh.hex() for part in split.parts] == ["050003ab0201", "050003ab0202"]
    assert all(part.udhi and part.sar is None for part in split.parts)
    assert split.parts[0].short_message == bytes.fromhex("050003ab0201") + b"a" * 153


def test_udh_with_a_16_bit_reference_leaves_one_septet_less() -> None:
    split = split_message("a" * 161, 0x1234, reference_bits=16)
    assert [part.udh.hex() for part in split.parts] == ["06080412340201", "06080412340202"]
    assert _payload_units(split) == [152, 9]
    ucs = split_message("ç" * 71, 0xFFFF, reference_bits=16)
    assert _payload_units(ucs) == [66, 5]
    assert max(len(part.short_message) for part in ucs.parts) == 7 + 132


def test_a_16_bit_reference_can_take_a_part_more_than_counted() -> None:
    text = "a" * 306  # two parts of 153 counted and billed, three of 152 with 16-bit refs
    assert count_segments(text).segments == 2
    assert _payload_units(split_message(text, 1, reference_bits=16)) == [152, 152, 2]


def test_sar_parts_carry_their_numbers_beside_the_payload() -> None:
    split = split_message("a" * 307, 77, concatenation="sar")
    assert [part.sar for part in split.parts] == [ConcatInfo(77, 3, seq, 8) for seq in (1, 2, 3)]
    assert all(part.udh == b"" and not part.udhi for part in split.parts)
    assert _payload_units(split) == [153, 153, 1]  # the SMSC adds the header: same sizes


@pytest.mark.parametrize(
    ("reference", "bits"),
    [(-1, 8), (256, 8), (65536, 16), (-1, 16)],
)
def test_a_reference_must_fit_its_bits(reference: int, bits: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        split_message("a" * 200, reference, reference_bits=bits)  # type: ignore[arg-type]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="8 or 16"):
        split_message("a", 0, reference_bits=12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'udh' or 'sar'"):
        split_message("a", 0, concatenation="tlv")  # type: ignore[arg-type]


def test_at_most_255_parts() -> None:
    assert len(split_message("a" * 153 * 255, 1).parts) == 255
    with pytest.raises(SmsEncodingError, match="needs 256 parts"):
        split_message("a" * (153 * 255 + 1), 1)


def test_a_lone_surrogate_cannot_be_sent() -> None:
    with pytest.raises(SmsEncodingError, match="lone surrogate"):
        split_message("ok \ud83d", 1)


_texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(BASIC),
        st.sampled_from(EXTENSION),
        st.characters(min_codepoint=0x80, max_codepoint=0xFFFF, exclude_categories=("Cs",)),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    ),
    max_size=700,
)
_gsm_texts = st.text(alphabet=st.sampled_from(BASIC + EXTENSION), max_size=700)
_LIMITS = {(0, 8): (160, 153), (0, 16): (160, 152), (8, 8): (70, 67), (8, 16): (70, 66)}


def _check_parts(text: str, split: SplitMessage, bits: int) -> None:
    single, part_units = _LIMITS[(split.data_coding, bits)]
    units = _payload_units(split)
    if len(units) == 1:
        assert units[0] <= single
        assert split.parts[0].udh == b""
    else:
        assert all(0 < n <= part_units for n in units)
    if split.data_coding == 8:  # GSM-7 goes unpacked: see the packed test below
        assert all(len(part.short_message) <= 140 for part in split.parts)
    # each part decodes alone (no escape or surrogate pair split) and they join to the text
    assert _text_back(split) == text


@settings(max_examples=300, deadline=None)
@given(st.one_of(_texts, _gsm_texts), st.integers(0, 255))
def test_the_parts_sent_are_the_parts_counted(text: str, reference: int) -> None:
    split = split_message(text, reference)
    assert len(split.parts) == count_segments(text).segments
    assert split.encoding == count_segments(text).encoding
    _check_parts(text, split, 8)
    total = len(split.parts)
    for sequence, part in enumerate(split.parts, start=1):
        if total == 1:
            continue
        info, payload = parse_udh(part.short_message)
        assert info == ConcatInfo(reference, total, sequence, 8)
        assert payload == part.payload
    sar = split_message(text, reference, concatenation="sar")
    assert [part.payload for part in sar.parts] == [part.payload for part in split.parts]


@settings(max_examples=200, deadline=None)
@given(st.one_of(_texts, _gsm_texts), st.integers(0, 65535))
def test_16_bit_references_fit_their_smaller_parts(text: str, reference: int) -> None:
    split = split_message(text, reference, reference_bits=16)
    assert len(split.parts) >= count_segments(text).segments
    _check_parts(text, split, 16)
    if len(split.parts) > 1:
        info, _ = parse_udh(split.parts[-1].short_message)
        assert info == ConcatInfo(reference, len(split.parts), len(split.parts), 16)


def test_packed_gsm_parts_fit_140_octets_with_their_header() -> None:
    for bits in (8, 16):
        split = split_message("a" * 400, 3, reference_bits=bits)  # type: ignore[arg-type]
        for part in split.parts:
            packed = pack_septets(part.payload, udh_fill_bits(len(part.udh)))
            assert len(part.udh) + len(packed) <= 140


# parse_udh


@pytest.mark.parametrize(
    ("hex_message", "info", "payload"),
    [
        ("050003ab0201" + "6869", ConcatInfo(0xAB, 2, 1, 8), b"hi"),
        ("06080412340302" + "6869", ConcatInfo(0x1234, 3, 2, 16), b"hi"),
        # other elements around it: application ports (05), a national shift table (24)
        ("0b05040b8423f0" + "00037f0303" + "6869", ConcatInfo(0x7F, 3, 3, 8), b"hi"),
        ("08000301020124010200", ConcatInfo(1, 2, 1, 8), b"\x00"),
        ("0605040b8423f0" + "6869", None, b"hi"),  # no concatenation element
        ("00" + "6869", None, b"hi"),  # an empty header
        ("050003010002", None, b""),  # total 0: ignored
        ("050003010000", None, b""),  # sequence 0: ignored
        ("050003010203", None, b""),  # sequence above the total: ignored
        ("0600040102030a", None, b""),  # 8-bit element with the wrong length
        # two valid elements: the last counts; an invalid one after a valid one is ignored
        ("0a000301020100030902026869", ConcatInfo(9, 2, 2, 8), b"hi"),
        ("0a000301020100030900026869", ConcatInfo(1, 2, 1, 8), b"hi"),
    ],
)
def test_parse_udh(hex_message: str, info: ConcatInfo | None, payload: bytes) -> None:
    assert parse_udh(bytes.fromhex(hex_message)) == (info, payload)


@pytest.mark.parametrize(
    ("hex_message", "match"),
    [
        ("", "empty"),
        ("05000301", "claims 5 octets; 3 follow"),
        ("0100", "cut short"),
        ("0300050102", "runs past"),
    ],
)
def test_a_header_that_runs_past_its_octets_is_refused(hex_message: str, match: str) -> None:
    with pytest.raises(SmsEncodingError, match=match):
        parse_udh(bytes.fromhex(hex_message))


def _elements_fit(header: bytes) -> bool:
    position = 0
    while position < len(header):
        if position + 2 > len(header) or position + 2 + header[position + 1] > len(header):
            return False
        position += 2 + header[position + 1]
    return True


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_parse_udh_reads_any_octets_or_refuses_clearly(data: bytes) -> None:
    if not data or 1 + data[0] > len(data):
        with pytest.raises(SmsEncodingError):
            parse_udh(data)
        return
    if not _elements_fit(data[1 : 1 + data[0]]):
        with pytest.raises(SmsEncodingError, match="information element"):
            parse_udh(data)
        return
    info, payload = parse_udh(data)
    assert payload == data[1 + data[0] :]
    if info is not None:
        assert 1 <= info.sequence <= info.total
