"""Rate decks: what a minute to a destination costs (TERMS B5, B2).

A deck is a list of rates by E.164 prefix, imported from CSV
(``prefix,destination,rate_per_minute,connect_fee,increment``); a number takes the rate
of its longest matching prefix. Decks are versioned by the moment they take effect: a
call is rated with the version in force when it started. Money is ``Decimal`` throughout;
the price of one call is kept to the ten-thousandth (invoices round their totals).
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from dialtone.rating.increments import Increment

PRICE_QUANTUM = Decimal("0.0001")
MAX_PREFIX_DIGITS = 15  # E.164: a country code and national number of 15 digits at most
_SIXTY = Decimal(60)


@dataclass(frozen=True, slots=True)
class Rate:
    """The price of calls to one prefix: per minute, a connect fee per answered call,
    and the billing increment (B2's 60/60 unless the deck says otherwise)."""

    prefix: str
    destination: str
    per_minute: Decimal
    connect_fee: Decimal = Decimal(0)
    increment: Increment = field(default_factory=Increment)

    def price(self, duration: Decimal) -> Decimal:
        """The price of an answered call of exact ``duration`` seconds: the connect fee
        plus the per-minute rate over the billed seconds (TERMS B2, B5); an unanswered
        call (duration 0) costs nothing."""
        billed = self.increment.billed_seconds(duration)
        if billed == 0:
            return Decimal(0).quantize(PRICE_QUANTUM)
        cost = self.connect_fee + self.per_minute * Decimal(billed) / _SIXTY
        return cost.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class DeckProblem:
    """One bad line of a deck: its line in the file (1 is the header), the column (its
    1-based position and header name; none for a line-wide problem) and why."""

    line: int
    why: str
    column: int | None = None
    name: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column is not None:
            where += (
                f", column {self.column} ({self.name})" if self.name else f", column {self.column}"
            )
        return f"{where}: {self.why}"


class DeckError(ValueError):
    """A rate deck that cannot be used: every problem, each with its line and column."""

    def __init__(self, problems: Sequence[DeckProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


class RateDeck:
    """Rates by prefix, matched longest first. Lookups cost one dict probe per distinct
    prefix length present (a few), whatever the deck's size."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        self.rates: dict[str, Rate] = {}
        for rate in rates:
            if rate.prefix in self.rates:
                raise DeckError([DeckProblem(0, f"prefix {rate.prefix} is listed twice")])
            self.rates[rate.prefix] = rate
        self._lengths = sorted({len(p) for p in self.rates}, reverse=True)

    def __len__(self) -> int:
        return len(self.rates)

    def rate_for(self, e164: str) -> Rate | None:
        """The rate of ``e164`` (``+`` and digits): its longest listed prefix, or None
        when the deck does not cover it."""
        digits = e164[1:] if e164.startswith("+") else e164
        for size in self._lengths:
            if size <= len(digits):
                rate = self.rates.get(digits[:size])
                if rate is not None:
                    return rate
        return None


class _Columns:
    """Where each field of the header is, to name a problem's column as the file has it
    (``rate_per_segment`` in an SMS deck, read as ``rate_per_minute``)."""

    def __init__(self, fieldnames: Sequence[str], original: Sequence[str]) -> None:
        self._at = {name: index for index, name in enumerate(fieldnames, start=1)}
        self.names = dict(zip(fieldnames, original, strict=True))

    def problem(self, line: int, field: str, why: str) -> DeckProblem:
        name = self.names.get(field, field)
        return DeckProblem(line, why, self._at.get(field), name)


def _money(
    text: str, field: str, line: int, columns: _Columns, problems: list[DeckProblem],
    *, required: bool = False,
) -> Decimal:  # fmt: skip
    if not text.strip():
        if required:
            # An empty rate read as zero would make every call to the prefix free.
            problems.append(columns.problem(line, field, "empty; a rate is required"))
        return Decimal(0)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        problems.append(columns.problem(line, field, f"{text!r} is not a number"))
        return Decimal(0)
    if not value.is_finite() or value < 0:
        problems.append(columns.problem(line, field, f"{text!r} must be zero or more"))
    return value


def parse_csv(text: str) -> RateDeck:
    """A deck from CSV with a header naming at least ``prefix``, ``destination`` and
    ``rate_per_minute`` (optional ``connect_fee``, ``increment`` such as ``30/6``); an
    SMS deck names ``rate_per_segment`` instead.
    Prefixes are E.164 digits (a leading ``+`` is accepted); a rate is required, a
    connect fee defaults to 0. Every bad line is reported at once (:class:`DeckError`),
    each with its line in the file and its column (TERMS B5)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    required = {"prefix", "destination", "rate_per_minute"}
    try:
        original = [(name or "").strip() for name in reader.fieldnames or ()]
    except csv.Error as exc:
        raise DeckError([DeckProblem(1, f"not CSV: {exc}")]) from None
    header = set(original)
    fieldnames = list(original)
    if "rate_per_segment" in header and "rate_per_minute" not in header:
        # An SMS deck: its rate is per segment; it is kept in the same field.
        fieldnames = ["rate_per_minute" if n == "rate_per_segment" else n for n in original]
        header = set(fieldnames)
    if not required <= header:
        raise DeckError([DeckProblem(1, f"the header must name {', '.join(sorted(required))}")])
    reader.fieldnames = fieldnames
    columns = _Columns(fieldnames, original)
    problems: list[DeckProblem] = []
    rates: list[Rate] = []
    seen: dict[str, int] = {}
    rows = iter(reader)
    while True:
        try:
            raw = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(DeckProblem(reader.line_num, f"not CSV: {exc}"))
            break
        # The line where the record ends (a quoted field may span lines); blank lines are
        # skipped by the reader and still counted.
        line = reader.line_num
        extra = raw.get(None)
        if extra:
            fields = len(fieldnames) + len(extra)
            problems.append(DeckProblem(line, f"{fields} fields; the header has {len(fieldnames)}"))
            continue
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        prefix = row["prefix"].removeprefix("+")
        if not prefix.isdigit() or len(prefix) > MAX_PREFIX_DIGITS:
            problems.append(
                columns.problem(line, "prefix", f"{row['prefix']!r} is not 1 to 15 digits")
            )
            continue
        if prefix in seen:
            problems.append(
                columns.problem(
                    line, "prefix", f"{prefix} is listed twice (first on line {seen[prefix]})"
                )
            )
            continue
        seen[prefix] = line
        per_minute = _money(
            row["rate_per_minute"], "rate_per_minute", line, columns, problems, required=True
        )
        connect = _money(row.get("connect_fee", ""), "connect_fee", line, columns, problems)
        try:
            increment = Increment.parse(row.get("increment") or "60/60")
        except ValueError as bad:
            problems.append(columns.problem(line, "increment", str(bad)))
            continue
        rates.append(Rate(prefix, row["destination"], per_minute, connect, increment))
    if problems:
        raise DeckError(problems)
    return RateDeck(rates)


@dataclass(frozen=True, slots=True)
class DeckVersion:
    """A deck and the moment it takes effect."""

    effective_from: datetime
    deck: RateDeck


class Tariff:
    """A deck's versions over time: a call is rated with the version in force when it
    started (a price change never re-rates past calls)."""

    def __init__(self, versions: Iterable[DeckVersion]) -> None:
        self.versions = sorted(versions, key=lambda v: v.effective_from)
        self._starts = [v.effective_from for v in self.versions]
        if len(set(self._starts)) != len(self._starts):
            raise ValueError("two versions take effect at the same moment")

    def version_at(self, moment: datetime) -> DeckVersion | None:
        """The version in force at ``moment`` (None before the first)."""
        index = bisect_right(self._starts, moment) - 1
        return self.versions[index] if index >= 0 else None
