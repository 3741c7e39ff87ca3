"""The billing figures of the console's overview (issue 18): the plan's included minutes
used and left this period (B1), prepaid credits (B4), and invoices not yet paid.

Read from the same functions ``GET /v1/billing`` uses (``rating.included_left``,
``rating.credit_balance``): the console shows the API's numbers, not a second sum.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.services.billing import rating, subscriptions
from dialtone.store.models import Invoice


def figures(session: Session, account_id: str, *, now: datetime) -> dict[str, Any]:
    """The plan, its period, included minutes (allowed, left), credits, open invoices.

    Raises ``NotFound`` for an account without a subscription."""
    sub = subscriptions.get_subscription(session, account_id)
    period = subscriptions.current_period(sub, now)
    ctx = rating.context(session, sub)
    left = rating.included_left(session, sub, ctx, period, [None])
    plan = ctx.plan
    allowed = sum(
        minutes * 60 * (1 if plan.trial else sub.accesses)
        for minutes in plan.included_minutes.values()
    )
    seconds_left = sum(left.values())
    open_count, open_total = session.execute(
        select(func.count(Invoice.id), func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.account_id == account_id,
            Invoice.kind == "invoice",
            Invoice.status == "issued",
        )
    ).one()
    return {
        "plan": sub.plan_code,
        "currency": sub.currency,
        "period_start": period[0],
        "period_end": period[1],
        "included_minutes": Decimal(allowed) / 60,
        "used_minutes": (Decimal(max(0, allowed - seconds_left)) / 60).quantize(Decimal("0.1")),
        "left_minutes": (Decimal(seconds_left) / 60).quantize(Decimal("0.1")),
        "credits": rating.credit_balance(session, account_id, sub.currency),
        "open_invoices": int(open_count),
        "open_total": Decimal(open_total).quantize(Decimal("0.01")),
    }
