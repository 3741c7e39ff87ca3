"""SMS segments: how many billed parts a text takes (TERMS M1, M2). Shared by the
messaging checks (policy) and rating, hence in core.

A text travels in GSM 7-bit when every character is in the GSM 03.38 default alphabet
or its extension table, otherwise in UCS-2. One SMS holds 160 septets or 70 UTF-16 code
units; a longer text is sent as concatenated parts of 153 septets or 67 units, the rest
of each part carrying the concatenation header. Every part is billed (M2).

Extension characters cost two septets (the escape, then the character) and characters
outside the Basic Multilingual Plane (emoji) cost two UTF-16 code units (a surrogate
pair). Handsets and SMSCs never split such a pair across two parts, so the parts are
packed character by character: a pair that would straddle a part boundary starts the
next part, and a long text can take one part more than ``ceil(units / 153)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet in code order, 16 per row, so each row can be checked
# against the standard's table. 0x1B is the escape to the extension table: it is a
# code, not a character a text may contain, so it is dropped below. The wire encoding
# (core.sms_encoding) reads the codes from here: one table for counting and sending.
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_ESCAPE = 0x1B
GSM7_BASIC = frozenset(GSM7_TABLE) - {"\x1b"}
# The extension table (03.38 §6.2.1.1) by code: sent as the escape, then the code.
GSM7_EXTENSION_TABLE: dict[int, str] = {
    0x0A: "\f",  # page break
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
GSM7_EXTENSION = frozenset(GSM7_EXTENSION_TABLE.values())
GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION
# One pass each in C: a character outside GSM 7-bit, a character that costs two units.
_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_ALL))) + "]")
_DOUBLE_GSM7 = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
_DOUBLE_UCS2 = re.compile("[\U00010000-\U0010ffff]")

GSM7_SINGLE = 160
GSM7_PART = 153  # 7 septets go to the concatenation header (UDH)
UCS2_SINGLE = 70
UCS2_PART = 67  # 3 code units go to the concatenation header (UDH)

_BMP_LIMIT = 0xFFFF


@dataclass(frozen=True, slots=True)
class SmsSegments:
    """How a text travels: its encoding, its length in that encoding's units (septets
    for GSM-7, UTF-16 code units for UCS-2) and the number of billed parts (M1, M2)."""

    encoding: Encoding
    units: int
    segments: int

    @property
    def parts(self) -> int:
        """The same as ``segments`` (M1 speaks of parts)."""
        return self.segments


def unit_costs(text: str, encoding: Encoding) -> list[int]:
    """Units each character of ``text`` takes in ``encoding`` (TERMS M1): septets for
    GSM-7 (two for an extension character), UTF-16 code units for UCS-2 (two for a
    character outside the BMP). Raises ``ValueError`` for a character GSM-7 cannot
    carry."""
    if encoding == "GSM-7":
        costs = _gsm7_costs(text)
        if costs is None:
            raise ValueError("the text has a character outside the GSM 7-bit alphabet")
        return costs
    return _ucs2_costs(text)


def part_starts(costs: list[int], single: int, part: int) -> list[int]:
    """TERMS M1: the index of the character each part begins with. One part (``[0]``)
    when everything fits in a single SMS of ``single`` units, else parts of ``part``
    units filled in order, a character never split across two parts. The one packing
    rule behind the count (``count_segments``) and the parts sent (``sms_parts``)."""
    if sum(costs) <= single:
        return [0]
    starts, used = [0], 0
    for index, cost in enumerate(costs):
        if used + cost > part:
            starts.append(index)
            used = 0
        used += cost
    return starts


def _gsm7_costs(text: str) -> list[int] | None:
    """Septets per character, or None when a character has no GSM 7-bit code."""
    costs: list[int] = []
    for char in text:
        if char in GSM7_BASIC:
            costs.append(1)
        elif char in GSM7_EXTENSION:
            costs.append(2)
        else:
            return None
    return costs


def _ucs2_costs(text: str) -> list[int]:
    # A lone surrogate (possible in a Python str) is one code unit, like any BMP char.
    return [2 if ord(char) > _BMP_LIMIT else 1 for char in text]


def count_segments(text: str) -> SmsSegments:
    """TERMS M1: the encoding, units and billed parts of ``text``.

    GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
    table (extension characters count two septets); otherwise UCS-2, in UTF-16 code
    units (an emoji counts two). One part up to 160 septets / 70 units, beyond that
    parts of 153 / 67 with no escape or surrogate pair split between two parts. Every
    part is billed (M2); an empty text is still one part of 0 units.
    """
    # Fast path, for the call-time checks: without a two-unit character no pair can
    # straddle a boundary, so the count is arithmetic (regexes run in C).
    if _NOT_GSM7.search(text) is None:
        doubles = len(_DOUBLE_GSM7.findall(text))
        if not doubles:
            return SmsSegments("GSM-7", len(text), _arithmetic(len(text), GSM7_SINGLE, GSM7_PART))
        gsm = _gsm7_costs(text)
        assert gsm is not None
        return SmsSegments("GSM-7", sum(gsm), len(part_starts(gsm, GSM7_SINGLE, GSM7_PART)))
    if _DOUBLE_UCS2.search(text) is None:
        return SmsSegments("UCS-2", len(text), _arithmetic(len(text), UCS2_SINGLE, UCS2_PART))
    ucs = _ucs2_costs(text)
    return SmsSegments("UCS-2", sum(ucs), len(part_starts(ucs, UCS2_SINGLE, UCS2_PART)))


def _arithmetic(units: int, single: int, part: int) -> int:
    return 1 if units <= single else -(-units // part)
