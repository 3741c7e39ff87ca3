"""An SMS text as the parts sent on the wire, and the concatenation header read back
(TERMS M1, M2).

The parts are the ones ``count_segments`` counts and rating bills: the same encoding,
the same packing rule (``core.sms.part_starts``, an escape or surrogate pair never split
between two parts), so ``len(split.parts) == count_segments(text).segments``.

A long text is concatenated one of two ways (SMPP v3.4):

- ``udh``: each ``short_message`` begins with a user data header (3GPP TS 23.040
  §9.2.3.24.1) and ``esm_class`` has UDHI (0x40). With an 8-bit reference the header is
  ``05 00 03 ref total seq`` (6 octets): 153 septets or 134 octets (67 UCS-2 units)
  are left of 140. With a 16-bit reference (§9.2.3.24.8) it is
  ``06 08 04 ref_hi ref_lo total seq`` (7 octets): 152 septets or 132 octets (66
  units, a unit being two octets).
- ``sar``: the payload alone, and the ``sar_msg_ref_num``, ``sar_total_segments``,
  ``sar_segment_seqnum`` TLVs the caller adds; the SMSC writes the header, so the parts
  are cut to the same sizes as with ``udh``.

``count_segments`` (rules and billing) assumes the 8-bit header, hence 8 is the default.
With ``reference_bits=16`` the parts are one septet (or unit) shorter and a long text can
take more parts than were counted: the sender that chooses it knowingly sends more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dialtone.core.sms import (
    GSM7_PART,
    GSM7_SINGLE,
    UCS2_PART,
    UCS2_SINGLE,
    Encoding,
    count_segments,
    part_starts,
    unit_costs,
)
from dialtone.core.sms_encoding import DATA_CODING_OF, SmsEncodingError, encode_text

Concatenation = Literal["udh", "sar"]
ReferenceBits = Literal[8, 16]

ESM_CLASS_UDHI = 0x40  # esm_class: the short_message begins with a user data header
IE_CONCAT_8 = 0x00  # concatenated short messages, 8-bit reference
IE_CONCAT_16 = 0x08  # concatenated short messages, 16-bit reference
MAX_PARTS = 255  # the header's total is one octet

# Units a part holds under each header (module docstring): the 8-bit ones are core.sms's.
GSM7_PART_16 = 152  # 140 octets less the 7-octet header: 133 octets, 152 whole septets
UCS2_PART_16 = 66  # 140 - 7 = 133 octets, 66 whole UTF-16 units
_PART_UNITS: dict[tuple[Encoding, int], int] = {
    ("GSM-7", 8): GSM7_PART,
    ("GSM-7", 16): GSM7_PART_16,
    ("UCS-2", 8): UCS2_PART,
    ("UCS-2", 16): UCS2_PART_16,
}
_SINGLE_UNITS: dict[Encoding, int] = {"GSM-7": GSM7_SINGLE, "UCS-2": UCS2_SINGLE}


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """Which part of which concatenated message: ``reference`` (the same on every part
    of one message), ``total`` parts, this part's ``sequence`` (1-based), and the width
    of the reference in the header (8 or 16): the one read, or for parts sent with
    ``sar`` the one they were cut for (the TLV itself holds 16 bits)."""

    reference: int
    total: int
    sequence: int
    reference_bits: int = 8


@dataclass(frozen=True, slots=True)
class SmsPart:
    """One ``submit_sm``'s worth: ``short_message`` (header, if any, then payload),
    ``udhi`` (set 0x40 in ``esm_class``), and ``sar`` for the caller's SAR TLVs (None
    with ``udh`` and for a single-part message)."""

    udh: bytes
    payload: bytes
    udhi: bool
    sar: ConcatInfo | None

    @property
    def short_message(self) -> bytes:
        """The octets of SMPP's ``short_message``: the header, then the payload."""
        return self.udh + self.payload


@dataclass(frozen=True, slots=True)
class SplitMessage:
    """A text as sent (TERMS M1): its ``encoding``, SMPP ``data_coding`` (0 GSM 7-bit
    unpacked, 8 UCS-2) and ``parts`` in order."""

    encoding: Encoding
    data_coding: int
    parts: tuple[SmsPart, ...]


def concat_header(info: ConcatInfo) -> bytes:
    """TERMS M1: the user data header of one part (3GPP TS 23.040 §9.2.3.24.1 / .8),
    its length octet first."""
    if info.reference_bits == 16:
        high, low = info.reference >> 8, info.reference & 0xFF
        return bytes((6, IE_CONCAT_16, 4, high, low, info.total, info.sequence))
    return bytes((5, IE_CONCAT_8, 3, info.reference, info.total, info.sequence))


def split_message(
    text: str,
    reference: int,
    *,
    concatenation: Concatenation = "udh",
    reference_bits: ReferenceBits = 8,
) -> SplitMessage:
    """TERMS M1, M2: ``text`` as the parts to send, in ``count_segments``'s encoding and
    (with the default 8-bit reference) exactly its number of parts.

    A text that fits one SMS (160 septets, 70 units) is one part with no header. A
    longer one is cut character by character (an escape or surrogate pair never split),
    each part carrying ``reference``, the total and its 1-based sequence in a header
    (``udh``) or in ``sar`` for the caller's TLVs. ``reference_bits`` sizes the header
    and so the parts (module docstring) and bounds ``reference`` (0–255 or 0–65535).

    Raises ``ValueError`` for a reference out of range, ``SmsEncodingError`` for a text
    that needs more than 255 parts or holds a lone surrogate.
    """
    if reference_bits not in (8, 16):
        raise ValueError(f"a reference is 8 or 16 bits, not {reference_bits}")
    if not 0 <= reference < 1 << reference_bits:
        raise ValueError(f"reference {reference} does not fit {reference_bits} bits")
    if concatenation not in ("udh", "sar"):
        raise ValueError(f"concatenation is 'udh' or 'sar', not {concatenation!r}")
    encoding = count_segments(text).encoding
    costs = unit_costs(text, encoding)
    starts = part_starts(costs, _SINGLE_UNITS[encoding], _PART_UNITS[(encoding, reference_bits)])
    data_coding = DATA_CODING_OF[encoding]
    if len(starts) == 1:
        single = SmsPart(b"", encode_text(text, encoding), udhi=False, sar=None)
        return SplitMessage(encoding, data_coding, (single,))
    total = len(starts)
    if total > MAX_PARTS:
        raise SmsEncodingError(f"the text needs {total} parts; a message has at most {MAX_PARTS}")
    ends = [*starts[1:], len(text)]
    parts: list[SmsPart] = []
    for sequence, (start, end) in enumerate(zip(starts, ends, strict=True), start=1):
        info = ConcatInfo(reference, total, sequence, reference_bits)
        payload = encode_text(text[start:end], encoding)
        if concatenation == "udh":
            parts.append(SmsPart(concat_header(info), payload, udhi=True, sar=None))
        else:
            parts.append(SmsPart(b"", payload, udhi=False, sar=info))
    return SplitMessage(encoding, data_coding, tuple(parts))


def parse_udh(short_message: bytes) -> tuple[ConcatInfo | None, bytes]:
    """TERMS M1: the concatenation information element of a ``short_message`` whose
    ``esm_class`` has UDHI, and the payload after the header.

    Other information elements are skipped. A concatenation element with a total or
    sequence of 0, or a sequence above the total, is ignored (3GPP TS 23.040
    §9.2.3.24.1 says so); when several valid ones are present the last counts.

    Raises ``SmsEncodingError`` when the header or one of its elements runs past the
    octets given.
    """
    if not short_message:
        raise SmsEncodingError("a user data header needs its length octet; the message is empty")
    header_end = 1 + short_message[0]
    if header_end > len(short_message):
        raise SmsEncodingError(
            f"the user data header claims {short_message[0]} octets; "
            f"{len(short_message) - 1} follow"
        )
    found: ConcatInfo | None = None
    position = 1
    while position < header_end:
        if position + 2 > header_end:
            raise SmsEncodingError(f"an information element at {position} is cut short")
        identifier, length = short_message[position], short_message[position + 1]
        start, position = position + 2, position + 2 + length
        if position > header_end:
            raise SmsEncodingError(
                f"information element 0x{identifier:02X} runs past the header's end"
            )
        concat = _concat(identifier, short_message[start:position])
        if concat is not None:
            found = concat
    return found, short_message[header_end:]


def _concat(identifier: int, element: bytes) -> ConcatInfo | None:
    """A valid concatenation element's information, else None (another element, or one
    whose length or values 23.040 says to ignore)."""
    if identifier == IE_CONCAT_8 and len(element) == 3:
        reference, total, sequence, bits = element[0], element[1], element[2], 8
    elif identifier == IE_CONCAT_16 and len(element) == 4:
        reference, total, sequence, bits = (
            (element[0] << 8) | element[1],
            element[2],
            element[3],
            16,
        )
    else:
        return None
    if total == 0 or not 1 <= sequence <= total:
        return None
    return ConcatInfo(reference, total, sequence, bits)
