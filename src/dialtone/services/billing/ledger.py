"""The ledger in the store: balanced transactions appended once per key.

The pure rules (balance per currency, idempotency by key) are
:mod:`dialtone.rating.ledger`'s; this module writes them as rows of ``ledger_entries``
(append-only, triggers refuse UPDATE and DELETE) and derives balances by summing.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.rating.ledger import LedgerError, Posting, Transaction
from dialtone.store.models import LedgerEntry

_E4 = Decimal("0.0001")


def to_e4(amount: Decimal) -> int:
    """An amount as whole ten-thousandths (the ledger's integers sum exactly)."""
    return int(amount.quantize(_E4) * 10000)


def from_e4(value: int) -> Decimal:
    return (Decimal(value) / 10000).quantize(_E4)


def post(session: Session, tx: Transaction) -> bool:
    """Append ``tx`` in the caller's transaction; False when its key is already in the
    books with the same postings (nothing written), LedgerError when with others.

    Two writers (two workers, or two threads of one) posting the same key at once: both
    may read the key as free; the unique (key, line) pair decides, the second's insert
    (after the first's commit: PostgreSQL waits for it, SQLite's single writer too)
    fails. So the insert is made in a savepoint and the key read again on failure: the
    second gets the answer it would have got coming second."""
    done = _posted(session, tx)
    if done is not None:
        return done
    rows = [
        LedgerEntry(
            tx_key=tx.key,
            line_no=number,
            at=tx.at,
            account=posting.account,
            amount_e4=to_e4(posting.amount),
            currency=posting.currency,
            memo=tx.memo,
        )
        for number, posting in enumerate(tx.postings)
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        again = _posted(session, tx)
        if again is None:
            raise
        return again
    return True


def _posted(session: Session, tx: Transaction) -> bool | None:
    """None when ``tx.key`` is not in the books; False when it is with the same postings;
    LedgerError when with others."""
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.tx_key == tx.key).order_by(LedgerEntry.line_no)
    ).all()
    if not rows:
        return None
    done = Transaction(
        tx.key,
        rows[0].at,
        rows[0].memo,
        tuple(Posting(r.account, from_e4(r.amount_e4), r.currency) for r in rows),
    )
    if not done.same_as(tx):
        raise LedgerError(f"key {tx.key} was already posted with other postings")
    return False


def balance(session: Session, account: str, currency: str) -> Decimal:
    """The balance of one ledger account (debits positive), derived from its entries."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_e4), 0)).where(
            LedgerEntry.account == account, LedgerEntry.currency == currency
        )
    )
    return from_e4(int(total or 0))


def trial_balance(session: Session) -> dict[str, Decimal]:
    """The sum of all entries per currency (zero when the books are whole)."""
    rows = session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount_e4)).group_by(LedgerEntry.currency)
    ).all()
    return {currency: from_e4(int(total)) for currency, total in rows}
