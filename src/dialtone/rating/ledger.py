"""Double-entry bookkeeping: every movement of money is a balanced transaction.

A transaction is a set of postings to ledger accounts that sum to zero in each
currency, under an idempotency key: posting the same key again is a no-op when the
postings are the same and an error when they differ (never a second charge). Entries
are append-only; a balance is always the sum of its postings, never a stored figure.

Signs: a positive amount is a debit. A customer's ``receivable`` is what they owe
(positive), their ``credits`` (prepaid communication credits, B4) are a liability
(negative: what the platform owes in service); revenue and tax accounts are credited
(negative).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

MONEY_QUANTUM = Decimal("0.0001")


def receivable(account_id: str) -> str:
    """The ledger account of what a customer owes."""
    return f"customer:{account_id}:receivable"


def credits(account_id: str) -> str:
    """The ledger account of a customer's prepaid communication credits (B4)."""
    return f"customer:{account_id}:credits"


CASH = "platform:cash"
REVENUE_SUBSCRIPTIONS = "revenue:subscriptions"
REVENUE_USAGE = "revenue:usage"
REVENUE_FEES = "revenue:fees"
REVENUE_CREDITS = "revenue:credits"
TAX_PAYABLE = "liability:tax"
SLA_CREDITS = "expense:sla_credits"


class LedgerError(ValueError):
    """A transaction that would break the books (unbalanced, or a key reused)."""


@dataclass(frozen=True, slots=True)
class Posting:
    """One side of a transaction: an amount (debit positive) to a ledger account."""

    account: str
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Transaction:
    """Postings that balance in each currency, under an idempotency ``key``."""

    key: str
    at: datetime
    memo: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if not self.postings:
            raise LedgerError(f"transaction {self.key} has no postings")
        for posting in self.postings:
            if not posting.amount.is_finite():
                raise LedgerError(f"transaction {self.key}: amount {posting.amount}")
            if posting.amount != posting.amount.quantize(MONEY_QUANTUM):
                raise LedgerError(f"transaction {self.key}: more than 4 decimals")
        for currency, total in totals(self.postings).items():
            if total != 0:
                raise LedgerError(f"transaction {self.key} is off by {total} {currency}")

    def same_as(self, other: Transaction) -> bool:
        """Whether ``other`` posts exactly what this one posts (order aside)."""
        return sorted(_key(p) for p in self.postings) == sorted(_key(p) for p in other.postings)


def _key(posting: Posting) -> tuple[str, str, Decimal]:
    return (posting.account, posting.currency, posting.amount)


def totals(postings: Iterable[Posting]) -> dict[str, Decimal]:
    """The sum of ``postings`` in each currency."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        sums[posting.currency] += posting.amount
    return dict(sums)


def transfer(  # noqa: PLR0917 - reads as the journal entry it writes
    key: str, at: datetime, memo: str, debit: str, credit: str, amount: Decimal, currency: str
) -> Transaction:
    """The simplest transaction: ``amount`` from ``credit`` to ``debit``."""
    return Transaction(
        key, at, memo, (Posting(debit, amount, currency), Posting(credit, -amount, currency))
    )


def balances(postings: Iterable[Posting]) -> dict[tuple[str, str], Decimal]:
    """Every (ledger account, currency) balance of ``postings``."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for posting in postings:
        sums[(posting.account, posting.currency)] += posting.amount
    return dict(sums)


class Ledger:
    """An in-memory ledger (the store's table behaves the same): append-only,
    idempotent by key."""

    def __init__(self) -> None:
        self.transactions: dict[str, Transaction] = {}

    def post(self, tx: Transaction) -> bool:
        """Append ``tx``; False when its key was already posted with the same postings.
        A key reused with other postings raises :class:`LedgerError`."""
        done = self.transactions.get(tx.key)
        if done is not None:
            if not done.same_as(tx):
                raise LedgerError(f"key {tx.key} was already posted with other postings")
            return False
        self.transactions[tx.key] = tx
        return True

    def postings(self) -> Sequence[Posting]:
        return [p for tx in self.transactions.values() for p in tx.postings]

    def balance(self, account: str, currency: str) -> Decimal:
        """The balance of one ledger account (debits positive)."""
        return sum(
            (p.amount for p in self.postings() if p.account == account and p.currency == currency),
            Decimal(0),
        )

    def trial_balance(self) -> Mapping[str, Decimal]:
        """The sum of every balance per currency: always zero."""
        return totals(self.postings())
