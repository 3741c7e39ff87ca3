"""G.711 against known vectors, exhaustively against audioop, and by round-trip properties.

Every vector below was checked against CPython 3.11's ``audioop`` (lin2ulaw, ulaw2lin,
lin2alaw, alaw2lin with width 2), which implements the ITU G.191 / Sun g711.c reference.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.codecs import g711

# (16-bit sample, µ-law code, A-law code)
ENCODE_VECTORS = [
    (0, 0xFF, 0xD5),
    (1, 0xFF, 0xD5),
    (-1, 0x7E, 0x55),  # the arithmetic shift puts -1 on the first negative step
    (7, 0xFE, 0xD5),
    (8, 0xFE, 0xD5),
    (-8, 0x7E, 0x55),
    (100, 0xF2, 0xD3),
    (-100, 0x72, 0x53),
    (1000, 0xCE, 0xFA),
    (-1000, 0x4E, 0x7A),
    (32124, 0x80, 0xAA),
    (-32124, 0x00, 0x2A),
    (32767, 0x80, 0xAA),
    (-32768, 0x00, 0x2A),
]
# (µ-law code, decoded sample)
ULAW_DECODE_VECTORS = [
    (0x00, -32124),
    (0x80, 32124),
    (0xFF, 0),
    (0x7F, 0),
    (0xFE, 8),
    (0x7E, -8),
    (0xF2, 104),
]
# (A-law code, decoded sample)
ALAW_DECODE_VECTORS = [
    (0xD5, 8),
    (0x55, -8),
    (0xAA, 32256),
    (0x2A, -32256),
    (0xD9, 200),
    (0xFA, 1008),
    (0x80, 5504),
    (0x00, -5504),
]

EVERY_SAMPLE = struct.pack("<65536h", *range(-32768, 32768))
EVERY_CODE = bytes(range(256))

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes], Callable[[int], int]]
CODECS: dict[str, Codec] = {
    "PCMU": (g711.ulaw_encode, g711.ulaw_decode, g711.linear_to_ulaw),
    "PCMA": (g711.alaw_encode, g711.alaw_decode, g711.linear_to_alaw),
}


def _audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module: ModuleType = pytest.importorskip("audioop")  # removed in Python 3.13
    return module


def _pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def _ulaw_step(code: int) -> int:
    return 8 << ((~code & 0x70) >> 4)


def _alaw_step(code: int) -> int:
    seg = ((code ^ 0x55) & 0x70) >> 4
    return 16 if seg < 2 else 16 << (seg - 1)


@pytest.mark.parametrize(("sample", "ulaw", "alaw"), ENCODE_VECTORS)
def test_encode_known_vectors(sample: int, ulaw: int, alaw: int) -> None:
    assert g711.linear_to_ulaw(sample) == ulaw
    assert g711.linear_to_alaw(sample) == alaw
    assert g711.ulaw_encode(_pcm(sample)) == bytes([ulaw])
    assert g711.alaw_encode(_pcm(sample)) == bytes([alaw])


@pytest.mark.parametrize(("code", "sample"), ULAW_DECODE_VECTORS)
def test_ulaw_decode_known_vectors(code: int, sample: int) -> None:
    assert g711.ulaw_to_linear(code) == sample
    assert g711.ulaw_decode(bytes([code])) == _pcm(sample)


@pytest.mark.parametrize(("code", "sample"), ALAW_DECODE_VECTORS)
def test_alaw_decode_known_vectors(code: int, sample: int) -> None:
    assert g711.alaw_to_linear(code) == sample
    assert g711.alaw_decode(bytes([code])) == _pcm(sample)


def test_known_vectors_agree_with_audioop() -> None:
    audioop = _audioop()
    for sample, ulaw, alaw in ENCODE_VECTORS:
        assert audioop.lin2ulaw(_pcm(sample), 2) == bytes([ulaw])
        assert audioop.lin2alaw(_pcm(sample), 2) == bytes([alaw])
    for code, sample in ULAW_DECODE_VECTORS:
        assert audioop.ulaw2lin(bytes([code]), 2) == _pcm(sample)
    for code, sample in ALAW_DECODE_VECTORS:
        assert audioop.alaw2lin(bytes([code]), 2) == _pcm(sample)


def test_exhaustively_equal_to_audioop() -> None:
    audioop = _audioop()
    assert g711.ulaw_encode(EVERY_SAMPLE) == audioop.lin2ulaw(EVERY_SAMPLE, 2)
    assert g711.alaw_encode(EVERY_SAMPLE) == audioop.lin2alaw(EVERY_SAMPLE, 2)
    assert g711.ulaw_decode(EVERY_CODE) == audioop.ulaw2lin(EVERY_CODE, 2)
    assert g711.alaw_decode(EVERY_CODE) == audioop.alaw2lin(EVERY_CODE, 2)


def test_tables_equal_the_per_sample_functions() -> None:
    samples = range(-32768, 32768)
    assert g711.ulaw_encode(EVERY_SAMPLE) == bytes(map(g711.linear_to_ulaw, samples))
    assert g711.alaw_encode(EVERY_SAMPLE) == bytes(map(g711.linear_to_alaw, samples))
    assert g711.ulaw_decode(EVERY_CODE) == _pcm(*map(g711.ulaw_to_linear, EVERY_CODE))
    assert g711.alaw_decode(EVERY_CODE) == _pcm(*map(g711.alaw_to_linear, EVERY_CODE))


@pytest.mark.parametrize(
    ("encode", "decode", "step"),
    [
        (g711.linear_to_ulaw, g711.ulaw_to_linear, _ulaw_step),
        (g711.linear_to_alaw, g711.alaw_to_linear, _alaw_step),
    ],
    ids=["PCMU", "PCMA"],
)
def test_every_sample_round_trips_within_its_quantisation_step(
    encode: Callable[[int], int], decode: Callable[[int], int], step: Callable[[int], int]
) -> None:
    for sample in range(-32768, 32768):
        code = encode(sample)
        assert abs(decode(code) - sample) <= step(code), sample


@pytest.mark.parametrize("name", ["PCMU", "PCMA"])
@given(samples=st.lists(st.integers(-32768, 32767), max_size=400))
def test_buffer_round_trip_property(name: str, samples: list[int]) -> None:
    encode, decode, _ = CODECS[name]
    step = _ulaw_step if name == "PCMU" else _alaw_step
    pcm = _pcm(*samples)
    codes = encode(pcm)
    assert len(codes) == len(samples)
    decoded = struct.unpack(f"<{len(samples)}h", decode(codes))
    for sample, code, out in zip(samples, codes, decoded, strict=True):
        assert abs(out - sample) <= step(code)
    # Decoding lands on a reconstruction level, which encodes to itself.
    assert encode(decode(codes)) == codes


def test_every_code_survives_decode_then_encode() -> None:
    # Except µ-law's negative zero (0x7F): it decodes to 0, which encodes as 0xFF, and no
    # sample ever encodes to it.
    assert g711.ulaw_encode(g711.ulaw_decode(EVERY_CODE)) == EVERY_CODE.replace(b"\x7f", b"\xff")
    assert b"\x7f" not in g711.ulaw_encode(EVERY_SAMPLE)
    assert g711.alaw_encode(g711.alaw_decode(EVERY_CODE)) == EVERY_CODE


@pytest.mark.parametrize("name", ["PCMU", "PCMA"])
@given(samples=st.lists(st.integers(-32768, 32767), max_size=200))
def test_buffer_encoder_equals_per_sample_function(name: str, samples: list[int]) -> None:
    encode, _, per_sample = CODECS[name]
    assert encode(_pcm(*samples)) == bytes(map(per_sample, samples))


@pytest.mark.parametrize(
    ("decode", "silence"),
    [(g711.ulaw_decode, g711.ULAW_SILENCE), (g711.alaw_decode, g711.ALAW_SILENCE)],
)
def test_silence_codes(decode: Callable[[bytes], bytes], silence: int) -> None:
    samples = struct.unpack("<160h", decode(bytes([silence]) * 160))
    assert all(abs(s) <= 8 for s in samples)


def test_zero_pcm_encodes_to_the_silence_codes() -> None:
    assert g711.ulaw_encode(bytes(320)) == bytes([g711.ULAW_SILENCE]) * 160
    assert g711.alaw_encode(bytes(320)) == bytes([g711.ALAW_SILENCE]) * 160


@pytest.mark.parametrize(
    "fn", [g711.ulaw_encode, g711.alaw_encode, g711.ulaw_decode, g711.alaw_decode]
)
def test_empty_buffers(fn: Callable[[bytes], bytes]) -> None:
    assert fn(b"") == b""


@pytest.mark.parametrize("fn", [g711.ulaw_encode, g711.alaw_encode])
@pytest.mark.parametrize("length", [1, 3, 321])
def test_odd_length_pcm_is_refused(fn: Callable[[bytes], bytes], length: int) -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        fn(bytes(length))


def test_output_is_little_endian() -> None:
    assert g711.alaw_decode(b"\xaa") == b"\x00\x7e"  # 32256 = 0x7E00
    assert g711.ulaw_encode(b"\x00\x80") == b"\x00"  # -32768
    assert g711.ulaw_encode(b"\x80\x00") == bytes([g711.linear_to_ulaw(128)])


@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (g711.linear_to_ulaw, 32768),
        (g711.linear_to_ulaw, -32769),
        (g711.linear_to_alaw, 40000),
        (g711.ulaw_to_linear, 256),
        (g711.ulaw_to_linear, -1),
        (g711.alaw_to_linear, 0x100),
    ],
)
def test_per_sample_functions_refuse_out_of_range(fn: Callable[[int], int], value: int) -> None:
    with pytest.raises(ValueError, match="bit"):
        fn(value)


@pytest.mark.parametrize(
    ("name", "encode", "decode"),
    [
        ("PCMU", g711.ulaw_encode, g711.ulaw_decode),
        ("pcmu", g711.ulaw_encode, g711.ulaw_decode),
        ("PCMA", g711.alaw_encode, g711.alaw_decode),
        ("PcmA", g711.alaw_encode, g711.alaw_decode),
    ],
)
def test_lookup_by_name(
    name: str, encode: Callable[[bytes], bytes], decode: Callable[[bytes], bytes]
) -> None:
    assert g711.encoder_for(name) is encode
    assert g711.decoder_for(name) is decode


@pytest.mark.parametrize("name", ["G729", "", "PCM", "L16"])
def test_lookup_of_unknown_names(name: str) -> None:
    with pytest.raises(KeyError, match="PCMU, PCMA"):
        g711.encoder_for(name)
    with pytest.raises(KeyError, match="PCMU, PCMA"):
        g711.decoder_for(name)


def test_payload_types() -> None:
    assert g711.PAYLOAD_TYPES == {"PCMU": 0, "PCMA": 8}
    assert (g711.ULAW_SILENCE, g711.ALAW_SILENCE) == (0xFF, 0xD5)
