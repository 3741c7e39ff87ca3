"""Billing increments: how a call's exact duration becomes billed seconds (TERMS B2).

An increment ``first/next`` bills at least ``first`` seconds for any answered call, then
rounds the rest up to a multiple of ``next``. B2's "every started minute is due" is 60/60,
the default; tariffs or plans may use 30/6 or 1/1 (TERMS "Rounding" decision).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

_INCREMENT = re.compile(r"\s*(\d{1,5})\s*/\s*(\d{1,5})\s*\Z")


@dataclass(frozen=True, slots=True)
class Increment:
    """A ``first/next`` billing increment in whole seconds (both at least 1)."""

    first: int = 60
    next: int = 60

    def __post_init__(self) -> None:
        if self.first < 1 or self.next < 1:
            raise ValueError("billing increments are whole seconds of at least 1")

    @classmethod
    def parse(cls, text: str) -> Increment:
        """Read ``"60/60"``, ``"30/6"`` or ``"1/1"``."""
        m = _INCREMENT.match(text)
        if m is None:
            raise ValueError(f"billing increment must look like '60/60', not {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.first}/{self.next}"

    def billed_seconds(self, duration: Decimal) -> int:
        """Billed seconds for an answered call of exact ``duration`` seconds (TERMS B2).

        Zero (or negative, a clock oddity) bills nothing; any started increment is due:
        with 60/60, 60 s bills 60, 60.001 s and 66 s bill 120.
        """
        if duration <= 0:
            return 0
        if duration <= self.first:
            return self.first
        rest = duration - self.first
        steps = (rest / self.next).to_integral_value(rounding=ROUND_CEILING)
        return self.first + int(steps) * self.next


DEFAULT_INCREMENT = Increment(60, 60)
