"""Files that go with rows: removed once the change that forgets them is committed."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def remove_after_commit(session: Session, path: str | Path) -> None:
    """Delete ``path`` when ``session``'s transaction commits (never if it rolls back):
    a file left behind costs disk space, a row pointing at nothing would be broken."""

    def remove(_: Session) -> None:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            log.exception("file %s not removed", path)

    event.listen(session, "after_commit", remove, once=True)
