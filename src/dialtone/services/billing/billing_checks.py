"""Billing checks of an outbound call, from the store (TERMS B4, B14, B15).

The pure decisions are :mod:`dialtone.policy.billing`'s; this module gathers what they
need for one call: the account's plan, the zone of the number and whether the plan
covers it, the credits left (B4, prepaid plans), a trial user's minutes this period and
the number's country (B14), and the month's distinct contacts (B15). Accounts without
a subscription are not billed by dialtone: nothing to check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.policy import billing, numbering
from dialtone.policy.decision import ALLOWED, Decision
from dialtone.rating.plans import zone_of
from dialtone.rating.rater import included_key
from dialtone.services.billing import rating
from dialtone.services.billing.subscriptions import current_period, find_subscription, plan_of
from dialtone.store.models import CallRecord

OUTBOUND = ("outbound",)


def _seconds_used(session: Session, account_id: str, user_id: str | None, since: datetime) -> int:
    query = select(func.coalesce(func.sum(CallRecord.billed_seconds), 0)).where(
        CallRecord.account_id == account_id,
        CallRecord.direction.in_(OUTBOUND),
        CallRecord.started_at >= since,
    )
    if user_id is not None:
        query = query.where(CallRecord.user_id == user_id)
    return int(session.scalar(query) or 0)


def _contacts(session: Session, account_id: str, since: datetime, number: str) -> tuple[int, bool]:
    reached = select(CallRecord.to_number).where(
        CallRecord.account_id == account_id,
        CallRecord.direction.in_(OUTBOUND),
        CallRecord.started_at >= since,
    )
    count = session.scalar(select(func.count()).select_from(reached.distinct().subquery())) or 0
    known = session.scalar(reached.where(CallRecord.to_number == number).limit(1)) is not None
    return count, known


def has_call_limits(session: Session, account_id: str) -> bool:
    """Whether the account's plan limits calls at all (B14 trial, B15 SMART, B4 prepaid):
    the call path skips :func:`outbound_call`'s reads for every other account."""
    sub = find_subscription(session, account_id)
    if sub is None:
        return False
    plan = plan_of(sub)
    return plan.trial or plan.smart or plan.overage == "prepaid"


def plan_usage(
    session: Session, account_id: str, user_id: str | None, e164: str, *, now: datetime
) -> billing.PlanUsage | None:
    """What B14, B15 and B4 need to decide a call from ``user_id`` to ``e164`` at ``now``,
    read for the limits the account's plan has (None: no subscription, or a plan that
    limits no call). The decision is :func:`dialtone.policy.billing.call_limits`'s."""
    sub = find_subscription(session, account_id)
    if sub is None:
        return None
    plan = plan_of(sub)
    prepaid = plan.overage == "prepaid"
    if not (plan.trial or plan.smart or prepaid):
        return None
    period = current_period(sub, max(now, sub.started_at))
    minutes_used = 0
    if plan.trial:
        minutes_used = _seconds_used(session, account_id, user_id, period[0]) // 60
    count, known = 0, False
    if plan.smart:
        month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        count, known = _contacts(session, account_id, month, e164)
    included, credits = False, Decimal(0)
    if prepaid:
        zone = zone_of(numbering.region_code(e164))
        included = zone is not None and zone in plan.unlimited_zones
        if not included and zone is not None:
            key = included_key(plan, zone, user_id)
            if key is not None:
                ctx = rating.context(session, sub)
                left = rating.included_left(session, sub, ctx, period, [user_id])
                included = left.get(key, 0) > 0
        credits = rating.credit_balance(session, account_id, sub.currency)
    return billing.PlanUsage(
        trial=plan.trial,
        smart=plan.smart,
        prepaid=prepaid,
        minutes_used=minutes_used,
        contacts_this_month=count,
        known_contact=known,
        included=included,
        credits=credits,
    )


def outbound_call(
    session: Session, account_id: str, user_id: str | None, e164: str, *, country: str,
    now: datetime,
) -> Decision:  # fmt: skip
    """B14, then B15, then B4 for a call from ``user_id`` to ``e164``: the first refusal
    of :func:`dialtone.policy.billing.call_limits` on :func:`plan_usage`'s facts."""
    usage = plan_usage(session, account_id, user_id, e164, now=now)
    if usage is None:
        return ALLOWED
    for _name, _rule, decision in billing.call_limits(usage, e164, country=country):
        if decision.refused:
            return decision
    return ALLOWED
