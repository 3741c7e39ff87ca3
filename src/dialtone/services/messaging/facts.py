"""The facts one outgoing SMS is checked against, read from the store: the account's
numbers and sender names (M6), plan (M1, M4, M7), consent and opt-outs (M3), registers
(M3), the recipient's clock (M5), recent recipients (M7), the sender's 10DLC campaign
(M7) and the period's use against a free plan's quota (M11).

One ``Facts`` serves one transaction. It reads each account's facts once and the
recipients' facts for a whole batch of messages in one query per kind (``prefetch``),
then keeps them true as the transaction stores messages (``stored``: the period's use
and the last minute's recipients grow). A single message (the API, the dry run) goes
through the same object with a batch of one, so the dry run and the real send read the
same facts the same way; a batch of SMPP submissions costs a few queries, not a few per
message (issue 15, Figures).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class _Period:
    """A free plan's current period and the parts used in it so far."""

    start: datetime
    end: datetime
    used: int


@dataclass(slots=True)
class _AccountFacts:
    country: str
    business: bool
    held: tuple[str, ...]
    names: frozenset[str]
    campaigns: dict[str, str]  # the account's numbers with a 10DLC campaign (M7)
    suspended_at: datetime | None
    free_plan: bool
    started_at: datetime | None  # the free plan's subscription start, for its periods
    period: _Period | None = None
    # M7, business plans: (when, recipient) of the messages since ``recent_from``.
    recent: list[tuple[datetime, str]] = field(default_factory=list)
    recent_from: datetime | None = None


@dataclass(slots=True)
class _ConsentRow:
    given_at: datetime
    withdrawn_at: datetime | None
    marketing: bool


@dataclass(slots=True)
class _RecipientFacts:
    consents: list[_ConsentRow] = field(default_factory=list)
    # sender (None: every sender of the account) → earliest standing opt-out
    opt_outs: dict[str | None, datetime] = field(default_factory=dict)
    listed_on: str | None = None


class Facts:
    """The SMS checks' facts for the messages of one transaction (see the module)."""

    def __init__(self, session: Session, rules: MessagingRules) -> None:
        self.session = session
        self.rules = rules
        self._accounts: dict[str, _AccountFacts] = {}
        self._recipients: dict[tuple[str, str], _RecipientFacts] = {}

    # -- reading --------------------------------------------------------------------------

    def _account(self, account_id: str) -> _AccountFacts:
        known = self._accounts.get(account_id)
        if known is not None:
            return known
        session = self.session
        account = get_account(session, account_id)
        held = numbers.held_numbers(session, account_id)
        names = session.scalars(select(SenderName.name).where(SenderName.account_id == account_id))
        campaigns = session.execute(
            select(PhoneNumber.number, PhoneNumber.sms_campaign_id).where(
                PhoneNumber.account_id == account_id, PhoneNumber.sms_campaign_id.is_not(None)
            )
        ).all()
        sub = find_subscription(session, account_id)
        free_plan = sub is not None and plan_of(sub).trial
        known = _AccountFacts(
            country=account.country or self.rules.default_country,
            business=account.plan in self.rules.business_plans,
            held=held.outbound,
            names=frozenset(names),
            campaigns={number: campaign for number, campaign in campaigns if campaign},
            suspended_at=account.messaging_suspended_at,
            free_plan=free_plan,
            started_at=sub.started_at if sub is not None and free_plan else None,
        )
        self._accounts[account_id] = known
        return known

    def prefetch(self, account_id: str, recipients: Iterable[str]) -> None:
        """Read the consents, opt-outs and register entries (M3) of ``recipients`` in one
        query each; those already read are skipped."""
        wanted = sorted({r for r in recipients if (account_id, r) not in self._recipients})
        for start in range(0, len(wanted), 500):  # below every engine's parameter limit
            self._read_recipients(account_id, wanted[start : start + 500])

    def _read_recipients(self, account_id: str, recipients: list[str]) -> None:
        if not recipients:
            return
        session = self.session
        found = {r: _RecipientFacts() for r in recipients}
        for row in session.execute(
            select(
                SmsConsent.recipient,
                SmsConsent.given_at,
                SmsConsent.withdrawn_at,
                SmsConsent.marketing,
            ).where(SmsConsent.account_id == account_id, SmsConsent.recipient.in_(recipients))
        ):
            found[row.recipient].consents.append(
                _ConsentRow(row.given_at, row.withdrawn_at, row.marketing)
            )
        for recipient, sender, opted_out_at in session.execute(
            select(SmsOptOut.recipient, SmsOptOut.sender, SmsOptOut.opted_out_at).where(
                SmsOptOut.account_id == account_id,
                SmsOptOut.recipient.in_(recipients),
                SmsOptOut.opted_in_at.is_(None),
            )
        ):
            opt_outs = found[recipient].opt_outs
            earlier = opt_outs.get(sender)
            opt_outs[sender] = opted_out_at if earlier is None else min(earlier, opted_out_at)
        for number, list_name in dnc.lists_of(session, account_id, recipients).items():
            found[number].listed_on = list_name
        for recipient, facts in found.items():
            self._recipients[(account_id, recipient)] = facts

    def _recipient(self, account_id: str, recipient: str) -> _RecipientFacts:
        key = (account_id, recipient)
        if key not in self._recipients:
            self._read_recipients(account_id, [recipient])
        return self._recipients[key]

    def _quota(self, account_id: str, known: _AccountFacts, now: datetime) -> Quota:
        """Parts sent this billing period against the free plan's quota (M11). Accounts
        without a subscription, or on a paid plan, have no SMS quota."""
        if not known.free_plan:
            return Quota(0, 0, free_plan=False)
        period = known.period
        if period is None or not (period.start <= now < period.end):
            sub = find_subscription(self.session, account_id)
            assert sub is not None
            start, end = current_period(sub, now)
            used = self.session.scalar(
                select(func.coalesce(func.sum(Message.segments), 0)).where(
                    Message.account_id == account_id,
                    Message.direction == "outbound",
                    Message.origin != PLATFORM_ORIGIN,
                    Message.created_at >= start,
                    Message.created_at < end,
                )
            )
            period = known.period = _Period(start, end, int(used or 0))
        return Quota(period.used, self.rules.free_plan_quota, free_plan=True)

    def _recipients_last_minute(
        self, account_id: str, known: _AccountFacts, recipient: str, now: datetime
    ) -> int:
        """Distinct recipients of the account's messages within the last minute, this one
        included (M7)."""
        since = now - BULK_WINDOW
        if known.recent_from is None or since < known.recent_from:
            rows = self.session.execute(
                select(Message.created_at, Message.recipient).where(
                    Message.account_id == account_id,
                    Message.direction == "outbound",
                    Message.origin != PLATFORM_ORIGIN,
                    Message.created_at > since,
                )
            ).all()
            known.recent = [(at, to) for at, to in rows]
            known.recent_from = since
        recent = {to for at, to in known.recent if at > since}
        recent.add(recipient)
        return len(recent)

    # -- the intent -----------------------------------------------------------------------

    def intent(
        self,
        account_id: str,
        *,
        sender: str,
        to: str,
        text: str,
        marketing: bool,
        now: datetime,
    ) -> SmsIntent:
        """Everything the SMS checklist needs about one message (raises
        ``account.not_found``)."""
        known = self._account(account_id)
        recipient = self._recipient(account_id, to)
        used = self._quota(account_id, known, now)
        return SmsIntent(
            sender=sender,
            to=to,
            text=text,
            account_country=known.country,
            business_plan=known.business,
            held_numbers=known.held,
            sender_names=known.names,
            consent=_consent(recipient.consents, now),
            marketing=marketing,
            opted_out_at=_opted_out_at(recipient.opt_outs, sender),
            recipient_local=local_time(to, now) if to.startswith("+") else now,
            # No store of recipients' ages exists: a consent is taken to come from an adult.
            recipient_of_age=True,
            # M7 binds business plans only: other accounts are spared the count (it reads
            # every message of the last minute, whose number grows with the rate).
            recipients_last_minute=(
                self._recipients_last_minute(account_id, known, to, now) if known.business else 0
            ),
            used=used.used,
            limit=used.limit,
            free_plan=used.free_plan,
            now=now,
            listed_on=recipient.listed_on if to.startswith("+") else None,
            campaign_id=known.campaigns.get(sender),
            max_parts=self.rules.max_parts,
            bulk_limit=self.rules.bulk_recipients,
            suspended_at=known.suspended_at,
        )

    # -- keeping them true --------------------------------------------------------------

    def stored(self, account_id: str, to: str, segments: int, now: datetime) -> None:
        """A message was stored in this transaction: it counts in the period's use (M11)
        and among the last minute's recipients (M7) for the messages checked after it."""
        known = self._accounts.get(account_id)
        if known is None:
            return
        if known.period is not None and known.period.start <= now < known.period.end:
            known.period.used += segments
        if known.recent_from is not None:
            known.recent.append((now, to))


def _consent(rows: list[_ConsentRow], now: datetime) -> Consent | None:
    """The recipient's standing opt-in at ``now`` (a marketing one if any), or None (M3)."""
    standing = [
        r for r in rows if r.given_at <= now and (r.withdrawn_at is None or r.withdrawn_at > now)
    ]
    if not standing:
        return None
    best = max(standing, key=lambda r: (r.marketing, r.given_at))
    return Consent(given_at=best.given_at, marketing=best.marketing)


def _opted_out_at(opt_outs: dict[str | None, datetime], sender: str) -> datetime | None:
    """When the recipient asked this sender (or all the account's senders) to stop and has
    not opted back in since (M3), or None."""
    times = [at for who, at in opt_outs.items() if who is None or who == sender]
    return min(times, default=None)


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
    """The facts of one message alone (a ``Facts`` for a batch of one)."""
    return Facts(session, rules).intent(
        account_id, sender=sender, to=to, text=text, marketing=marketing, now=now
    )
