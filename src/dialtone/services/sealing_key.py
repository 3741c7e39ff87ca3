"""The sealing key's fingerprint in the database (issue 19).

Every worker seals recordings, documents and trunk passwords with one key
(``recording_key``, else the data dir's generated key file). Workers on several
machines are each given it; one given another key would seal what the others cannot
open, and fail to open what they sealed. The first worker to start records a
fingerprint of its key (an HMAC of a fixed text: it tells keys apart and says nothing
of the key); every later start compares its own and is refused on a difference.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.store.models import PlatformFact

FACT = "sealing_key_fingerprint"
_CONTEXT = b"dialtone: which key seals this platform's files (v1)"


def fingerprint(key: bytes) -> str:
    """What tells one sealing key from another: 16 hex digits of an HMAC-SHA-256."""
    return hmac.new(key, _CONTEXT, hashlib.sha256).hexdigest()[:16]


class KeyMismatch(Exception):
    """This worker's sealing key is not the one the database's files were sealed with."""

    def __init__(self, stored: str, ours: str) -> None:
        super().__init__(stored, ours)
        self.stored, self.ours = stored, ours

    def __str__(self) -> str:
        return (
            f"this worker's sealing key (fingerprint {self.ours}) is not the one this "
            f"database's recordings and trunk passwords are sealed with (fingerprint "
            f"{self.stored}): give every worker the same recording_key "
            "(DIALTONE_RECORDING_KEY), or start it on the data dir whose key file made them"
        )


def check(session: Session, key: bytes) -> str:
    """Record ``key``'s fingerprint if the database has none yet, else raise
    :class:`KeyMismatch` when it differs. Two workers recording at once: one insert
    wins, the other reads the winner's and compares. Returns the fingerprint."""
    ours = fingerprint(key)
    stored = session.get(PlatformFact, FACT)
    if stored is None:
        session.add(PlatformFact(name=FACT, value=ours))
        try:
            session.commit()
            return ours
        except IntegrityError:
            session.rollback()
            stored = session.get(PlatformFact, FACT)
            assert stored is not None  # the insert that won is committed
    if not hmac.compare_digest(stored.value, ours):
        raise KeyMismatch(stored.value, ours)
    return ours
