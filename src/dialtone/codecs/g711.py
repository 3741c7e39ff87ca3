"""ITU-T G.711 µ-law (PCMU) and A-law (PCMA), bit-exact with ITU G.191, Sun's g711.c and
CPython's ``audioop``.

Linear PCM is 16-bit signed little-endian mono. The per-sample functions are the reference
algorithms; the buffer functions go through tables built from them once at import.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable

ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5
PAYLOAD_TYPES: dict[str, int] = {"PCMU": 0, "PCMA": 8}

_INT16_MIN = -32768
_INT16_MAX = 32767

# µ-law works on a 14-bit magnitude with a bias of 33 added (0x84 at 16-bit scale), so that
# every segment end is a power of two minus one.
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159
_ULAW_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
# A-law works on a 13-bit magnitude without a bias.
_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _check_sample(sample: int) -> None:
    if not _INT16_MIN <= sample <= _INT16_MAX:
        raise ValueError(f"sample {sample} is not a 16-bit signed value")


def _check_code(code: int) -> None:
    if not 0 <= code <= 0xFF:
        raise ValueError(f"code {code} is not an 8-bit value")


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for seg, end in enumerate(ends):
        if value <= end:
            return seg
    return len(ends)


def linear_to_ulaw(sample: int) -> int:
    """Encode one 16-bit signed sample as a µ-law code (0..255).

    Raises ValueError if ``sample`` is outside -32768..32767.
    """
    _check_sample(sample)
    # The arithmetic shift rounds negative values away from zero, which is why -1 encodes
    # as 0x7E and not as the code of +1; the reference does the same.
    value = sample >> 2
    if value < 0:
        value = -value
        mask = 0x7F
    else:
        mask = 0xFF
    value = min(value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(value, _ULAW_SEG_END)
    if seg >= len(_ULAW_SEG_END):
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0x0F)) ^ mask


def ulaw_to_linear(code: int) -> int:
    """Decode one µ-law code (0..255) to a 16-bit signed sample.

    Raises ValueError if ``code`` is outside 0..255.
    """
    _check_code(code)
    # Codes are sent complemented so that silence (0xFF) has many one bits.
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    return _ULAW_BIAS - magnitude if code & 0x80 else magnitude - _ULAW_BIAS


def linear_to_alaw(sample: int) -> int:
    """Encode one 16-bit signed sample as an A-law code (0..255).

    Raises ValueError if ``sample`` is outside -32768..32767.
    """
    _check_sample(sample)
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        # One's complement: -1 lands on magnitude 0, so the two signs are symmetric.
        value = -value - 1
    seg = _segment(value, _ALAW_SEG_END)
    if seg >= len(_ALAW_SEG_END):
        return 0x7F ^ mask
    mantissa = (value >> 1) if seg < 2 else (value >> seg)
    return ((seg << 4) | (mantissa & 0x0F)) ^ mask


def alaw_to_linear(code: int) -> int:
    """Decode one A-law code (0..255) to a 16-bit signed sample.

    Raises ValueError if ``code`` is outside 0..255.
    """
    _check_code(code)
    # Even bits are sent inverted (0x55) to keep enough transitions on the line.
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        magnitude += 8
    else:
        # Segment 1 has the same step as segment 0 but the implicit leading one bit.
        magnitude = (magnitude + 0x108) << (seg - 1)
    return magnitude if code & 0x80 else -magnitude


def _decode_tables(fn: Callable[[int], int]) -> tuple[bytes, bytes]:
    """For every code, the low byte and the high byte of its little-endian sample."""
    samples = [fn(code) & 0xFFFF for code in range(256)]
    return bytes(s & 0xFF for s in samples), bytes(s >> 8 for s in samples)


def _encode_table(fn: Callable[[int], int], ignored_bits: int) -> bytes:
    """The code of every sample, indexed by the sample read as an unsigned 16-bit number.

    The encoders shift away the low ``ignored_bits`` first, so one call per run of
    2**ignored_bits samples is enough; the strided copies fill in the rest. This keeps the
    import fast.
    """
    run = 1 << ignored_bits
    codes = bytes(fn(u - 0x10000 if u > _INT16_MAX else u) for u in range(0, 0x10000, run))
    table = bytearray(0x10000)
    for low in range(run):
        table[low::run] = codes
    return bytes(table)


_ULAW_ENC = _encode_table(linear_to_ulaw, 2)
_ALAW_ENC = _encode_table(linear_to_alaw, 3)
_ULAW_DEC_LO, _ULAW_DEC_HI = _decode_tables(ulaw_to_linear)
_ALAW_DEC_LO, _ALAW_DEC_HI = _decode_tables(alaw_to_linear)


def _unsigned_samples(pcm: bytes) -> array[int]:
    if len(pcm) % 2:
        raise ValueError(
            f"16-bit PCM must have an even number of bytes, got {len(pcm)} "
            "(a truncated or 8-bit buffer?)"
        )
    samples = array("H")
    samples.frombytes(pcm)
    # array reads native order; the wire format is little-endian.
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _encode(pcm: bytes, table: bytes) -> bytes:
    # One C-level lookup per sample; no Python bytecode runs inside the loop.
    return bytes(map(table.__getitem__, _unsigned_samples(pcm)))


def _decode(data: bytes, low: bytes, high: bytes) -> bytes:
    # Two bytes.translate passes and two strided copies: all in C, and independent of the
    # machine's byte order because the output bytes are placed explicitly.
    out = bytearray(2 * len(data))
    out[0::2] = data.translate(low)
    out[1::2] = data.translate(high)
    return bytes(out)


def ulaw_encode(pcm: bytes) -> bytes:
    """Encode 16-bit signed little-endian PCM as µ-law, one byte a sample.

    Raises ValueError if ``pcm`` has an odd number of bytes.
    """
    return _encode(pcm, _ULAW_ENC)


def ulaw_decode(data: bytes) -> bytes:
    """Decode µ-law bytes to 16-bit signed little-endian PCM."""
    return _decode(data, _ULAW_DEC_LO, _ULAW_DEC_HI)


def alaw_encode(pcm: bytes) -> bytes:
    """Encode 16-bit signed little-endian PCM as A-law, one byte a sample.

    Raises ValueError if ``pcm`` has an odd number of bytes.
    """
    return _encode(pcm, _ALAW_ENC)


def alaw_decode(data: bytes) -> bytes:
    """Decode A-law bytes to 16-bit signed little-endian PCM."""
    return _decode(data, _ALAW_DEC_LO, _ALAW_DEC_HI)


_ENCODERS: dict[str, Callable[[bytes], bytes]] = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
_DECODERS: dict[str, Callable[[bytes], bytes]] = {"PCMU": ulaw_decode, "PCMA": alaw_decode}


def encoder_for(name: str) -> Callable[[bytes], bytes]:
    """The buffer encoder for the SDP encoding name ``PCMU`` or ``PCMA`` (any case).

    Raises KeyError for any other name.
    """
    try:
        return _ENCODERS[name.upper()]
    except KeyError:
        raise KeyError(f"no G.711 encoder for {name!r}; known: PCMU, PCMA") from None


def decoder_for(name: str) -> Callable[[bytes], bytes]:
    """The buffer decoder for the SDP encoding name ``PCMU`` or ``PCMA`` (any case).

    Raises KeyError for any other name.
    """
    try:
        return _DECODERS[name.upper()]
    except KeyError:
        raise KeyError(f"no G.711 decoder for {name!r}; known: PCMU, PCMA") from None
