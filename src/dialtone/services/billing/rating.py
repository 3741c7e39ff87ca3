"""Rating in the store: each outbound call, forward and reported usage event rated once.

A record's usage key (``cdr:<id>``, ``sms:<message id>`` or
``event:<account>:<transaction id>``) is unique in
``rated_lines``, so rating twice — a job run again, two runs at once, a crash between a
rating and its commit — never charges twice (the second insert finds the key). The
buckets are derived, never stored: included seconds left are the plan's minutes for the
period less what this period's lines already drew (B1), credits are the ledger's balance
(B4). Credits drawn are posted to the ledger in the same transaction as the line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.policy import numbering
from dialtone.rating import ledger as books
from dialtone.rating.rater import Buckets, Rater, RatingContext, Usage, included_key
from dialtone.rating.rater import RatedLine as Rated
from dialtone.services.accounts.accounts import get_account
from dialtone.services.billing import ledger, tariffs
from dialtone.services.billing.subscriptions import current_period, find_subscription, plan_of
from dialtone.store.messaging_models import PLATFORM_ORIGIN, Message
from dialtone.store.models import CallRecord, RatedLine, Subscription, UsageEvent

RATED_DIRECTIONS = ("outbound", "forward")


def _facts(destination: str, caller: str | None) -> dict[str, object]:
    """What B3 needs to know of the numbers (this is the layer that may parse them)."""
    e164 = destination if destination.startswith("+") else None
    caller_e164 = caller if caller and caller.startswith("+") else None
    return {
        "destination_country": numbering.region_code(e164) if e164 else None,
        "caller_country": numbering.region_code(caller_e164) if caller_e164 else None,
        "caller_mobile": bool(caller_e164 and numbering.is_mobile(caller_e164)),
    }


def credit_balance(session: Session, account_id: str, currency: str) -> Decimal:
    """Prepaid credits left (B4): the credits liability, as a positive amount."""
    return -ledger.balance(session, books.credits(account_id), currency)


def context(session: Session, sub: Subscription) -> RatingContext:
    """The rating context of a subscription: its plan, tariffs and B3/B16 standing."""
    account = get_account(session, sub.account_id)
    return RatingContext(
        plan=plan_of(sub),
        currency=sub.currency,
        calls=tariffs.tariff(session, "calls", sub.currency),
        sms=tariffs.tariff(session, "sms", sub.currency),
        call_centre=sub.call_centre,
        unlimited_suspended=account.suspended_at is not None
        or account.plan_terminated_at is not None,
        telemarketing_penalty=sub.penalty_since is not None,
    )


def included_left(
    session: Session, sub: Subscription, ctx: RatingContext, period: tuple[datetime, datetime],
    users: Iterable[str | None],
) -> dict[str, int]:  # fmt: skip
    """Included seconds left in ``period`` per bucket key (B1; B14 per user on trials)."""
    plan = ctx.plan
    used = dict(
        session.execute(
            select(RatedLine.bucket_key, func.sum(RatedLine.included))
            .where(
                RatedLine.account_id == sub.account_id,
                RatedLine.started_at >= period[0],
                RatedLine.started_at < period[1],
                RatedLine.bucket_key.is_not(None),
                ~RatedLine.buckets.contains("unlimited"),
            )
            .group_by(RatedLine.bucket_key)
        ).all()
    )
    left: dict[str, int] = {}
    for zone, minutes in plan.included_minutes.items():
        keys = {included_key(plan, zone, u) for u in users} if plan.trial else {zone}
        allowance = minutes * 60 * (1 if plan.trial else sub.accesses)
        for key in keys:
            if key is not None:
                left[key] = max(0, allowance - int(used.get(key) or 0))
    return left


def _pending(session: Session, account_id: str, until: datetime) -> list[Usage]:
    cdr_key = "cdr:" + CallRecord.id
    cdrs = session.execute(
        select(CallRecord)
        .outerjoin(RatedLine, RatedLine.usage_key == cdr_key)
        .where(
            CallRecord.account_id == account_id,
            CallRecord.direction.in_(RATED_DIRECTIONS),
            CallRecord.started_at < until,
            RatedLine.id.is_(None),
        )
        .order_by(CallRecord.started_at, CallRecord.id)
    ).scalars()
    usages = [
        Usage(
            key=f"cdr:{c.id}",
            kind="forward" if c.direction == "forward" else "call",
            started_at=c.started_at,
            destination=c.to_number,
            duration=Decimal(c.duration) if c.answered_at is not None else Decimal(0),
            caller=c.from_number,
            user_id=c.user_id,
            **_facts(c.to_number, c.from_number),  # type: ignore[arg-type]
        )
        for c in cdrs
    ]
    events = session.scalars(
        select(UsageEvent)
        .where(
            UsageEvent.account_id == account_id, UsageEvent.at < until, UsageEvent.rated.is_(False)
        )
        .order_by(UsageEvent.at, UsageEvent.id)
    )
    for e in events:
        e.rated = True
        usages.append(
            Usage(
                key=f"event:{account_id}:{e.transaction_id}",
                kind=e.code,  # type: ignore[arg-type]
                started_at=e.at,
                destination=e.destination,
                duration=Decimal(e.duration),
                segments=e.segments,
                caller=e.caller,
                **_facts(e.destination, e.caller),  # type: ignore[arg-type]
            )
        )
    usages.extend(_pending_messages(session, account_id, until))
    usages.sort(key=lambda u: (u.started_at, u.key))
    return usages


def _pending_messages(session: Session, account_id: str, until: datetime) -> list[Usage]:
    """The account's outgoing SMS not rated yet: every stored message was processed, so
    each is billed by its parts, delivered or not (M2)."""
    sms_key = "sms:" + Message.id
    rows = session.scalars(
        select(Message)
        .outerjoin(RatedLine, RatedLine.usage_key == sms_key)
        .where(
            Message.account_id == account_id,
            Message.direction == "outbound",
            Message.origin != PLATFORM_ORIGIN,
            Message.created_at < until,
            RatedLine.id.is_(None),
        )
        .order_by(Message.created_at, Message.id)
    )
    return [
        Usage(
            key=f"sms:{m.id}",
            kind="sms",
            started_at=m.created_at,
            destination=m.recipient,
            segments=m.segments,
            caller=m.sender if m.sender.startswith("+") else None,
            **_facts(m.recipient, m.sender if m.sender.startswith("+") else None),  # type: ignore[arg-type]
        )
        for m in rows
    ]


def _row(account_id: str, currency: str, line: Rated, now: datetime) -> RatedLine:
    return RatedLine(
        usage_key=line.key,
        account_id=account_id,
        kind=line.kind,
        started_at=line.started_at,
        destination=line.destination,
        destination_name=line.destination_name,
        quantity=line.quantity,
        included=line.included,
        zone=line.zone,
        bucket_key=line.bucket_key,
        currency=currency,
        price=line.price,
        credits=line.credits,
        overage=line.overage,
        penalty=line.penalty,
        buckets="+".join(line.buckets),
        rules=",".join(line.rules),
        rate_prefix=line.rate_prefix,
        tariff_version=line.tariff_version,
        increment=line.increment,
        status=line.status,
        reason=line.reason,
        rated_at=now,
    )


def rate_account(session: Session, account_id: str, *, now: datetime) -> list[RatedLine]:
    """Rate every record of the account not rated yet (up to ``now``), in the order the
    usage happened; returns the new lines. Accounts without a subscription are not
    billed by dialtone and are skipped."""
    sub = find_subscription(session, account_id)
    if sub is None:
        return []
    usages = _pending(session, account_id, now)
    if not usages:
        return []
    ctx = context(session, sub)
    by_period: dict[tuple[datetime, datetime], list[Usage]] = defaultdict(list)
    for usage in usages:
        by_period[current_period(sub, max(usage.started_at, sub.started_at))].append(usage)
    credits = credit_balance(session, account_id, sub.currency)
    rows: list[RatedLine] = []
    for period, batch in sorted(by_period.items()):
        users = {u.user_id for u in batch}
        rater = Rater(ctx, Buckets(included_left(session, sub, ctx, period, users), credits))
        for usage in batch:
            line = rater.rate(usage)
            rows.append(_row(account_id, sub.currency, line, now))
            if line.credits:
                ledger.post(
                    session,
                    books.transfer(
                        f"credits-used:{line.key}", now, f"credits drawn by {line.key}",
                        books.credits(account_id), books.REVENUE_CREDITS, line.credits,
                        sub.currency,
                    ),
                )  # fmt: skip
        credits = rater.buckets.credits
    session.add_all(rows)
    session.flush()
    return rows


def rate_all(session: Session, *, now: datetime) -> int:
    """Rate every subscribed account's pending records (the billing job); the count."""
    return sum(
        len(rate_account(session, account_id, now=now))
        for account_id in session.scalars(select(Subscription.account_id))
    )
