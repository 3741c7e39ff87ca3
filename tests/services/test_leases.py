"""The leases (issue 19): taken free, renewed by their holder, refused while another
holds them, taken over after (and at the instant of) their expiry; two workers asking
at once on one SQLite file never both win."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services import leases
from dialtone.store.db import transaction
from tests.database import migrated_database

T0 = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Case:
    name: str
    before: tuple[tuple[str, float], ...]  # (holder, at) takes that came first, in order
    who: str
    at: float
    ours: bool
    holder: str
    token: int
    expires: float


CASES = [
    Case("free: taken", (), "w1", 0, True, "w1", 1, 15),
    Case("own: renewed, token kept", (("w1", 0),), "w1", 5, True, "w1", 1, 20),
    Case("own after expiry: renewed", (("w1", 0),), "w1", 30, True, "w1", 1, 45),
    Case("held by another: refused", (("w1", 0),), "w2", 5, False, "w1", 1, 15),
    Case("an instant before expiry: refused", (("w1", 0),), "w2", 14.999, False, "w1", 1, 15),
    Case("at the expiry instant: taken over", (("w1", 0),), "w2", 15, True, "w2", 2, 30),
    Case("after expiry: taken over", (("w1", 0),), "w2", 60, True, "w2", 2, 75),
    Case("renewed in time: still refused", (("w1", 0), ("w1", 10)), "w2", 20, False, "w1", 1, 25),
    Case(
        "back to the first holder: new token", (("w1", 0), ("w2", 15)), "w1", 30, True, "w1", 3, 45
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_take(session: Session, case: Case) -> None:
    for holder, at in case.before:
        assert leases.take(session, "leader", holder, now=s(at), duration=LEASE).ours
    got = leases.take(session, "leader", case.who, now=s(case.at), duration=LEASE)
    assert (got.ours, got.holder, got.token) == (case.ours, case.holder, case.token)
    assert got.expires_at == s(case.expires)


def test_leases_are_independent_by_name(session: Session) -> None:
    assert leases.take(session, "leader", "w1", now=T0, duration=LEASE).ours
    assert leases.take(session, leases.heartbeat("w2"), "w2", now=T0, duration=LEASE).ours
    assert not leases.take(session, "leader", "w2", now=T0, duration=LEASE).ours


@pytest.mark.parametrize(
    ("holder", "token", "at", "held"),
    [
        ("w1", 1, 14, True),
        ("w1", 1, 15, False),  # expired: a paused holder is fenced even before a takeover
        ("w1", 2, 5, False),  # another token: replaced (and maybe back again)
        ("w2", 1, 5, False),
    ],
)
def test_holds_fences_a_replaced_or_expired_holder(
    session: Session, holder: str, token: int, at: float, held: bool
) -> None:
    leases.take(session, "leader", "w1", now=T0, duration=LEASE)
    assert leases.holds(session, "leader", holder, token, now=s(at)) is held


def test_giving_up_lets_another_take_at_once_with_a_new_token(session: Session) -> None:
    leases.take(session, "leader", "w1", now=T0, duration=LEASE)
    assert not leases.give_up(session, "leader", "w2")  # not its own
    assert leases.give_up(session, "leader", "w1")
    got = leases.take(session, "leader", "w2", now=s(1), duration=LEASE)
    assert got.ours
    assert got.token == 2
    assert leases.current(session, "leader") == leases.Held("leader", "w2", 2, s(16), ours=False)


def test_a_released_heartbeat_is_gone(session: Session) -> None:
    name = leases.heartbeat("w1")
    leases.take(session, name, "host:1", now=T0, duration=LEASE)
    assert not leases.release(session, name, "host:2")
    assert leases.release(session, name, "host:1")
    assert leases.current(session, name) is None


def test_alive_names_the_unexpired(session: Session) -> None:
    leases.take(session, leases.heartbeat("w1"), "w1", now=T0, duration=LEASE)
    leases.take(session, leases.heartbeat("w2"), "w2", now=s(10), duration=LEASE)
    names = [leases.heartbeat(w) for w in ("w1", "w2", "w3")]
    assert leases.alive(session, names, now=s(20)) == {"worker:w2"}
    assert leases.alive(session, [], now=T0) == set()


def _ask(
    factory: sessionmaker[Session],
    me: str,
    now: datetime,
    start: threading.Barrier,
    won: list[str],
) -> None:
    start.wait()
    with transaction(factory) as session:
        if leases.take(session, "leader", me, now=now, duration=LEASE).ours:
            won.append(me)


def test_two_workers_racing_on_one_file_never_both_win(tmp_path: Path) -> None:
    """Each round, two threads with their own connections ask for the same free (or
    expired) lease at once: exactly one wins, every time."""
    _, factory = migrated_database(tmp_path / "race.db")
    for round_ in range(20):
        now = s(round_ * 100)  # the previous round's lease has expired
        start = threading.Barrier(2)
        won: list[str] = []

        threads = [
            threading.Thread(target=_ask, args=(factory, w, now, start, won)) for w in ("w1", "w2")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, (round_, won)
