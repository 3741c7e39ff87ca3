"""Billing standing at call time (TERMS B10, B4, B14, B15).

- B10: an account suspended for unpaid invoices places no calls (emergency calls are
  checked before, under V7 alone, and still go through).
- B4 with the "Credits vs overage" decision: on a prepaid plan, a call outside the plan
  needs credits; with none left it is refused.
- B14: a trial calls no premium-rate or international numbers, and each user has 60
  minutes.
- B15: the SMART pack reaches at most 500 distinct contacts a month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from dialtone.policy import numbering
from dialtone.policy.decision import ALLOWED, Decision, refuse

TRIAL_MINUTES_PER_USER = 60
SMART_CONTACT_CAP = 500


def standing(billing_suspended_at: datetime | None) -> Decision:
    """B10: refused while the account is suspended for non-payment."""
    if billing_suspended_at is None:
        return ALLOWED
    return refuse(
        "billing.suspended",
        "The account is suspended for unpaid invoices: calls resume once they are paid.",
        suspended_at=billing_suspended_at.isoformat(),
    )


def prepaid_credit(*, prepaid: bool, included: bool, credits: Decimal) -> Decision:
    """B4: a prepaid plan's call outside the plan needs credits left."""
    if not prepaid or included or credits > 0:
        return ALLOWED
    return refuse(
        "billing.no_credit",
        "No prepaid credit is left for a call outside the plan.",
        credits=str(credits),
    )


def trial_call(
    *, trial: bool, international: bool, premium: bool, minutes_used: int,
    minutes: int = TRIAL_MINUTES_PER_USER,
) -> Decision:  # fmt: skip
    """B14: what a trial may not call, and its 60 minutes per user."""
    if not trial:
        return ALLOWED
    if premium or international:
        return refuse(
            "billing.trial_destination",
            "A trial calls no premium-rate or international numbers.",
            premium=premium,
            international=international,
        )
    if minutes_used >= minutes:
        return refuse(
            "billing.trial_minutes",
            f"The trial's {minutes} minutes for this user are used.",
            minutes_used=minutes_used,
            minutes=minutes,
        )
    return ALLOWED


def smart_contact(
    *, smart: bool, known_contact: bool, contacts_this_month: int, cap: int = SMART_CONTACT_CAP
) -> Decision:
    """B15: a new contact beyond the SMART pack's 500 a month is refused (a contact
    already reached this month is not counted again)."""
    if not smart or known_contact or contacts_this_month < cap:
        return ALLOWED
    return refuse(
        "billing.smart_contacts",
        f"The SMART pack reaches at most {cap} distinct contacts a month.",
        contacts=contacts_this_month,
        cap=cap,
    )


@dataclass(frozen=True, slots=True)
class PlanUsage:
    """What B14, B15 and B4 know of a call on a plan that limits calls, as plain facts
    read from the store (``services.billing_checks.plan_usage``): which limits the plan
    has, the calling user's trial minutes this period, the month's distinct contacts and
    whether the number is one of them, whether the plan covers the call (an unlimited
    zone or included minutes left) and the prepaid credits left."""

    trial: bool = False
    smart: bool = False
    prepaid: bool = False
    minutes_used: int = 0
    contacts_this_month: int = 0
    known_contact: bool = False
    included: bool = False
    credits: Decimal = Decimal(0)


def call_limits(usage: PlanUsage, number: str, *, country: str) -> list[tuple[str, str, Decision]]:
    """B14, then B15, then B4 for a call to ``number`` from an account of ``country``,
    each as (check name, rule, decision), only the limits the plan has."""
    out: list[tuple[str, str, Decision]] = []
    if usage.trial:
        trial = trial_call(
            trial=True,
            international=numbering.region_code(number) != country,
            premium=numbering.is_premium_rate(number),
            minutes_used=usage.minutes_used,
        )
        out.append(("trial", "B14", trial))
    if usage.smart:
        contact = smart_contact(
            smart=True,
            known_contact=usage.known_contact,
            contacts_this_month=usage.contacts_this_month,
        )
        out.append(("smart_contacts", "B15", contact))
    if usage.prepaid:
        credit = prepaid_credit(prepaid=True, included=usage.included, credits=usage.credits)
        out.append(("prepaid_credit", "B4", credit))
    return out
