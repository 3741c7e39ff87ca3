"""Several workers on one database (issue 19): this worker's identity, the leader lease
and the duties only the leader runs.

- **Identity.** At start a worker claims its heartbeat lease (``worker:<id>``, held by
  this process: host name and pid). A live process elsewhere with the same id makes the
  start fail; one on this host is dead (the data dir lock proves it) and is replaced; a
  worker whose leftovers another is adopting waits until that is done.
- **The leader.** :class:`LeaseKeeper` renews the heartbeat and asks for the ``leader``
  lease every ``renew`` seconds. Gaining it starts the duties in order (each runs the
  recovery a start used to: the SMS queue put back, the trunks registered); failing to
  renew it before ``lease - renew`` seconds after the last success (on this process's
  monotonic clock), or seeing another hold it, stops them at once. A follower that is
  refused tries again at the holder's expiry, so a dead leader is replaced within the
  lease.
- **Fencing.** A leader paused past its lease (a stopped VM, a long GC) must not send
  what its successor sends: :class:`Term` says whether this tenure is still valid
  (the monotonic deadline, checked before each batch and each part sent) and its token
  lets a duty check, in the transaction of its own write, that it still holds the lease
  (``services.leases.holds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services import leases
from dialtone.store.db import transaction
from dialtone.store.models import Lease

from .sealing import Recovered, recover
from .startup import StartupError

log = logging.getLogger("dialtone.workers")

ADOPTER = "adopted-by:"


def instance_name() -> str:
    """This process among all: its host name and pid (the heartbeat's holder)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _host(instance: str) -> str:
    return instance.rsplit(":", 1)[0]


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def claim_identity(
    sessions: sessionmaker[Session],
    worker_id: str,
    *,
    lease: float,
    instance: str | None = None,
    wallclock: Clock = _utc_now,
    poll: float = 0.5,
) -> None:
    """Take this worker's heartbeat before anything else touches shared state: refused
    (a :class:`StartupError`) when a live process on another host has the same worker
    id; waits while another worker adopts this one's leftovers (at most ``lease``)."""
    me = instance or instance_name()
    loop = asyncio.get_running_loop()
    name = leases.heartbeat(worker_id)
    duration = timedelta(seconds=lease)
    waited = 0.0

    def attempt() -> leases.Held:
        with transaction(sessions) as session:
            held = leases.take(session, name, me, now=wallclock(), duration=duration)
            if not held.ours and _host(held.holder) == _host(me):
                # The same worker id on this host: the data dir lock (taken first) proves
                # that process gone, however recently it renewed.
                leases.release(session, name, held.holder)
                held = leases.take(session, name, me, now=wallclock(), duration=duration)
            return held

    while True:
        held = await loop.run_in_executor(None, attempt)
        if held.ours:
            return
        if not held.holder.startswith(ADOPTER):
            raise StartupError(
                f"worker_id {worker_id} is in use by {held.holder} (its heartbeat lasts until "
                f"{held.expires_at:%H:%M:%S} UTC): give this worker another DIALTONE_WORKER_ID"
            )
        if waited == 0.0:
            log.info("waiting for %s to finish adopting this worker's leftovers", held.holder)
        if waited > lease + poll:
            raise StartupError(f"worker_id {worker_id}: still held by {held.holder}")
        await asyncio.sleep(poll)
        waited += poll


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def holder_gone(holder: str, *, me: str) -> bool:
    """Whether the process named by a heartbeat's ``holder`` (``host:pid``) is surely
    gone: it ran on this host (``me``'s) and its pid is not running. Workers of one host
    share a pid namespace (one host name per container otherwise)."""
    host, _, pid = holder.rpartition(":")
    if host != _host(me) or not pid.isdigit():
        return False
    return not _pid_alive(int(pid))


@dataclass
class Dead:
    """The workers found dead at start, whose heartbeats this start holds as their
    adopter until its recovery is done: their recordings are recovered with its own,
    their TCP/TLS registrations dropped, their leader lease taken over at once."""

    sessions: sessionmaker[Session]
    adopter: str
    workers: frozenset[str] = frozenset()

    def release(self) -> None:
        """Recovery done: the adopted heartbeats go (their workers may start again)."""
        with transaction(self.sessions) as session:
            for worker in self.workers:
                leases.release(session, leases.heartbeat(worker), self.adopter)


def adopt_dead_at_start(
    sessions: sessionmaker[Session],
    worker_id: str,
    *,
    lease: float,
    instance: str | None = None,
    wallclock: Clock = _utc_now,
) -> Dead:
    """The other workers whose heartbeat has expired, or whose process on this host is
    gone (kill -9, then a restart with other ports: another worker id), each taken as
    ``adopted-by:<worker_id>`` so that neither its own restart nor the leader's adoption
    works on its files meanwhile."""
    me = instance or instance_name()
    adopter = f"{ADOPTER}{worker_id}"
    prefix = leases.heartbeat("")
    now = wallclock()
    taken: set[str] = set()
    with transaction(sessions) as session:
        rows = session.execute(
            select(Lease.name, Lease.holder, Lease.expires_at).where(Lease.name.like(f"{prefix}%"))
        ).all()
        for name, holder, expires_at in rows:
            worker = name.removeprefix(prefix)
            if worker == worker_id or holder.startswith(ADOPTER):
                continue
            if expires_at > now and not holder_gone(holder, me=me):
                continue
            leases.release(session, name, holder)
            held = leases.take(session, name, adopter, now=now, duration=timedelta(seconds=lease))
            if held.ours:
                taken.add(worker)
    return Dead(sessions, adopter, frozenset(taken))


@dataclass
class Term:
    """One tenure as leader: the lease's fencing token and until when, on this
    process's monotonic clock, it is surely still ours."""

    token: int
    deadline: float
    loop: asyncio.AbstractEventLoop
    ended: bool = False

    def valid(self) -> bool:
        """Whether the duties may still act (checked before each batch, each part)."""
        return not self.ended and self.loop.time() < self.deadline


class Duty(Protocol):
    """Something only the leader runs."""

    name: str

    async def start(self, term: Term) -> None:
        """Begin (with the recovery a start used to run): this worker now leads."""

    async def stop(self) -> None:
        """Stop at once: this worker no longer leads (or stops)."""


@dataclass
class LeaseKeeper:
    """Renews this worker's heartbeat and holds (or waits for) the leader lease,
    starting and stopping the duties with it."""

    sessions: sessionmaker[Session]
    worker_id: str
    lease: float
    renew: float
    duties: Sequence[Duty]
    instance: str = field(default_factory=instance_name)
    wallclock: Clock = _utc_now
    term: Term | None = None
    leads_since: datetime | None = None
    _task: asyncio.Task[None] | None = None
    _next: float = 0.0
    _db: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="dialtone-lease")
    )
    _warned_heartbeat: bool = False
    # Workers found dead at start: the first round takes the lease from one of them.
    dead: frozenset[str] = frozenset()

    @property
    def leading(self) -> bool:
        """Whether this worker runs the duties now."""
        return self.term is not None and self.term.valid()

    async def begin(self) -> None:
        """One round now (one worker alone takes the lease and starts its duties before
        serving, as a start did; a duty that fails to start then fails the start), then
        keep renewing in the background."""
        await self._round(starting=True)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the duties, give the lease up (another worker takes it at its next
        attempt) and the heartbeat."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._lose("stopping")

        def release() -> None:
            with transaction(self.sessions) as session:
                leases.give_up(session, leases.LEADER, self.worker_id)
                leases.release(session, leases.heartbeat(self.worker_id), self.instance)

        try:
            await asyncio.get_running_loop().run_in_executor(self._db, release)
        except Exception:
            log.exception("the leases were not released (they expire)")
        self._db.shutdown(wait=False)

    # -- rounds -----------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wake = self._next
            if self.term is not None:
                wake = min(wake, self.term.deadline)
            await asyncio.sleep(max(0.0, wake - loop.time()))
            if self.term is not None and not self.term.valid():
                await self._lose("the lease was not renewed in time")
            if loop.time() >= self._next:
                try:
                    await self._round()
                except Exception:
                    log.exception("lease round failed")
                    self._next = loop.time() + self.renew

    def _take(self) -> tuple[leases.Held, leases.Held]:
        now = self.wallclock()
        duration = timedelta(seconds=self.lease)
        with transaction(self.sessions) as session:
            beat = leases.take(
                session, leases.heartbeat(self.worker_id), self.instance, now=now, duration=duration
            )
            held = leases.current(session, leases.LEADER)
            if held is not None and held.holder in self.dead:
                leases.give_up(session, leases.LEADER, held.holder)  # its process is gone
            leader = leases.take(session, leases.LEADER, self.worker_id, now=now, duration=duration)
        return beat, leader

    async def _round(self, *, starting: bool = False) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        self._next = began + self.renew
        try:
            # A round that outlasts the interval is a failed renewal (the next one is
            # due); the first, at start, may wait out a busy database for a lease.
            beat, leader = await asyncio.wait_for(
                loop.run_in_executor(self._db, self._take), self.lease if starting else self.renew
            )
        except Exception as exc:
            if starting:
                raise
            log.warning("lease not renewed (%s)", exc or type(exc).__name__)
            return
        finally:
            self.dead = frozenset()  # once: a dead worker may come back and lead later
        if not beat.ours and not self._warned_heartbeat:
            self._warned_heartbeat = True
            log.error(
                "worker_id %s: the heartbeat is held by %s: two processes share this id",
                self.worker_id,
                beat.holder,
            )
        if not leader.ours:
            if self.term is not None:
                await self._lose(f"the lease is held by {leader.holder}")
            # Ask again when the holder's lease runs out, not a round later.
            left = (leader.expires_at - self.wallclock()).total_seconds()
            self._next = began + min(self.renew, max(0.05, left + 0.01))
            return
        # Our own margin: one renewal interval before the database's expiry, for the
        # clocks' disagreement and the time the duties take to stop.
        deadline = began + self.lease - self.renew
        if self.term is not None and self.term.token == leader.token:
            self.term.deadline = deadline
            return
        if self.term is not None:
            await self._lose("the lease changed hands meanwhile")
        self.term = Term(leader.token, deadline, loop)
        self.leads_since = self.wallclock()
        log.info(
            "worker %s leads (lease token %d): starting its duties", self.worker_id, leader.token
        )
        try:
            for duty in self.duties:
                await duty.start(self.term)
        except Exception:
            if starting:
                await self._lose("a duty failed to start")
                raise
            log.exception("a duty failed to start: the lease is given up, to be tried again")
            await self._lose("a duty failed to start")
            await loop.run_in_executor(self._db, self._release_leader)

    def _release_leader(self) -> None:
        with transaction(self.sessions) as session:
            leases.give_up(session, leases.LEADER, self.worker_id)

    async def _lose(self, why: str) -> None:
        term, self.term = self.term, None
        if term is None:
            return
        term.ended = True
        log.warning("worker %s no longer leads (%s): stopping its duties", self.worker_id, why)
        for duty in reversed(self.duties):
            try:
                await duty.stop()
            except Exception:
                log.exception("duty %s did not stop cleanly", duty.name)


# -- duties -------------------------------------------------------------------------


@dataclass
class CallbackDuty:
    """A duty made of two functions (the trunk registrations, the transcription sweep)."""

    name: str
    on_start: Callable[[Term], Awaitable[None]]
    on_stop: Callable[[], Awaitable[None]]

    async def start(self, term: Term) -> None:
        """Run ``on_start``."""
        await self.on_start(term)

    async def stop(self) -> None:
        """Run ``on_stop``."""
        await self.on_stop()


@dataclass
class Adoption:
    """The leader adopts the recordings of workers that died (their heartbeat expired):
    each gets its interrupted CDRs now rather than at its restart. The dead worker's
    heartbeat is held while it is done, so its restart waits for the end."""

    sessions: sessionmaker[Session]
    directories: tuple[Path, ...]
    key: bytes | None
    worker_id: str
    lease: float
    every: float
    wallclock: Clock = _utc_now
    name: str = "adoption"
    _task: asyncio.Task[None] | None = None
    adopted: list[tuple[str, Recovered]] = field(default_factory=list)

    async def start(self, term: Term) -> None:
        """Look for dead workers every ``every`` seconds while leading."""
        self._task = asyncio.get_running_loop().create_task(self._run(term))

    async def stop(self) -> None:
        """Stop looking (an adoption under way finishes on its thread)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, term: Term) -> None:
        loop = asyncio.get_running_loop()
        while term.valid():
            try:
                for dead in await loop.run_in_executor(None, self._dead):
                    if not term.valid():
                        break
                    done = await loop.run_in_executor(None, self.adopt, dead)
                    if done is not None:
                        self.adopted.append((dead, done))
            except Exception:
                log.exception("adopting dead workers' recordings failed")
            await asyncio.sleep(self.every)

    def _dead(self) -> list[str]:
        prefix = leases.heartbeat("")
        with transaction(self.sessions) as session:
            rows = session.execute(
                select(Lease.name, Lease.holder).where(
                    Lease.name.like(f"{prefix}%"), Lease.expires_at <= self.wallclock()
                )
            ).all()
        return [
            name.removeprefix(prefix)
            for name, _holder in rows
            if name.removeprefix(prefix) != self.worker_id
        ]

    def adopt(self, dead: str) -> Recovered | None:
        """Recover ``dead``'s leftovers, holding its heartbeat meanwhile; None when it
        came back (or another adopts it)."""
        name = leases.heartbeat(dead)
        me = f"{ADOPTER}{self.worker_id}"
        with transaction(self.sessions) as session:
            held = leases.take(
                session, name, me, now=self.wallclock(), duration=timedelta(seconds=self.lease)
            )
        if not held.ours:
            return None
        try:
            done = recover(self.directories, self.key, self.sessions, owners=lambda o: o == dead)
        finally:
            with transaction(self.sessions) as session:
                leases.release(session, name, me)
        if done:
            log.warning(
                "worker %s is dead: %d interrupted call(s) of its recorded, %d recording(s) "
                "repaired",
                dead,
                len(done.cdrs),
                len(done.repaired),
            )
        return done
