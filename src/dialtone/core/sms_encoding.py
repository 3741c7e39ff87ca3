"""SMS text on the wire: GSM 03.38 7-bit and UCS-2 octets, both ways (TERMS M1).

The encoding a text travels in is ``count_segments``'s choice (``core.sms``), and the
GSM 7-bit codes come from its tables, so what is counted, billed and sent agree.

- GSM 7-bit is carried unpacked, one septet per octet, as SMPP's ``data_coding`` 0
  carries it; an extension character is the escape 0x1B then its code.
  ``pack_septets`` / ``unpack_septets`` give the packed form of 3GPP TS 23.038 §6.1.2.1
  (with the fill bits that align septets after a user data header).
- UCS-2 is UTF-16BE: a character outside the BMP travels as a surrogate pair, which
  handsets show as one character. A lone surrogate is no text and is refused.

Everything that cannot be encoded or decoded raises ``SmsEncodingError``.
"""

from __future__ import annotations

from dialtone.core.sms import (
    GSM7_ESCAPE,
    GSM7_EXTENSION_TABLE,
    GSM7_TABLE,
    Encoding,
    count_segments,
)

# SMPP v3.4 §5.2.19 data_coding values this module reads or writes.
DATA_CODING_DEFAULT = 0  # the SMSC default alphabet: GSM 7-bit here
DATA_CODING_IA5 = 1  # IA5 (CCITT T.50), i.e. ASCII
DATA_CODING_LATIN1 = 3  # ISO-8859-1
DATA_CODING_UCS2 = 8  # ISO/IEC 10646 UCS-2, big-endian

DATA_CODING_OF: dict[Encoding, int] = {"GSM-7": DATA_CODING_DEFAULT, "UCS-2": DATA_CODING_UCS2}

_SEPTET_MASK = 0x7F
_MAX_FILL_BITS = 6
_SPACE = " "

_BASIC_CODE: dict[str, int] = {
    char: code for code, char in enumerate(GSM7_TABLE) if code != GSM7_ESCAPE
}
_EXTENSION_CODE: dict[str, int] = {char: code for code, char in GSM7_EXTENSION_TABLE.items()}


class SmsEncodingError(ValueError):
    """A text that cannot travel in the asked encoding, or octets that are not valid
    text in theirs (TERMS M1). The message says what and where."""


def encoding_of(text: str) -> Encoding:
    """TERMS M1: the encoding ``text`` travels in, ``count_segments``'s own choice."""
    return count_segments(text).encoding


def encode_gsm7(text: str) -> bytes:
    """TERMS M1: ``text`` in GSM 03.38 7-bit, unpacked: one septet per octet, an
    extension character as the escape 0x1B then its code (two septets, as counted).

    Raises ``SmsEncodingError`` naming the first character GSM 7-bit has no code for.
    """
    out = bytearray()
    for index, char in enumerate(text):
        code = _BASIC_CODE.get(char)
        if code is not None:
            out.append(code)
            continue
        code = _EXTENSION_CODE.get(char)
        if code is None:
            raise SmsEncodingError(
                f"character {char!r} (U+{ord(char):04X}) at {index} has no GSM 7-bit code"
            )
        out.append(GSM7_ESCAPE)
        out.append(code)
    return bytes(out)


def decode_gsm7(data: bytes) -> str:
    """TERMS M1: GSM 03.38 7-bit text from unpacked septets (one per octet).

    The escape 0x1B reads the next septet from the extension table. A code the
    extension table does not define reads as the default table's character (03.38
    §6.2.1.1: a receiver shows the main table's character); a second escape (reserved
    for a further extension table) reads as a space, as 03.38 asks. A lone escape at
    the very end has nothing to extend and is dropped: it is what a sender that split
    an escape pair across parts leaves, and the text before it is still the text.

    Raises ``SmsEncodingError`` for an octet above 0x7F, which is no septet.
    """
    chars: list[str] = []
    escaped = False
    for index, octet in enumerate(data):
        if octet > _SEPTET_MASK:
            raise SmsEncodingError(f"octet 0x{octet:02X} at {index} is not a GSM 7-bit septet")
        if escaped:
            escaped = False
            if octet == GSM7_ESCAPE:
                chars.append(_SPACE)
            else:
                chars.append(GSM7_EXTENSION_TABLE.get(octet, GSM7_TABLE[octet]))
        elif octet == GSM7_ESCAPE:
            escaped = True
        else:
            chars.append(GSM7_TABLE[octet])
    return "".join(chars)


def _check_fill_bits(fill_bits: int) -> None:
    if not 0 <= fill_bits <= _MAX_FILL_BITS:
        raise SmsEncodingError(f"fill bits must be 0 to {_MAX_FILL_BITS}, not {fill_bits}")


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """TERMS M1: septets (one per octet, as ``encode_gsm7`` gives) packed 8 into 7
    octets, least significant bit first (3GPP TS 23.038 §6.1.2.1.1), after
    ``fill_bits`` zero bits (0 to 6) that align the first septet on a septet boundary
    after a user data header (``udh_fill_bits``).

    The last octet's spare bits are zero; when they are 7 a receiver needs the septet
    count (``unpack_septets``' ``count``) to tell them from an '@'.
    Raises ``SmsEncodingError`` for an octet above 0x7F or fill bits out of range.
    """
    _check_fill_bits(fill_bits)
    out = bytearray()
    accumulator = 0
    bits = fill_bits
    for index, septet in enumerate(septets):
        if septet > _SEPTET_MASK:
            raise SmsEncodingError(f"octet 0x{septet:02X} at {index} is not a septet")
        accumulator |= septet << bits
        bits += 7
        while bits >= 8:
            out.append(accumulator & 0xFF)
            accumulator >>= 8
            bits -= 8
    if bits > 0:
        out.append(accumulator & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """TERMS M1: ``count`` septets (one per octet) from packed 7-bit ``data`` whose
    first ``fill_bits`` bits (0 to 6) are fill; the inverse of ``pack_septets``.

    Raises ``SmsEncodingError`` when ``data`` holds fewer than ``count`` septets after
    the fill, or for a negative count or fill bits out of range.
    """
    _check_fill_bits(fill_bits)
    if count < 0:
        raise SmsEncodingError(f"a septet count cannot be negative ({count})")
    needed = fill_bits + 7 * count
    if needed > 8 * len(data):
        raise SmsEncodingError(
            f"{len(data)} octets hold fewer than {count} septets after {fill_bits} fill bits"
        )
    whole = int.from_bytes(data, "little")
    return bytes((whole >> (fill_bits + 7 * index)) & _SEPTET_MASK for index in range(count))


def udh_fill_bits(udh_octets: int) -> int:
    """TERMS M1: the fill bits packed GSM 7-bit text needs after a user data header of
    ``udh_octets`` octets (its length octet included) to start on a septet boundary
    (3GPP TS 23.040 §9.2.3.24): 1 after the 6-octet concatenation header, 0 after 7."""
    return (7 - (8 * udh_octets) % 7) % 7


def encode_ucs2(text: str) -> bytes:
    """TERMS M1: ``text`` in UCS-2 as UTF-16BE, a character outside the BMP as its
    surrogate pair (two code units, as counted).

    Raises ``SmsEncodingError`` for a lone surrogate, which a Python str can hold but
    no handset can show.
    """
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as error:
        raise SmsEncodingError(
            f"lone surrogate U+{ord(text[error.start]):04X} at {error.start} is not text"
        ) from None


def decode_ucs2(data: bytes) -> str:
    """TERMS M1: text from UCS-2 octets read as UTF-16BE (surrogate pairs joined).

    Raises ``SmsEncodingError`` for an odd number of octets or an unpaired surrogate.
    """
    if len(data) % 2:
        raise SmsEncodingError(f"UCS-2 takes two octets a unit; {len(data)} is odd")
    try:
        return data.decode("utf-16-be")
    except UnicodeDecodeError as error:
        raise SmsEncodingError(
            f"unpaired surrogate at octet {error.start} of the UCS-2 text"
        ) from None


def encode_text(text: str, encoding: Encoding) -> bytes:
    """TERMS M1: ``text`` in ``encoding`` (``encode_gsm7`` or ``encode_ucs2``)."""
    return encode_gsm7(text) if encoding == "GSM-7" else encode_ucs2(text)


def decode_short_message(data_coding: int, data: bytes) -> str:
    """TERMS M1: the text of an inbound SMPP ``short_message`` (or message_payload,
    user data header removed) by its ``data_coding``: 0 GSM 7-bit unpacked, 1 IA5
    (ASCII), 3 Latin-1, 8 UCS-2.

    Raises ``SmsEncodingError`` for any other data coding (binary, classes, national
    tables) or octets that are not valid text in the one given.
    """
    if data_coding == DATA_CODING_DEFAULT:
        return decode_gsm7(data)
    if data_coding == DATA_CODING_IA5:
        try:
            return data.decode("ascii")
        except UnicodeDecodeError as error:
            raise SmsEncodingError(
                f"octet 0x{data[error.start]:02X} at {error.start} is not IA5 (ASCII)"
            ) from None
    if data_coding == DATA_CODING_LATIN1:
        return data.decode("latin-1")
    if data_coding == DATA_CODING_UCS2:
        return decode_ucs2(data)
    raise SmsEncodingError(f"data_coding 0x{data_coding:02X} is not a text encoding we read")
