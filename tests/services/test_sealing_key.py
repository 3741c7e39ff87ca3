"""The sealing key's fingerprint (issue 19): recorded by the first start, compared by
every later one; a worker with another key is refused, and the fingerprint tells keys
apart without saying anything of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dialtone.services import sealing_key
from dialtone.store.models import PlatformFact
from tests.database import migrated_database

KEY, OTHER = bytes(range(32)), bytes(range(1, 33))


def _stored(session: Session) -> str | None:
    fact = session.get(PlatformFact, sealing_key.FACT)
    return None if fact is None else fact.value


def test_the_first_start_records_the_fingerprint_and_later_ones_compare(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with sessions() as session:
        assert _stored(session) is None
        assert sealing_key.check(session, KEY) == sealing_key.fingerprint(KEY)
    with sessions() as session:
        assert _stored(session) == sealing_key.fingerprint(KEY)
        assert sealing_key.check(session, KEY) == sealing_key.fingerprint(KEY)
    with sessions() as session, pytest.raises(sealing_key.KeyMismatch) as refused:
        sealing_key.check(session, OTHER)
    assert (refused.value.stored, refused.value.ours) == (
        sealing_key.fingerprint(KEY),
        sealing_key.fingerprint(OTHER),
    )
    with sessions() as session:  # the refused key changed nothing
        assert _stored(session) == sealing_key.fingerprint(KEY)


@pytest.mark.parametrize("winner", [KEY, OTHER], ids=["same key", "another key"])
def test_two_first_starts_at_once_one_insert_wins_the_other_compares(
    tmp_path: Path, winner: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two machines' workers starting at once both find no fingerprint; the second's
    insert conflicts, and it compares with the one that won."""
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    real_get = Session.get
    seen: list[bool] = []

    def get_then_lose_the_race(self: Session, *args: object, **kwargs: object) -> object:
        if not seen:  # the first look finds nothing; the other worker inserts just after
            seen.append(True)
            with sessions() as rival:
                sealing_key.check(rival, winner)
            return None
        return real_get(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Session, "get", get_then_lose_the_race)
    with sessions() as session:
        if winner == KEY:
            assert sealing_key.check(session, KEY) == sealing_key.fingerprint(KEY)
        else:
            with pytest.raises(sealing_key.KeyMismatch):
                sealing_key.check(session, KEY)
    monkeypatch.undo()
    with sessions() as session:
        assert _stored(session) == sealing_key.fingerprint(winner)


def test_the_fingerprint_tells_keys_apart_and_is_not_the_key() -> None:
    keys = [os.urandom(32) for _ in range(200)]
    prints = {sealing_key.fingerprint(key) for key in keys}
    assert len(prints) == len(keys)
    assert all(len(p) == 16 and int(p, 16) >= 0 for p in prints)
    assert all(key.hex()[:16] != sealing_key.fingerprint(key) for key in keys)
    assert sealing_key.fingerprint(KEY) == sealing_key.fingerprint(bytes(range(32)))
