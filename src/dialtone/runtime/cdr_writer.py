"""Group commit for call records: every CDR is committed before its call's BYE is
answered, and CDRs of calls that end together share one transaction (one fsync)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from dialtone.services.telephony import calls as call_service

from .group_commit import GroupCommit

# Work that must commit together with a CDR (e.g. the voicemail message it produced).
AfterCommit = Callable[[Session], None]
Item = tuple[call_service.CallOutcome, AfterCommit | None]


class CdrWriter(GroupCommit[Item]):
    """CDRs, each with the writes that must commit with it (``after``)."""

    what = "CDRs"

    def write_batch(self, session: Session, items: list[Item]) -> None:
        # A batch goes in without per-record checks; when anything in it fails (say a
        # duplicate after a retry), each record is retried alone with them.
        call_service.record_calls(session, [outcome for outcome, _ in items])
        for _, after in items:
            if after is not None:
                after(session)

    def write_one(self, session: Session, item: Item) -> None:
        outcome, after = item
        call_service.record_call(session, outcome)
        if after is not None:
            after(session)

    async def write_cdr(
        self, outcome: call_service.CallOutcome, *, after: AfterCommit | None = None
    ) -> None:
        """Commit one CDR (possibly together with others), and ``after``'s writes in the
        same transaction; raises if it cannot be."""
        await self.write((outcome, after))
