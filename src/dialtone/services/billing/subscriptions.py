"""Subscriptions: an account's plan, term, currency and accesses (TERMS B6, B7, B17).

The catalogue is :data:`dialtone.rating.plans.DEFAULT_CATALOGUE`. Accesses, numbers and
options added mid-term are recorded as changes: the next invoice bills an access or a
number pro rata to the next anniversary (B6), an option from the next period (B17).
Under commitment accesses cannot be removed and their count never decreases (B6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.rating import contract
from dialtone.rating.invoice import TAX_RATES
from dialtone.rating.plans import CURRENCIES, DEFAULT_CATALOGUE, DEFAULT_OPTIONS, Plan
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.store.models import Subscription, SubscriptionChange

PAYMENT_METHODS = ("invoice", "card", "sepa_debit")


def plan_of(subscription: Subscription, catalogue: Mapping[str, Plan] = DEFAULT_CATALOGUE) -> Plan:
    """The catalogue's plan of ``subscription``."""
    try:
        return catalogue[subscription.plan_code]
    except KeyError:
        raise DialtoneError(
            "billing.unknown_plan", f"plan {subscription.plan_code} is not in the catalogue"
        ) from None


def subscribe(
    session: Session,
    account_id: str,
    *,
    plan_code: str,
    currency: str,
    country: str,
    now: datetime,
    accesses: int = 1,
    started_at: datetime | None = None,
    payment_method: str = "invoice",
    catalogue: Mapping[str, Plan] = DEFAULT_CATALOGUE,
) -> Subscription:
    """Put ``account_id`` on a plan from ``started_at`` (B6), billed in ``currency``
    with the tax of ``country`` (B7). A trial takes at most 5 accesses (B14)."""
    account = get_account(session, account_id)
    if plan_code not in catalogue:
        raise DialtoneError("billing.unknown_plan", f"plan {plan_code} is not in the catalogue")
    plan = catalogue[plan_code]
    if currency not in CURRENCIES:
        raise DialtoneError(
            "billing.currency", f"currencies are {', '.join(CURRENCIES)}", rule="B7"
        )
    country = country.upper()
    if country not in TAX_RATES:
        raise DialtoneError("billing.country", f"no tax rate is configured for {country}")
    if payment_method not in PAYMENT_METHODS:
        raise DialtoneError("billing.payment_method", f"methods are {', '.join(PAYMENT_METHODS)}")
    if accesses < 1:
        raise DialtoneError("billing.accesses", "a subscription has at least one access")
    if plan.trial and accesses > 5:
        raise DialtoneError("billing.trial_accesses", "a trial has at most 5 accesses", rule="B14")
    plan.access_price(currency)  # refuses a plan without a price in that currency
    if session.scalar(select(Subscription).where(Subscription.account_id == account.id)):
        raise DialtoneError(
            "billing.subscribed", "the account already has a subscription", status=409
        )
    start = started_at or now
    row = Subscription(
        id=new_id("SB"),
        account_id=account.id,
        plan_code=plan_code,
        currency=currency,
        country=country,
        started_at=start,
        accesses=accesses,
        commitment_end=(
            contract.term_end(start, plan.periodicity, plan.years) if plan.committed else None
        ),
        payment_method=payment_method,
        billing_name=account.name,
    )
    session.add(row)
    session.flush()
    return row


def get_subscription(session: Session, account_id: str) -> Subscription:
    """The account's subscription; NotFound when it has none."""
    row = session.scalar(select(Subscription).where(Subscription.account_id == account_id))
    if row is None:
        raise NotFound("subscription.not_found", f"The account {account_id} has no subscription.")
    return row


def find_subscription(session: Session, account_id: str) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.account_id == account_id))


def current_period(subscription: Subscription, at: datetime) -> tuple[datetime, datetime]:
    """The renewal period (B6) that contains ``at``."""
    plan = plan_of(subscription)
    return contract.period_containing(subscription.started_at, plan.periodicity, at, plan.years)


def add(
    session: Session, account_id: str, kind: str, *, now: datetime, code: str = "",
    quantity: int = 1,
) -> SubscriptionChange:  # fmt: skip
    """Add accesses, numbers or an option mid-term (B6, B17); billed on the next
    invoice (pro rata to the anniversary for accesses and numbers, from the next period
    for options)."""
    sub = get_subscription(session, account_id)
    plan = plan_of(sub)
    if kind not in ("access", "number", "option") or quantity < 1:
        raise DialtoneError("billing.change", "add one or more of access, number or option")
    if kind == "option" and code not in DEFAULT_OPTIONS:
        raise DialtoneError("billing.unknown_option", f"options are {', '.join(DEFAULT_OPTIONS)}")
    if kind == "access":
        if plan.trial and sub.accesses + quantity > 5:
            raise DialtoneError(
                "billing.trial_accesses", "a trial has at most 5 accesses", rule="B14"
            )
        sub.accesses += quantity
    change = SubscriptionChange(
        id=new_id("SC"), subscription_id=sub.id, kind=kind, code=code, quantity=quantity, at=now
    )
    session.add(change)
    session.flush()
    return change


def add_fee(
    session: Session, sub: Subscription, what: str, amount: Decimal, *, at: datetime,
    taxable: bool = True, invoice_id: str | None = None,
) -> SubscriptionChange:  # fmt: skip
    """A one-off fee (B8, B12, N9), excluding tax when ``taxable``: a line of the next
    invoice, or, with ``invoice_id``, collected with that invoice's next attempt (B8's
    rejected-debit fee)."""
    fee = SubscriptionChange(
        id=new_id("SC"), subscription_id=sub.id, kind="fee", code=what, quantity=1, at=at,
        amount=amount, taxable=taxable, invoice_id=invoice_id,
    )  # fmt: skip
    session.add(fee)
    session.flush()
    return fee


def remove_accesses(session: Session, account_id: str, quantity: int, *, now: datetime) -> int:
    """Remove accesses: refused under commitment, where committed accesses never
    decrease (B6; deleting a user does not change the bill). Returns the new count."""
    sub = get_subscription(session, account_id)
    committed = sub.commitment_end is not None and now < sub.commitment_end
    wanted = sub.accesses - quantity
    kept = contract.committed_accesses(sub.accesses, wanted, committed)
    if kept != wanted:
        raise DialtoneError(
            "billing.committed_accesses",
            "accesses under commitment cannot be removed before the commitment ends",
            rule="B6",
            details={"accesses": sub.accesses, "commitment_end": str(sub.commitment_end)},
        )
    if kept < 1:
        raise DialtoneError("billing.accesses", "a subscription has at least one access")
    sub.accesses = kept
    return kept
