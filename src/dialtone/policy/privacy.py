"""How long end users' IP addresses stay in error logs (TERMS D4).

Error logs keep end-user IP addresses at most 14 days, and only the 100 most recent
errors. Both are settings with those values as defaults; an operator may keep less,
never more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

ERROR_LOG_DAYS = 14
ERROR_LOG_ENTRIES = 100


def error_log_cutoff(now: datetime, *, days: int = ERROR_LOG_DAYS) -> datetime:
    """Errors logged before this moment are deleted (TERMS D4: at most ``days`` days)."""
    if not 0 < days <= ERROR_LOG_DAYS:
        raise ValueError(f"error logs keep IP addresses 1 to {ERROR_LOG_DAYS} days (TERMS D4)")
    return now - timedelta(days=days)


def entries_to_keep(entries: int = ERROR_LOG_ENTRIES) -> int:
    """How many of the most recent errors an error log keeps (TERMS D4: 100 at most)."""
    if not 0 < entries <= ERROR_LOG_ENTRIES:
        raise ValueError(f"error logs keep 1 to {ERROR_LOG_ENTRIES} errors (TERMS D4)")
    return entries
