"""ITU-T G.711 µ-law (PCMU) and A-law (PCMA), as in Sun's g711.c and ITU G.191.

Linear PCM is 16-bit signed little-endian mono. Buffers go through tables built once at
import: decoding is one lookup per byte, encoding one lookup per sample.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable

ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5
PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}

_BIAS = 0x84


def linear_to_ulaw(sample: int) -> int:
    """One 16-bit sample to a µ-law code (G.711 with the 0x84 bias, 14-bit magnitude)."""
    sample >>= 2
    if sample < 0:
        sample = -sample
        mask = 0x7F
    else:
        mask = 0xFF
    sample = min(sample, 8159) + (_BIAS >> 2)
    seg = _ulaw_segment(sample)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((sample >> (seg + 1)) & 0xF)) ^ mask


def _ulaw_segment(value: int) -> int:
    # Segment ends for the 14-bit magnitude used by µ-law.
    for i, end in enumerate((0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)):
        if value <= end:
            return i
    return 8


def ulaw_to_linear(code: int) -> int:
    """One µ-law code to a 16-bit sample."""
    code = ~code & 0xFF
    t = ((code & 0x0F) << 3) + _BIAS
    t <<= (code & 0x70) >> 4
    return (_BIAS - t) if code & 0x80 else (t - _BIAS)


def linear_to_alaw(sample: int) -> int:
    """One 16-bit sample to an A-law code (13-bit magnitude, even bits inverted)."""
    sample >>= 3
    if sample >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        sample = -sample - 1
    seg = _alaw_segment(sample)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (sample >> 1) & 0xF if seg < 2 else (sample >> seg) & 0xF
    return aval ^ mask


def _alaw_segment(value: int) -> int:
    for i, end in enumerate((0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)):
        if value <= end:
            return i
    return 8


def alaw_to_linear(code: int) -> int:
    """One A-law code to a 16-bit sample."""
    code ^= 0x55
    t = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t += 0x108
        t <<= seg - 1
    return t if code & 0x80 else -t


def _decode_table(fn: Callable[[int], int]) -> bytes:
    table = array("h", (fn(code) for code in range(256)))
    if sys.byteorder == "big":
        table.byteswap()
    return table.tobytes()


def _encode_table(fn: Callable[[int], int]) -> bytes:
    # Indexed by the sample as an unsigned 16-bit number.
    return bytes(fn(u - 65536 if u >= 32768 else u) for u in range(65536))


_ULAW_DEC = _decode_table(ulaw_to_linear)
_ALAW_DEC = _decode_table(alaw_to_linear)
_ULAW_ENC = _encode_table(linear_to_ulaw)
_ALAW_ENC = _encode_table(linear_to_alaw)
# For each code, the 2 bytes of its sample: decoding is a join of slices.
_ULAW_PAIRS = tuple(_ULAW_DEC[2 * i : 2 * i + 2] for i in range(256))
_ALAW_PAIRS = tuple(_ALAW_DEC[2 * i : 2 * i + 2] for i in range(256))


def _samples(pcm: bytes) -> array[int]:
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    samples = array("H")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit LE PCM to µ-law bytes."""
    return bytes(map(_ULAW_ENC.__getitem__, _samples(pcm)))


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit LE PCM to A-law bytes."""
    return bytes(map(_ALAW_ENC.__getitem__, _samples(pcm)))


def ulaw_decode(data: bytes) -> bytes:
    """µ-law bytes to 16-bit LE PCM."""
    return b"".join(map(_ULAW_PAIRS.__getitem__, data))


def alaw_decode(data: bytes) -> bytes:
    """A-law bytes to 16-bit LE PCM."""
    return b"".join(map(_ALAW_PAIRS.__getitem__, data))


_ENCODERS: dict[str, Callable[[bytes], bytes]] = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
_DECODERS: dict[str, Callable[[bytes], bytes]] = {"PCMU": ulaw_decode, "PCMA": alaw_decode}


def encoder_for(name: str) -> Callable[[bytes], bytes]:
    """The buffer encoder for ``PCMU`` or ``PCMA`` (case-insensitive); KeyError otherwise."""
    return _ENCODERS[name.upper()]


def decoder_for(name: str) -> Callable[[bytes], bytes]:
    """The buffer decoder for ``PCMU`` or ``PCMA`` (case-insensitive); KeyError otherwise."""
    return _DECODERS[name.upper()]
