"""Rating: what one call, forward or message costs, and which bucket pays for it.

Order of the buckets (TERMS B1, B3, B4, B5, V4, B16):

1. A call to a zone the plan makes unlimited, when B3's caller-number conditions hold
   (an EEA destination needs an EEA caller number, Switzerland a Swiss one; a mobile
   number outside the French numbering plan carries national traffic only; never for
   call centres or telecom professionals, never while the unlimited plan is suspended
   or ended for abuse): included, free.
2. The plan's included minutes for the destination's zone, this period (B1, no
   rollover): as many billed seconds as are left.
3. The rest is priced at the destination's rate (B5; forwards to outside numbers always
   are, V4) and drawn from the account's shared prepaid credits (B4, they roll over).
4. What credits do not cover is overage, billed on the next invoice (postpaid plans).
5. An account penalised under B16 pays 0.08 per billed minute on top, whatever bucket
   paid the call.

The rater is pure and keeps its buckets in memory: the service builds them from the
store (included seconds left this period, the credit balance from the ledger) and
persists each :class:`RatedLine` under its usage key, unique, so a record is rated once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Literal

from dialtone.rating.increments import Increment
from dialtone.rating.plans import EEA, FRENCH_NUMBERING, ZONES, Plan, Zone, zone_of
from dialtone.rating.tariffs import PRICE_QUANTUM, Tariff

UsageKind = Literal["call", "forward", "sms"]
TELEMARKETING_PENALTY = Decimal("0.08")  # B16, per minute
_ZERO = Decimal(0).quantize(PRICE_QUANTUM)
_SIXTY = Decimal(60)
# France's overseas departments are outermost regions of the EU: their numbers are EEA
# numbers for B3.
_EEA_NUMBERING = EEA | FRENCH_NUMBERING


@dataclass(frozen=True, slots=True)
class Usage:
    """One record to rate. ``key`` is its idempotency key (a CDR id, a message id, a
    client's transaction id). The countries and the caller's mobility are facts the
    service looks up from the numbers (this package parses no numbers)."""

    key: str
    kind: UsageKind
    started_at: datetime
    destination: str
    duration: Decimal = Decimal(0)
    segments: int = 0
    caller: str | None = None
    destination_country: str | None = None
    caller_country: str | None = None
    caller_mobile: bool = False
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class RatingContext:
    """What rating an account's usage depends on besides the usage itself."""

    plan: Plan
    currency: str
    calls: Tariff
    sms: Tariff | None = None
    zones: Mapping[str, Zone] = field(default_factory=lambda: ZONES)
    call_centre: bool = False  # B3: unlimited plans exclude call centres
    unlimited_suspended: bool = False  # F5/B16: the unlimited plan suspended or ended
    telemarketing_penalty: bool = False  # B16
    penalty_per_minute: Decimal = TELEMARKETING_PENALTY
    increment: Increment | None = None  # the account's own increment, over the deck's


@dataclass(slots=True)
class Buckets:
    """What is left to draw on: included seconds by bucket key, and credits."""

    included_seconds: dict[str, int] = field(default_factory=dict)
    credits: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class RatedLine:
    """A rated record: what it cost, which buckets paid, and the tariff version used.

    ``quantity`` is billed seconds (calls, forwards) or segments (SMS); ``included`` the
    part the plan covered; ``price`` the price of the rest at the destination rate,
    split into ``credits`` drawn and ``overage`` billed; ``penalty`` is B16's. A line
    with ``status="unrated"`` had no rate for its destination: it is kept, with
    ``reason``, for the operator to price, never dropped.
    """

    key: str
    kind: UsageKind
    started_at: datetime
    destination: str
    quantity: int
    included: int
    price: Decimal
    credits: Decimal
    overage: Decimal
    penalty: Decimal
    buckets: tuple[str, ...]
    rules: tuple[str, ...]
    zone: str | None = None
    bucket_key: str | None = None
    rate_prefix: str | None = None
    destination_name: str | None = None
    tariff_version: datetime | None = None
    increment: str | None = None
    status: Literal["rated", "unrated"] = "rated"
    reason: str | None = None

    @property
    def charge(self) -> Decimal:
        """What the next invoice carries for this record (overage and penalty)."""
        return self.overage + self.penalty


def included_key(plan: Plan, zone: str | None, user_id: str | None) -> str | None:
    """The bucket of included minutes a call draws on: the zone's, shared by the
    account (B1); on a trial, each user's own 60 minutes (B14)."""
    if zone is None or zone not in plan.included_minutes:
        return None
    if plan.trial:
        return f"{zone}:user:{user_id or '-'}"
    return zone


def unlimited_applies(usage: Usage, ctx: RatingContext, zone: str | None) -> bool:
    """B3: whether a call to ``zone`` is included in an unlimited plan."""
    if zone is None or zone not in ctx.plan.unlimited_zones:
        return False
    if ctx.call_centre or ctx.unlimited_suspended or usage.kind != "call":
        return False
    dest, caller = usage.destination_country, usage.caller_country
    if usage.caller_mobile and caller not in FRENCH_NUMBERING and dest != caller:
        return False  # a foreign mobile number carries national interpersonal traffic only
    if dest == "CH":
        return caller == "CH"
    if dest in _EEA_NUMBERING:
        return caller in _EEA_NUMBERING
    return True


def _minutes(seconds: int) -> int:
    return int((Decimal(seconds) / _SIXTY).to_integral_value(rounding=ROUND_CEILING))


class Rater:
    """Rates records against one account's context and buckets, each key once."""

    def __init__(self, ctx: RatingContext, buckets: Buckets | None = None) -> None:
        self.ctx = ctx
        self.buckets = buckets or Buckets()
        self.rated: dict[str, RatedLine] = {}

    def rate(self, usage: Usage) -> RatedLine:
        """Rate ``usage``; a key already rated returns its line and draws nothing again."""
        done = self.rated.get(usage.key)
        if done is not None:
            return done
        line = self._sms(usage) if usage.kind == "sms" else self._call(usage)
        self.rated[usage.key] = line
        return line

    def _unrated(self, usage: Usage, quantity: int, reason: str) -> RatedLine:
        return RatedLine(
            usage.key, usage.kind, usage.started_at, usage.destination, quantity, 0,
            _ZERO, _ZERO, _ZERO, _ZERO, (), ("B5",), status="unrated", reason=reason,
        )  # fmt: skip

    def _draw(self, price: Decimal) -> tuple[Decimal, Decimal]:
        """Split a price into credits drawn (B4) and overage (B5)."""
        drawn = min(price, max(self.buckets.credits, Decimal(0)))
        self.buckets.credits -= drawn
        return drawn, price - drawn

    def _call(self, usage: Usage) -> RatedLine:
        ctx = self.ctx
        version = ctx.calls.version_at(usage.started_at)
        rate = version.deck.rate_for(usage.destination) if version else None
        increment = ctx.increment or (rate.increment if rate else Increment())
        billed = increment.billed_seconds(usage.duration)
        zone = zone_of(usage.destination_country, ctx.zones)
        buckets: list[str] = []
        rules: list[str] = ["B2"]
        included = 0
        key: str | None = None
        if billed and usage.kind == "call" and unlimited_applies(usage, ctx, zone):
            included = billed
            buckets.append("unlimited")
            rules.append("B3")
        elif billed and usage.kind == "call":
            key = included_key(ctx.plan, zone, usage.user_id)
            if key is not None:
                left = self.buckets.included_seconds.get(key, 0)
                included = min(left, billed)
                if included:
                    self.buckets.included_seconds[key] = left - included
                    buckets.append("included")
                    rules.append("B1")
        rest = billed - included
        if rest and rate is None:
            return self._unrated(usage, billed, "rating.no_rate")
        price = _ZERO
        if rest and rate is not None:
            connect = rate.connect_fee if included == 0 else Decimal(0)
            price = (connect + rate.per_minute * Decimal(rest) / _SIXTY).quantize(
                PRICE_QUANTUM, rounding=ROUND_HALF_UP
            )
            rules.append("V4" if usage.kind == "forward" else "B5")
        credits, overage = self._draw(price)
        if credits:
            buckets.append("credits")
            rules.append("B4")
        if overage:
            buckets.append("overage")
        penalty = _ZERO
        if ctx.telemarketing_penalty and billed:
            penalty = (ctx.penalty_per_minute * _minutes(billed)).quantize(PRICE_QUANTUM)
            rules.append("B16")
        return RatedLine(
            usage.key, usage.kind, usage.started_at, usage.destination, billed, included,
            price, credits, overage, penalty, tuple(buckets), tuple(rules), zone=zone,
            bucket_key=key if included else None,
            rate_prefix=rate.prefix if rate else None,
            destination_name=rate.destination if rate else None,
            tariff_version=version.effective_from if version and rate else None,
            increment=str(increment),
        )  # fmt: skip

    def _sms(self, usage: Usage) -> RatedLine:
        tariff = self.ctx.sms
        version = tariff.version_at(usage.started_at) if tariff else None
        rate = version.deck.rate_for(usage.destination) if version else None
        if rate is None:
            return self._unrated(usage, usage.segments, "rating.no_sms_rate")
        # An SMS deck's rate is per segment (the column is named per minute in the model).
        price = (rate.per_minute * usage.segments).quantize(PRICE_QUANTUM, ROUND_HALF_UP)
        credits, overage = self._draw(price)
        buckets = tuple(b for b, v in (("credits", credits), ("overage", overage)) if v)
        return RatedLine(
            usage.key, "sms", usage.started_at, usage.destination, usage.segments, 0,
            price, credits, overage, _ZERO, buckets, ("B4", "B5") if credits else ("B5",),
            zone=zone_of(usage.destination_country, self.ctx.zones),
            rate_prefix=rate.prefix, destination_name=rate.destination,
            tariff_version=version.effective_from if version else None,
        )  # fmt: skip
