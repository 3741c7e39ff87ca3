"""Usage records as Twilio's Usage resource shows them (issue 16), from rating's lines.

Each rated call, forward and message (B1-B5, V4, B16: ``rated_lines``) counts in its
period by when it started: ``calls`` (calls and forwards: count, minutes of billed
seconds, price), ``sms`` (messages, segments, price), ``totalprice`` (the two prices)
and ``phonenumbers`` (the numbers held at the period's end; their rental is on the
invoice, not here: price 0). A price is the rated price of what the plan did not
include, credits and B16 penalty counted: what the usage cost, as Twilio's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.store.models import PhoneNumber, RatedLine, Subscription

CATEGORIES = ("calls", "sms", "phonenumbers", "totalprice")
GRANULARITIES = ("all", "daily", "monthly", "yearly")
_DESCRIPTIONS = {
    "calls": "Voice minutes (calls and forwards)",
    "sms": "SMS messages",
    "phonenumbers": "Phone numbers held",
    "totalprice": "Total price",
}


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One category's usage over one period (``end`` included)."""

    category: str
    start: date
    end: date
    count: Decimal
    count_unit: str
    usage: Decimal
    usage_unit: str
    price: Decimal
    price_unit: str | None

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self.category]


def periods(start: date, end: date, granularity: str) -> Iterator[tuple[date, date]]:
    """The periods of ``granularity`` from ``start`` to ``end`` (both included), cut to
    the range."""
    if granularity == "all":
        yield start, end
        return
    day = start
    while day <= end:
        if granularity == "daily":
            last = day
        elif granularity == "monthly":
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        else:
            last = date(day.year, 12, 31)
        last = min(last, end)
        yield day, last
        day = last + timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def records(
    session: Session,
    account_id: str,
    *,
    start: date,
    end: date,
    granularity: str,
    category: str | None = None,
) -> list[UsageRecord]:
    """The account's usage from ``start`` to ``end`` (UTC days, both included), one
    record per period and category (``category`` alone when given), oldest first."""
    lines = session.execute(
        select(RatedLine.kind, RatedLine.started_at, RatedLine.quantity, RatedLine.price)
        .add_columns(RatedLine.penalty, RatedLine.currency)
        .where(
            RatedLine.account_id == account_id,
            RatedLine.started_at >= _midnight(start),
            RatedLine.started_at < _midnight(end + timedelta(days=1)),
        )
    ).all()
    currency = next((line.currency for line in lines), None) or session.scalar(
        select(Subscription.currency).where(Subscription.account_id == account_id)
    )
    spans = list(periods(start, end, granularity))
    totals: dict[tuple[int, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), Decimal(0)]
    )
    for line in lines:
        day = line.started_at.astimezone(UTC).date()
        index = next(i for i, (first, last) in enumerate(spans) if first <= day <= last)
        kind = "sms" if line.kind == "sms" else "calls"
        cost = Decimal(line.price) + Decimal(line.penalty)
        bucket = totals[(index, kind)]
        bucket[0] += 1
        bucket[1] += line.quantity
        bucket[2] += cost
    found = []
    wanted = (category,) if category else CATEGORIES
    for index, (first, last) in enumerate(spans):
        calls, sms = totals[(index, "calls")], totals[(index, "sms")]
        held = session.scalar(
            select(func.count())
            .select_from(PhoneNumber)
            .where(
                PhoneNumber.account_id == account_id,
                PhoneNumber.created_at < _midnight(last + timedelta(days=1)),
            )
        )
        total = calls[2] + sms[2]
        minutes = (calls[1] + 59) // 60
        by_category = {
            "calls": (calls[0], "calls", minutes, "minutes", calls[2]),
            "sms": (sms[0], "messages", sms[1], "segments", sms[2]),
            "phonenumbers": (
                Decimal(held or 0),
                "phonenumbers",
                Decimal(held or 0),
                "phonenumbers",
                Decimal(0),
            ),
            "totalprice": (total, currency or "", total, currency or "", total),
        }
        for name in wanted:
            count, count_unit, usage, usage_unit, price = by_category[name]
            found.append(
                UsageRecord(
                    name, first, last, count, count_unit, usage, usage_unit, price, currency
                )
            )
    return found
