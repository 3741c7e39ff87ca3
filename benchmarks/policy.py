"""The terms engine's decisions for one call, timed (issue 5: goal p99 ≤ 100 µs, so the
checks never show in call-setup time).

Each decision runs on realistic, varied inputs (mobile, landline, premium-rate, high-cost
and foreign numbers; an operator deny list of 200 prefixes and an allow list of 50;
NANP and French accounts) one call at a time, timed with ``perf_counter_ns``; the figures
are the median over ``--runs`` runs of each run's p50 and p99 per decision. The
reference measured in the same run is the library floor of V5: ``phonenumbers.parse``
plus ``number_type`` on the same numbers, which the V5 check cannot be faster than.

Every timed number is distinct (the number-type caches never hit): the figures are
those of a first call to each number; ``call_setup_all_checks_numbers_called_before``
repeats ten numbers. The telemarketing account's checks add V12 (do-not-call lists
and the callee's calling hours). One SMS goes through every messaging check (M1,
M3-M7, M11) on five realistic texts, half of them for business plans.

The decisions are timed as the server runs them: with the collector tuned as
``dialtone serve`` tunes it once started (``runtime.heap.tune_collector``: the heap
frozen, a young generation of 10,000). ``--default-gc`` times them under CPython's
default thresholds instead, where a collection lands inside one decision in a few
hundred and shows in the p99.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import phonenumbers

from _proc import python_speed_ms
from dialtone.policy import call_setup, destinations, numbering
from dialtone.policy.checklist import CallIntent, SmsIntent, call_checks, sms_checks, verdict
from dialtone.policy.emergency import EmergencyCaller, emergency_call
from dialtone.policy.messaging import Consent, segments
from dialtone.policy.telemarketing import calling_window, do_not_call
from dialtone.runtime.heap import tune_collector

NUMBERS = [
    "+33612345678",  # FR mobile
    "+33123456789",  # FR landline
    "+33891234567",  # FR premium rate
    "+14155550100",  # US
    "+19005550123",  # US premium rate
    "+447400123456",  # UK mobile
    "+442071838750",  # UK landline
    "+881612345678",  # satellite (high cost)
    "+4930123456",  # DE
    "+81312345678",  # JP
]
DIALED = ["+33612345678", "4155550100", "311", "0", "011442071838750", "911", "201", "411"]


def _distinct(template: str, i: int) -> str:
    return template[:-5] + f"{(i * 7919) % 100000:05d}"


def _operator(rng: random.Random) -> destinations.DestinationSettings:
    denied = tuple(f"+{rng.randint(20, 999)}{rng.randint(0, 9999)}" for _ in range(200))
    allowed = tuple(f"+{rng.randint(20, 999)}{rng.randint(0, 999)}" for _ in range(50))
    return destinations.DestinationSettings(denied_prefixes=denied, allowed_prefixes=allowed)


def _percentiles(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 / 1000, p99 / 1000


def _time(fn: Callable[[int], object], n: int) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for i in range(n):
        start = clock()
        fn(i)
        samples.append(clock() - start)
    return samples


def one_run(n: int, seed: int, *, server_gc: bool = True) -> dict[str, tuple[float, float]]:
    rng = random.Random(seed)
    total = n + min(n, 2000)  # the timed inputs, then the warm-up's
    operator = _operator(rng)
    # Every number distinct (its template's kind, other last digits), so the number-type
    # caches never hit: the figures are a first call's. ``again`` repeats ten numbers.
    numbers = [_distinct(rng.choice(NUMBERS), i) for i in range(total)]
    again = [rng.choice(NUMBERS) for _ in range(total)]
    dialed = [rng.choice(DIALED) for _ in range(total)]
    held = tuple(f"+3312345{i:04d}" for i in range(20))
    base = CallIntent(
        dialed="+33612345678",
        e164="+33612345678",
        is_extension=False,
        country="FR",
        destinations=operator,
        active_calls=0,
        channels=1,
        caller_id=held[3],
        held_numbers=held,
    )
    intents = [
        replace(base, dialed=numbers[i], e164=numbers[i], country=("US", "FR")[i % 2])
        for i in range(total)
    ]

    def floor(i: int) -> object:
        return phonenumbers.number_type(phonenumbers.parse(numbers[i], None))

    now = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)  # a Monday: FR hours are open
    marketer = [
        replace(intents[i], telemarketing=True, now=now, dnc_listed_by=None) for i in range(total)
    ]
    registered = EmergencyCaller("FR", warning_acknowledged=True, caller_number=held[0])

    repeated = [replace(intents[i], dialed=again[i], e164=again[i]) for i in range(total)]

    def full(i: int) -> object:
        return verdict(call_checks(intents[i]))

    def full_again(i: int) -> object:
        return verdict(call_checks(repeated[i]))

    def full_telemarketing(i: int) -> object:
        return verdict(call_checks(marketer[i]))

    texts = [
        "Your appointment is confirmed for Tuesday 10:00. Reply STOP to opt out.",
        "Rappel : votre rendez-vous est confirmé mardi à 10h. Répondez STOP pour arrêter.",
        "Wine tasting at our shop on Friday 18:00, 15% off for members!",
        "Votre code de vérification est 482913. Il expire dans 10 minutes.",
        "Hi! Your parcel 1Z999AA10123456784 is out for delivery today between 9 and 12.",
    ]
    sms = [
        SmsIntent(
            sender=held[0],
            to=numbers[i] if i % 3 else _distinct("+33612345678", i),
            text=texts[i % len(texts)],
            account_country="FR",
            business_plan=bool(i % 2),
            held_numbers=held,
            sender_names=("ACME",),
            consent=Consent(datetime(2026, 1, 1, tzinfo=UTC), marketing=bool(i % 2)),
            marketing=i % 4 == 0,
            opted_out_at=None,
            recipient_local=datetime(2026, 12, 7, 11, 30),
            recipient_of_age=True,
            recipients_last_minute=i % 150,
            used=i % 120,
            limit=100,
            free_plan=i % 5 == 0,
            now=now,
        )
        for i in range(total)
    ]

    cases: dict[str, Callable[[int], object]] = {
        "reference_phonenumbers_parse_type": floor,
        "V2_concurrency": lambda i: call_setup.user_concurrency(i % 2, 1),
        "V5_destination": lambda i: destinations.destination(numbers[i], operator),
        "V6_dialling": lambda i: destinations.dialling(dialed[i], ("US", "FR")[i % 2]),
        "V10_caller_id": lambda i: call_setup.caller_id(held[i % 20], held),
        "V7_emergency": lambda i: emergency_call("112", registered),
        "V12_do_not_call": lambda i: do_not_call(
            ("account", None)[i % 2], telemarketing=True, number=numbers[i]
        ),
        "V12_calling_window": lambda i: calling_window(numbers[i], now),
        "call_setup_all_checks": full,
        "call_setup_all_checks_telemarketing": full_telemarketing,
        "call_setup_all_checks_numbers_called_before": full_again,
        "M1_segments": lambda i: segments(sms[i].text),
        "sms_all_checks": lambda i: verdict(sms_checks(sms[i])),
    }
    if server_gc:
        tune_collector()  # as `dialtone serve` does once started
    results = {}
    for name, fn in cases.items():
        # Warm the interpreter on numbers other than the ones timed (indexes n and up),
        # then empty the caches: every timed number is new to them.
        for i in range(n, n + min(n, 2000)):
            fn(i)
        numbering.cache_clear()
        if name.endswith("called_before"):
            _time(fn, n)  # the point of this one: numbers seen before
        results[name] = _percentiles(_time(fn, n))
    return results


def median_of(runs: Sequence[dict[str, tuple[float, float]]], name: str, k: int) -> float:
    return round(statistics.median(r[name][k] for r in runs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000, help="decisions per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="CPython's default collector thresholds instead of the server's",
    )
    args = parser.parse_args()
    speed_before = python_speed_ms()
    runs = [one_run(args.calls, seed, server_gc=not args.default_gc) for seed in range(args.runs)]
    speed_after = python_speed_ms()
    names = list(runs[0])
    result: dict[str, object] = {
        "benchmark": "policy",
        "calls_per_run": args.calls,
        "collector": "default" if args.default_gc else "server",
    }
    for name in names:
        p50, p99 = median_of(runs, name, 0), median_of(runs, name, 1)
        print(f"{name:36} p50 {p50:8.2f} µs   p99 {p99:8.2f} µs")
        result[f"{name}_p50_us"] = p50
        result[f"{name}_p99_us"] = p99
    full_p99 = median_of(runs, "call_setup_all_checks", 1)
    floor_p99 = median_of(runs, "reference_phonenumbers_parse_type", 1)
    result["goal_p99_us"] = 100
    result["call_setup_p99_ratio_to_goal"] = round(full_p99 / 100, 3)
    result["call_setup_p99_ratio_to_reference"] = round(full_p99 / floor_p99, 3)
    sms_p99 = median_of(runs, "sms_all_checks", 1)
    result["sms_p99_ratio_to_goal"] = round(sms_p99 / 100, 3)
    result["python_speed_ms_before_after"] = [speed_before, speed_after]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
