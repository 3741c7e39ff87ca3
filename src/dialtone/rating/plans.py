"""The catalogue: what a plan includes and costs (TERMS B1, B3, B6, B14, B15, B17).

A plan is data: its periodicity (B6), its price per access and per number by currency,
the minutes it includes per destination zone each period (B1), the zones it makes
unlimited under B3's caller-number conditions, whether usage beyond it is postpaid
(overage at the destination rate, B5) or prepaid (credits only, B4), and the trial (B14)
and SMART (B15) limits. The operator's catalogue is a mapping of plan codes to plans;
:data:`DEFAULT_CATALOGUE` is the one dialtone ships.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

Periodicity = Literal["monthly", "annual", "multi_year"]
OverageMode = Literal["postpaid", "prepaid"]
CURRENCIES = ("EUR", "USD", "GBP")  # B7

# B3: the European Economic Area (the EU's 27, Iceland, Liechtenstein, Norway).
_EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
EEA = frozenset([*_EU.split(), "IS", "LI", "NO"])
# France's numbering plan covers its overseas departments, which have country codes and
# region codes of their own in E.164.
FRENCH_NUMBERING = frozenset(["FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"])
# B3's "Zone 1" as dialtone ships it: France, the EEA, Switzerland and North America.
ZONE_1 = frozenset(EEA | FRENCH_NUMBERING | {"CH", "US", "CA"})

TRIAL_MAX_ACCESSES = 5  # B14
TRIAL_MINUTES_PER_USER = 60  # B14
SMART_CONTACT_CAP = 500  # B15


def _frozen(mapping: Mapping[str, Decimal] | None = None) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Zone:
    """A named set of destination countries (ISO 3166 alpha-2)."""

    name: str
    countries: frozenset[str]


@dataclass(frozen=True, slots=True)
class Option:
    """A paid option (B17): billed from the period after it is taken, per period."""

    code: str
    name: str
    price: Mapping[str, Decimal] = field(default_factory=_frozen)


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan of the catalogue.

    ``included_minutes`` are per access and per period, pooled across the account's
    accesses (B1: they do not roll over). ``unlimited_zones`` are included without limit
    under B3's conditions. ``overage`` says what happens past the plan once the shared
    credits are spent: bill the destination rate (``postpaid``, B5) or refuse the call
    (``prepaid``, B4) — the "Credits vs overage" decision.
    """

    code: str
    name: str
    periodicity: Periodicity = "monthly"
    years: int = 1
    committed: bool = False
    price_per_access: Mapping[str, Decimal] = field(default_factory=_frozen)
    price_per_number: Mapping[str, Decimal] = field(default_factory=_frozen)
    included_minutes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    unlimited_zones: frozenset[str] = frozenset()
    overage: OverageMode = "postpaid"
    trial: bool = False
    smart: bool = False
    sms_included: bool = True

    def __post_init__(self) -> None:
        if self.years < 1:
            raise ValueError("a plan's term is at least one year")
        for prices in (self.price_per_access, self.price_per_number):
            for currency, amount in prices.items():
                if currency not in CURRENCIES or amount < 0:
                    raise ValueError(f"plan {self.code}: bad price {currency} {amount}")

    def access_price(self, currency: str) -> Decimal:
        """The price of one access for one period in ``currency`` (B7's currencies)."""
        try:
            return self.price_per_access[currency]
        except KeyError:
            raise ValueError(f"plan {self.code} has no price in {currency}") from None

    def number_price(self, currency: str) -> Decimal:
        """The price of one number for one period (N9's fee is six months of it)."""
        return self.price_per_number.get(currency, Decimal(0))

    @property
    def months_per_period(self) -> int:
        """Months one invoice covers: 1 for monthly (30 days), 12 per year otherwise."""
        return 1 if self.periodicity == "monthly" else 12 * self.years


ZONES: Mapping[str, Zone] = MappingProxyType({"zone1": Zone("zone1", ZONE_1)})


def _prices(eur: str, usd: str, gbp: str) -> Mapping[str, Decimal]:
    return _frozen({"EUR": Decimal(eur), "USD": Decimal(usd), "GBP": Decimal(gbp)})


DEFAULT_CATALOGUE: Mapping[str, Plan] = MappingProxyType(
    {
        plan.code: plan
        for plan in (
            Plan(
                "essential",
                "Essential (100 minutes to Zone 1, monthly)",
                price_per_access=_prices("19.00", "21.00", "17.00"),
                price_per_number=_prices("3.00", "3.50", "2.50"),
                included_minutes=MappingProxyType({"zone1": 100}),
            ),
            Plan(
                "unlimited",
                "Unlimited Zone 1 (annual commitment)",
                periodicity="annual",
                committed=True,
                price_per_access=_prices("300.00", "330.00", "260.00"),
                price_per_number=_prices("3.00", "3.50", "2.50"),
                unlimited_zones=frozenset({"zone1"}),
            ),
            Plan(
                "prepaid",
                "Prepaid (credits only)",
                price_per_access=_prices("5.00", "6.00", "4.50"),
                price_per_number=_prices("3.00", "3.50", "2.50"),
                overage="prepaid",
            ),
            Plan(
                "smart",
                "SMART pack (500 contacts a month)",
                price_per_access=_prices("9.00", "10.00", "8.00"),
                price_per_number=_prices("3.00", "3.50", "2.50"),
                unlimited_zones=frozenset({"zone1"}),
                smart=True,
            ),
            Plan(
                "trial",
                "Trial",
                price_per_access=_prices("0", "0", "0"),
                included_minutes=MappingProxyType({"zone1": TRIAL_MINUTES_PER_USER}),
                overage="prepaid",
                trial=True,
                sms_included=False,
            ),
        )
    }
)

DEFAULT_OPTIONS: Mapping[str, Option] = MappingProxyType(
    {
        "extra_channel": Option("extra_channel", "Extra simultaneous call", _prices("5", "6", "4")),
        "recording": Option("recording", "Call recording", _prices("4", "5", "3.50")),
    }
)


def zone_of(country: str | None, zones: Mapping[str, Zone] = ZONES) -> str | None:
    """The zone a destination country belongs to (the first listed), or None."""
    if country is None:
        return None
    for zone in zones.values():
        if country in zone.countries:
            return zone.name
    return None
