"""How long records are kept after an agreement ends (TERMS V15).

Call detail records and customer records are kept at least one calendar year after the
agreement ends; only then may an account's data be purged. The year is a setting (at
least one; an operator may keep longer, never shorter).
"""

from __future__ import annotations

from datetime import datetime

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.lifecycle import add_months

DEFAULT_RETENTION_YEARS = 1


def retention_ends(closed_at: datetime, *, years: int = DEFAULT_RETENTION_YEARS) -> datetime:
    """When the records of an agreement that ended at ``closed_at`` may go: ``years``
    calendar years later (29 February ends on 28 February)."""
    if years < DEFAULT_RETENTION_YEARS:
        raise ValueError("records are kept at least one calendar year (TERMS V15)")
    return add_months(closed_at, 12 * years)


def purge(
    closed_at: datetime | None, now: datetime, *, years: int = DEFAULT_RETENTION_YEARS
) -> Decision:
    """May an account's records (CDRs, users, numbers' history, voicemail, recordings)
    be deleted at ``now``? Never while the agreement runs (``retention.account_open``);
    not before the retention ends (``retention.hold``)."""
    if closed_at is None:
        return refuse(
            "retention.account_open",
            "the agreement has not ended: close the account first, its records are then "
            f"kept {years} calendar year(s)",
        )
    ends = retention_ends(closed_at, years=years)
    if now < ends:
        return refuse(
            "retention.hold",
            f"records are kept until {ends.isoformat()}, {years} calendar year(s) after the "
            "agreement ended",
            retained_until=ends.isoformat(),
        )
    return ALLOWED
