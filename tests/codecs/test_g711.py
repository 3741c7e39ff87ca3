"""G.711 against known vectors (ITU G.191 / Sun g711.c values) and, exhaustively, audioop."""

from __future__ import annotations

import struct
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.codecs import g711

# (16-bit sample, µ-law code, A-law code): values of the reference implementation
# (Sun g711.c, as in ITU G.191 and CPython's audioop), segment by segment.
ENCODE_VECTORS = [
    (0, 0xFF, 0xD5),
    (-1, 0x7E, 0x55),
    (7, 0xFE, 0xD5),
    (8, 0xFE, 0xD5),
    (100, 0xF2, 0xD3),
    (-100, 0x72, 0x53),
    (1000, 0xCE, 0xFA),
    (-1000, 0x4E, 0x7A),
    (32767, 0x80, 0xAA),
    (-32768, 0x00, 0x2A),
]
# (code, decoded sample)
ULAW_DECODE = [(0x00, -32124), (0x80, 32124), (0xFF, 0), (0x7F, 0), (0xF2, 104), (0x7E, -8)]
ALAW_DECODE = [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xD9, 200), (0xFA, 1008)]


@pytest.mark.parametrize(("sample", "ulaw", "alaw"), ENCODE_VECTORS)
def test_encode_known_vectors(sample: int, ulaw: int, alaw: int) -> None:
    assert g711.linear_to_ulaw(sample) == ulaw
    assert g711.linear_to_alaw(sample) == alaw
    pcm = struct.pack("<h", sample)
    assert g711.ulaw_encode(pcm) == bytes([ulaw])
    assert g711.alaw_encode(pcm) == bytes([alaw])


@pytest.mark.parametrize(("code", "sample"), ULAW_DECODE)
def test_ulaw_decode_known_vectors(code: int, sample: int) -> None:
    assert g711.ulaw_to_linear(code) == sample
    assert g711.ulaw_decode(bytes([code])) == struct.pack("<h", sample)


@pytest.mark.parametrize(("code", "sample"), ALAW_DECODE)
def test_alaw_decode_known_vectors(code: int, sample: int) -> None:
    assert g711.alaw_to_linear(code) == sample
    assert g711.alaw_decode(bytes([code])) == struct.pack("<h", sample)


def test_silence_codes() -> None:
    assert g711.ulaw_to_linear(g711.ULAW_SILENCE) == 0
    assert abs(g711.alaw_to_linear(g711.ALAW_SILENCE)) <= 8


def test_exhaustively_equal_to_audioop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # gone in Python 3.13
    every_sample = struct.pack("<65536h", *range(-32768, 32768))
    assert g711.ulaw_encode(every_sample) == audioop.lin2ulaw(every_sample, 2)
    assert g711.alaw_encode(every_sample) == audioop.lin2alaw(every_sample, 2)
    every_code = bytes(range(256))
    assert g711.ulaw_decode(every_code) == audioop.ulaw2lin(every_code, 2)
    assert g711.alaw_decode(every_code) == audioop.alaw2lin(every_code, 2)


@given(st.integers(min_value=-32768, max_value=32767))
def test_round_trip_within_quantisation(sample: int) -> None:
    # The step of the segment a sample falls in bounds the error (1/16 of its magnitude,
    # plus the smallest step near zero).
    bound = abs(sample) // 16 + 16
    assert abs(g711.ulaw_to_linear(g711.linear_to_ulaw(sample)) - sample) <= max(bound, 132)
    assert abs(g711.alaw_to_linear(g711.linear_to_alaw(sample)) - sample) <= max(bound, 16)


def test_buffer_functions_and_lookup() -> None:
    pcm = struct.pack("<4h", 0, 1000, -1000, 32767)
    assert g711.encoder_for("pcmu")(pcm) == bytes([0xFF, 0xCE, 0x4E, 0x80])
    assert g711.encoder_for("PCMA")(pcm) == bytes([0xD5, 0xFA, 0x7A, 0xAA])
    assert len(g711.decoder_for("PCMA")(b"\xd5" * 160)) == 320
    assert g711.PAYLOAD_TYPES == {"PCMU": 0, "PCMA": 8}
    with pytest.raises(KeyError):
        g711.encoder_for("G729")
    with pytest.raises(ValueError, match="even"):
        g711.ulaw_encode(b"\x00")
