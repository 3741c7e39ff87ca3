"""The lease keeper (issue 19): one worker alone leads at once; a second waits; the
leader's clean stop hands over at the next round; a leader that cannot renew stops its
duties at its deadline; a paused leader's tenure is invalid before any round runs; a
worker id in use on another host refuses the start, on this host it is taken over."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.startup import StartupError
from dialtone.runtime.workers import LeaseKeeper, Term, adopt_dead_at_start, claim_identity
from dialtone.services import leases
from dialtone.store.db import transaction
from dialtone.store.models import Lease
from tests.database import migrated_database

LEASE, RENEW = 1.5, 0.5


@dataclass
class Recorder:
    """A duty that notes its starts (with their tokens) and stops."""

    name: str = "recorder"
    events: list[str] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)

    async def start(self, term: Term) -> None:
        self.terms.append(term)
        self.events.append(f"start {term.token}")

    async def stop(self) -> None:
        self.events.append("stop")


def _keeper(sessions: sessionmaker[Session], worker: str, duty: Recorder) -> LeaseKeeper:
    return LeaseKeeper(
        sessions=sessions,
        worker_id=worker,
        lease=LEASE,
        renew=RENEW,
        duties=[duty],
        instance=f"host-{worker}:1",
    )


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    return migrated_database(tmp_path / "db.sqlite")[1]


def test_one_leads_the_other_takes_over_at_a_clean_stop(sessions: sessionmaker[Session]) -> None:
    one, two = Recorder(), Recorder()

    async def scenario() -> None:
        first, second = _keeper(sessions, "w1", one), _keeper(sessions, "w2", two)
        await first.begin()
        await second.begin()
        assert (first.leading, second.leading) == (True, False)
        await asyncio.sleep(2 * RENEW)  # rounds: nothing changes
        assert (first.leading, second.leading) == (True, False)
        await first.close()
        await asyncio.sleep(RENEW + 0.1)
        assert second.leading
        await second.close()

    asyncio.run(scenario())
    assert one.events == ["start 1", "stop"]
    assert two.events == ["start 2", "stop"]
    with transaction(sessions) as session:
        leader = leases.current(session, leases.LEADER)
        assert leader is not None
        assert leader.expires_at < datetime.now(UTC)  # given up at the stop
        assert leases.current(session, leases.heartbeat("w1")) is None


def test_a_leader_that_cannot_renew_stops_its_duties_and_another_takes_over(
    sessions: sessionmaker[Session],
) -> None:
    one, two = Recorder(), Recorder()

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        first, second = _keeper(sessions, "w1", one), _keeper(sessions, "w2", two)
        await first.begin()
        await second.begin()

        def unreachable() -> tuple[leases.Held, leases.Held]:
            raise OSError("database unreachable")

        first._take = unreachable  # type: ignore[method-assign]
        cut = loop.time()
        while one.events[-1:] != ["stop"]:
            await asyncio.sleep(0.01)
        stopped = loop.time() - cut
        assert not first.leading
        # The database's lease lasts a renewal longer than the worker's own view.
        while not second.leading:
            await asyncio.sleep(0.01)
        assert loop.time() - cut <= LEASE + 0.6
        await second.close()
        await first.close()
        return stopped

    stopped = asyncio.run(scenario())
    assert stopped <= LEASE - RENEW + 0.5
    assert one.events == ["start 1", "stop"]
    assert two.events == ["start 2", "stop"]


def test_a_paused_leader_s_tenure_ends_before_any_round(sessions: sessionmaker[Session]) -> None:
    duty = Recorder()

    async def scenario() -> None:
        keeper = _keeper(sessions, "w1", duty)
        await keeper.begin()
        [term] = duty.terms
        assert term.valid()
        term.deadline = term.loop.time() - 0.001  # as if the process had slept past it
        assert not term.valid()
        assert not keeper.leading
        await keeper.close()

    asyncio.run(scenario())


def test_a_worker_id_in_use_elsewhere_is_refused_here_it_is_taken_over(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        leases.take(
            session, leases.heartbeat("w1"), "other-host:7", now=now, duration=timedelta(60)
        )
        leases.take(session, leases.heartbeat("w2"), "here:7", now=now, duration=timedelta(60))

    async def scenario() -> None:
        with pytest.raises(StartupError, match="worker_id w1 is in use by other-host:7"):
            await claim_identity(sessions, "w1", lease=LEASE, instance="here:8")
        await claim_identity(sessions, "w2", lease=LEASE, instance="here:8")

    asyncio.run(scenario())
    with transaction(sessions) as session:
        held = leases.current(session, leases.heartbeat("w2"))
    assert held is not None
    assert held.holder == "here:8"


def test_a_restart_waits_for_an_adoption_to_end(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        leases.take(
            session,
            leases.heartbeat("w1"),
            "adopted-by:w2",
            now=datetime.now(UTC),
            duration=timedelta(seconds=0.3),
        )

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await claim_identity(sessions, "w1", lease=LEASE, instance="here:8", poll=0.05)
        return loop.time() - began

    assert 0.2 <= asyncio.run(scenario()) <= 2.0


def _gone_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_workers_found_dead_at_start_are_held_then_let_go(
    sessions: sessionmaker[Session],
) -> None:
    here = socket.gethostname()
    now = datetime.now(UTC)
    beats = {
        "w2": (f"{here}:1", now - timedelta(seconds=1)),  # expired
        "w3": ("other-host:7", now + timedelta(seconds=60)),  # alive elsewhere
        "w4": (f"{here}:{_gone_pid()}", now + timedelta(seconds=60)),  # killed here
        "w5": (f"{here}:{os.getpid()}", now + timedelta(seconds=60)),  # alive here
        "w6": ("adopted-by:w3", now + timedelta(seconds=60)),  # another's adoption
    }
    with transaction(sessions) as session:
        for worker, (holder, until) in beats.items():
            session.add(
                Lease(name=leases.heartbeat(worker), holder=holder, token=1, expires_at=until)
            )
        session.add(Lease(name=leases.LEADER, holder="w4", token=3, expires_at=until))
    dead = adopt_dead_at_start(sessions, "w1", lease=LEASE, instance=f"{here}:{os.getpid()}")
    assert dead.workers == {"w2", "w4"}
    with transaction(sessions) as session:
        held = {w: leases.current(session, leases.heartbeat(w)) for w in ("w2", "w4")}
    assert {w: h.holder for w, h in held.items() if h} == dict.fromkeys(
        ["w2", "w4"], "adopted-by:w1"
    )
    dead.release()
    with transaction(sessions) as session:
        assert leases.current(session, leases.heartbeat("w4")) is None
        assert leases.current(session, leases.heartbeat("w3")) is not None

    duty = Recorder()

    async def scenario() -> bool:
        keeper = _keeper(sessions, "w1", duty)
        keeper.dead = dead.workers
        await keeper.begin()  # w4's lease had a minute to run: taken at once
        leading = keeper.leading
        await keeper.close()
        return leading

    assert asyncio.run(scenario())
    assert duty.events == ["start 4", "stop"]
