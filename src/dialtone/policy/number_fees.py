"""The fee for deleting a number (TERMS N9).

Deleting a number under a committed subscription costs ``DELETION_FEE_MONTHS`` (6)
months of that number's monthly price. It is free without commitment, while the number
waits for its port-in to complete, and during a trial, whatever the commitment. (N9 also
says deleting a number never deletes a user access, and the reverse: that is the store's
business, not a fee.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

DELETION_FEE_MONTHS = 6

FeeReason = Literal["committed", "no_commitment", "port_pending", "trial"]


@dataclass(frozen=True, slots=True)
class DeletionFee:
    """What deleting a number costs and why (``reason`` names the N9 case that applied)."""

    amount: Decimal
    reason: FeeReason
    rule: str = "N9"


def deletion_fee(
    monthly_price: Decimal,
    *,
    committed: bool,
    trial: bool = False,
    port_pending: bool = False,
    months: int = DELETION_FEE_MONTHS,
) -> DeletionFee:
    """TERMS N9: the fee for deleting a number of ``monthly_price``. The free cases come
    first (a trial, then a port-in not yet completed, then no commitment): they hold
    "with or without commitment", so a committed subscription pays only outside them."""
    if monthly_price < 0:
        raise ValueError("a number's monthly price cannot be negative")
    if trial:
        return DeletionFee(Decimal(0), "trial")
    if port_pending:
        return DeletionFee(Decimal(0), "port_pending")
    if not committed:
        return DeletionFee(Decimal(0), "no_commitment")
    return DeletionFee(monthly_price * months, "committed")
