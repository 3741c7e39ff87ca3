"""The facts one outgoing SMS is checked against, read from the store: the account's
numbers and sender names (M6), plan (M1, M4, M7), consent and opt-outs (M3), registers
(M3), the recipient's clock (M5), recent recipients (M7), the sender's 10DLC campaign
(M7) and the period's use against a free plan's quota (M11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialtone.policy.checklist import SmsIntent
from dialtone.policy.messaging import Consent
from dialtone.policy.telemarketing import local_time
from dialtone.services.accounts.accounts import get_account
from dialtone.services.billing.subscriptions import current_period, find_subscription, plan_of
from dialtone.services.compliance import dnc
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import (
    PLATFORM_ORIGIN,
    Message,
    SenderName,
    SmsConsent,
    SmsOptOut,
)
from dialtone.store.models import PhoneNumber

BULK_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Quota:
    """A free plan's SMS quota this period (M11): parts used before this message."""

    used: int
    limit: int
    free_plan: bool


def consent_of(session: Session, account_id: str, recipient: str, now: datetime) -> Consent | None:
    """The recipient's standing opt-in at ``now`` (a marketing one if any), or None (M3)."""
    rows = session.scalars(
        select(SmsConsent).where(
            SmsConsent.account_id == account_id,
            SmsConsent.recipient == recipient,
            SmsConsent.given_at <= now,
            (SmsConsent.withdrawn_at.is_(None)) | (SmsConsent.withdrawn_at > now),
        )
    ).all()
    if not rows:
        return None
    best = max(rows, key=lambda r: (r.marketing, r.given_at))
    return Consent(given_at=best.given_at, marketing=best.marketing)


def opted_out_at(session: Session, account_id: str, sender: str, recipient: str) -> datetime | None:
    """When the recipient asked this sender (or all the account's senders) to stop and
    has not opted back in since (M3), or None."""
    return session.scalar(
        select(func.min(SmsOptOut.opted_out_at)).where(
            SmsOptOut.account_id == account_id,
            SmsOptOut.recipient == recipient,
            (SmsOptOut.sender == sender) | SmsOptOut.sender.is_(None),
            SmsOptOut.opted_in_at.is_(None),
        )
    )


def recipients_last_minute(session: Session, account_id: str, recipient: str, now: datetime) -> int:
    """Distinct recipients of the account's messages within the last minute, this one
    included (M7)."""
    recent = set(
        session.scalars(
            select(Message.recipient)
            .where(
                Message.account_id == account_id,
                Message.direction == "outbound",
                Message.origin != PLATFORM_ORIGIN,
                Message.created_at > now - BULK_WINDOW,
            )
            .distinct()
        )
    )
    recent.add(recipient)
    return len(recent)


def quota(session: Session, account_id: str, rules: MessagingRules, now: datetime) -> Quota:
    """Parts sent this billing period against the free plan's quota (M11). Accounts
    without a subscription, or on a paid plan, have no SMS quota."""
    sub = find_subscription(session, account_id)
    if sub is None or not plan_of(sub).trial:
        return Quota(0, 0, free_plan=False)
    start, end = current_period(sub, now)
    used = session.scalar(
        select(func.coalesce(func.sum(Message.segments), 0)).where(
            Message.account_id == account_id,
            Message.direction == "outbound",
            Message.origin != PLATFORM_ORIGIN,
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    return Quota(int(used or 0), rules.free_plan_quota, free_plan=True)


def gather(
    session: Session,
    account_id: str,
    *,
    sender: str,
    to: str,
    text: str,
    marketing: bool,
    rules: MessagingRules,
    now: datetime,
) -> SmsIntent:
    """Everything the SMS checklist needs about one message (raises
    ``account.not_found``)."""
    account = get_account(session, account_id)
    held = numbers.held_numbers(session, account_id)
    names = session.scalars(select(SenderName.name).where(SenderName.account_id == account_id))
    campaign = session.scalar(
        select(PhoneNumber.sms_campaign_id).where(
            PhoneNumber.number == sender, PhoneNumber.account_id == account_id
        )
    )
    used = quota(session, account_id, rules, now)
    business = account.plan in rules.business_plans
    return SmsIntent(
        sender=sender,
        to=to,
        text=text,
        account_country=account.country or rules.default_country,
        business_plan=business,
        held_numbers=held.outbound,
        sender_names=frozenset(names),
        consent=consent_of(session, account_id, to, now),
        marketing=marketing,
        opted_out_at=opted_out_at(session, account_id, sender, to),
        recipient_local=local_time(to, now) if to.startswith("+") else now,
        # No store of recipients' ages exists: a consent is taken to come from an adult.
        recipient_of_age=True,
        # M7 binds business plans only: other accounts are spared the count (it reads every
        # message of the last minute, whose number grows with the rate).
        recipients_last_minute=(
            recipients_last_minute(session, account_id, to, now) if business else 0
        ),
        used=used.used,
        limit=used.limit,
        free_plan=used.free_plan,
        now=now,
        listed_on=dnc.listed_by(session, account_id, to) if to.startswith("+") else None,
        campaign_id=campaign,
        max_parts=rules.max_parts,
        bulk_limit=rules.bulk_recipients,
        suspended_at=account.messaging_suspended_at,
    )
