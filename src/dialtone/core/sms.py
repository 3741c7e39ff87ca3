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
# code, not a character a text may contain, so it is dropped below.
_GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_BASIC = frozenset(_GSM7_TABLE) - {"\x1b"}
# The extension table's characters (form feed, ^ { } \ [ ~ ] | €), sent as escape + char.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
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


def _pack(costs: list[int], single: int, part: int) -> int:
    """Parts needed: one if everything fits in a single SMS, else parts of ``part``
    units filled in order, a character never split across two parts."""
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


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
        return SmsSegments("GSM-7", sum(gsm), _pack(gsm, GSM7_SINGLE, GSM7_PART))
    if _DOUBLE_UCS2.search(text) is None:
        return SmsSegments("UCS-2", len(text), _arithmetic(len(text), UCS2_SINGLE, UCS2_PART))
    ucs = _ucs2_costs(text)
    return SmsSegments("UCS-2", sum(ucs), _pack(ucs, UCS2_SINGLE, UCS2_PART))


def _arithmetic(units: int, single: int, part: int) -> int:
    return 1 if units <= single else -(-units // part)
