"""Rating's pure path (issue 6: goal ≥ 1,000,000 CDRs/min on one core with a
50,000-prefix deck).

Two paths are timed on the same CDRs: the whole rater (``Rater.rate``: the tariff
version by date, the longest prefix, the B2 increment, B3 unlimited zones, B1 included
minutes, B4 credits, B5 overage, each key once) on the essential plan with included
minutes and credits running out during the run — the goal's figure — and the match and
price alone. The deck holds 50,000 random prefixes of 2 to 8 digits; the CDRs are random
E.164 numbers and durations (a tenth unanswered), half of them to Zone 1 countries. The
reference measured in the same run is the increment arithmetic alone
(``Increment.billed_seconds`` on the same durations), which every rating does whatever
the deck. Figures are medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from _proc import python_speed_ms
from dialtone.rating.increments import Increment
from dialtone.rating.plans import DEFAULT_CATALOGUE
from dialtone.rating.rater import Buckets, Rater, RatingContext, Usage
from dialtone.rating.tariffs import DeckVersion, Rate, RateDeck, Tariff

T0 = datetime(2026, 1, 1, tzinfo=UTC)

GOAL_PER_MINUTE = 1_000_000


def _deck(rng: random.Random, size: int) -> RateDeck:
    prefixes: set[str] = set()
    while len(prefixes) < size:
        prefixes.add(
            str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=rng.randint(1, 7)))
        )
    return RateDeck(
        Rate(p, f"dest-{p}", Decimal(rng.randint(1, 500)) / 1000, Decimal(0), Increment())
        for p in prefixes
    )


def one_run(n: int, seed: int) -> tuple[float, float, float]:
    """(CDRs through the whole rater per minute, matched and priced per minute,
    reference increments per minute)."""
    rng = random.Random(seed)
    deck = _deck(rng, 50_000)
    numbers = [
        "+" + str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=10)) for _ in range(n)
    ]
    durations = [
        Decimal(0) if rng.random() < 0.1 else Decimal(rng.randint(1, 1800)) / 10 for _ in range(n)
    ]
    usages = [
        Usage(
            key=f"cdr:{i}", kind="call", started_at=T0, destination=number, duration=duration,
            destination_country=rng.choice(("FR", "DE", "CH", "JP", "BR", "US")),
            caller_country="FR", user_id="u",
        )
        for i, (number, duration) in enumerate(zip(numbers, durations, strict=True))
    ]  # fmt: skip
    ctx = RatingContext(DEFAULT_CATALOGUE["essential"], "EUR", Tariff([DeckVersion(T0, deck)]))
    rater = Rater(ctx, Buckets({"zone1": 100 * 60 * 50}, Decimal("500")))
    start = time.process_time()
    for usage in usages:
        rater.rate(usage)
    whole = time.process_time() - start
    start = time.process_time()
    for number, duration in zip(numbers, durations, strict=True):
        rate = deck.rate_for(number)
        if rate is not None:
            rate.price(duration)
    rated = time.process_time() - start
    increment = Increment()
    start = time.process_time()
    for duration in durations:
        increment.billed_seconds(duration)
    reference = time.process_time() - start
    return n / whole * 60, n / rated * 60, n / reference * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cdrs", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args, _ = parser.parse_known_args()
    speed_before = python_speed_ms()
    runs = [one_run(args.cdrs, seed) for seed in range(args.runs)]
    speed_after = python_speed_ms()
    whole = statistics.median(r[0] for r in runs)
    rated = statistics.median(r[1] for r in runs)
    reference = statistics.median(r[2] for r in runs)
    print(f"rater      {whole:12,.0f} CDRs/min on one core (goal {GOAL_PER_MINUTE:,})")
    print(f"match+price{rated:12,.0f} CDRs/min")
    print(f"reference  {reference:12,.0f} increments/min (billed seconds alone)")
    print(
        json.dumps(
            {
                "benchmark": "rating",
                "cdrs_per_run": args.cdrs,
                "deck_prefixes": 50_000,
                "cdrs_per_minute": round(whole),
                "match_and_price_per_minute": round(rated),
                "reference_increments_per_minute": round(reference),
                "ratio_to_reference": round(whole / reference, 3),
                "ratio_to_goal": round(whole / GOAL_PER_MINUTE, 3),
                "python_speed_ms_before_after": [speed_before, speed_after],
            }
        )
    )


if __name__ == "__main__":
    main()
