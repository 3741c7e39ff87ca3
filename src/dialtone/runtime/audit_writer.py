"""Group commit for the audit log: a refusal is on record before it is answered."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dialtone.services.accounts import audit
from dialtone.services.accounts.audit import AuditEntry

from .group_commit import GroupCommit


class AuditWriter(GroupCommit[AuditEntry]):
    """Audit entries (TERMS: every refusal and enforcement action is recorded)."""

    what = "audit entries"

    def write_batch(self, session: Session, items: list[AuditEntry]) -> None:
        audit.record(session, items)

    def write_one(self, session: Session, item: AuditEntry) -> None:
        audit.record(session, [item])
