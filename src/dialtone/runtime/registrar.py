"""The registrar at the edge: authorised REGISTERs update the bindings, and every change
is committed to the store before the 200 (a phone told it is registered stays registered
across a crash). Bindings reached through a TCP/TLS connection end with it.

Shared (several workers behind a SIP edge, issue 19): the store is the registrar's truth.
A user's bindings are read from it before a REGISTER is applied and before the user's
devices are rung, so a phone registered through one worker is reached from any other
(through the Path the edge added, ``Binding.target``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import registrations as registration_service
from dialtone.sip.message import Request
from dialtone.sip.registrar import Binding, BindingTable, RegisterOutcome
from dialtone.store.db import transaction
from dialtone.store.models import User

log = logging.getLogger("dialtone.registrar")


def _to_store(binding: Binding, worker_id: str | None) -> registration_service.Binding:
    host, port = binding.source
    return registration_service.Binding(
        contact=binding.contact,
        source=f"{binding.transport}:{host}:{port}",
        transport=binding.transport,
        user_agent=binding.user_agent,
        call_id=binding.call_id,
        cseq=binding.cseq,
        expires_at=datetime.fromtimestamp(binding.expires_at, UTC),
        worker_id=worker_id if binding.flow_bound else None,
        path=binding.path,
    )


def _from_store(row: registration_service.Binding) -> Binding:
    transport, host, port = row.source.rsplit(":", 2)
    return Binding(
        contact=row.contact,
        source=(host, int(port)),
        transport=transport,
        expires_at=row.expires_at.timestamp(),
        call_id=row.call_id,
        cseq=row.cseq,
        user_agent=row.user_agent,
        path=row.path,
    )


class Registrar:
    """Bindings in memory for routing, persisted through the single DB writer thread."""

    def __init__(
        self,
        table: BindingTable,
        *,
        sessions: sessionmaker[Session],
        db: Executor,
        clock: Callable[[], float] = time.time,
        worker_id: str | None = None,
        dead_workers: frozenset[str] = frozenset(),
        shared: bool = False,
    ) -> None:
        self.table = table
        self.sessions = sessions
        self.db = db
        self.clock = clock
        # Issue 19: the TCP/TLS bindings stored are marked with it, and a start drops
        # only its own (another worker's connections are alive).
        self.worker_id = worker_id
        # Workers found dead at start: their connections died with them too.
        self.dead_workers = dead_workers
        # Other workers write the same bindings (behind an edge): read before deciding.
        self.shared = shared
        # Whose connection each stored TCP/TLS binding lives on, as read from the store
        # (a shared registrar re-saves other workers' bindings: their mark is kept).
        self._owners: dict[tuple[str, str], str | None] = {}

    def restore(self) -> int:
        """Load unexpired bindings from the store (at start); returns how many.

        Bindings registered over a TCP/TLS connection are not restored but deleted: their
        connection did not survive the restart, nothing else reaches those phones, and
        each registers again on a new connection (RFC 5626's flow idea). A clean stop
        has dropped them already; this catches a crash. Only this worker's, dead
        workers' and unmarked ones (from before workers were named): a live worker's
        connections live on, and this worker cannot reach them either, so they are
        neither restored nor dropped."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        restored = dropped = 0
        with transaction(self.sessions) as session:
            rows = registration_service.active_bindings(session, now=now)
            kept: dict[str, list[registration_service.Binding]] = {}
            flows: set[str] = set()
            for user_id, row in rows:
                binding = _from_store(row)
                if binding.flow_bound:
                    if (
                        row.worker_id in (None, self.worker_id)
                        or row.worker_id in self.dead_workers
                    ):
                        flows.add(user_id)
                        dropped += 1
                    else:
                        kept.setdefault(user_id, []).append(row)
                    continue
                kept.setdefault(user_id, []).append(row)
                self.table.restore(user_id, binding)
                restored += 1
            for user_id in flows:
                user = session.get(User, user_id)
                if user is not None:
                    registration_service.replace_bindings(
                        session, user, kept.get(user_id, []), now=now
                    )
        if flows:
            log.info(
                "%d registration(s) over TCP/TLS connections of the previous run dropped",
                dropped,
            )
        return restored

    async def register(
        self, user_id: str, request: Request, *, source: tuple[str, int], transport: str
    ) -> RegisterOutcome:
        """Apply an authorised REGISTER; committed before this returns when it changed.

        Shared: the user's bindings are first read back from the store, so a refresh that
        reaches another worker than the first REGISTER (that one died) neither forgets the
        user's other devices nor takes the refresh for a new binding. Two REGISTERs of one
        user on two workers at the same instant may still race; the later commit wins and
        the loser's phone registers again within its interval."""
        if self.shared:
            await self.refresh(user_id)
        now = self.clock()
        outcome = self.table.register(user_id, request, source=source, transport=transport, now=now)
        for binding in outcome.bindings:
            if binding.source == source and binding.transport == transport:
                self._owners[(user_id, binding.contact)] = self.worker_id  # this request's
        if outcome.changed:
            await self._save(user_id, list(outcome.bindings))
        return outcome

    def contacts(self, user_id: str) -> list[Binding]:
        """Where the user's devices can be reached now, as this worker knows it."""
        return self.table.lookup(user_id, self.clock())

    async def reachable(self, user_id: str) -> list[Binding]:
        """Where the user's devices can be reached now; shared, as the store says (any
        worker may have registered them)."""
        if self.shared:
            await self.refresh(user_id)
        return self.contacts(user_id)

    async def refresh(self, user_id: str) -> None:
        """Replace this worker's copy of the user's bindings by the store's."""
        now = datetime.fromtimestamp(self.clock(), UTC)

        def read() -> list[registration_service.Binding]:
            with self.sessions() as session:
                return registration_service.user_bindings(session, user_id, now=now)

        rows = await asyncio.get_running_loop().run_in_executor(self.db, read)
        self._owners.update({(user_id, row.contact): row.worker_id for row in rows})
        self.table.replace(user_id, [_from_store(row) for row in rows])

    async def connection_closed(self, source: tuple[str, int], transport: str) -> None:
        """A TCP/TLS connection ended: the bindings registered over it cannot be reached
        any more (``Binding.flow_bound``) and are dropped, in the store too."""
        for user_id in self.table.users():
            if self.table.remove_source(user_id, source, transport):
                log.info("user %s: binding via %s %s:%d dropped", user_id, transport, *source)
                await self._save(user_id, self.contacts(user_id))

    async def _save(self, user_id: str, bindings: list[Binding]) -> None:
        rows = [
            _to_store(b, self._owners.get((user_id, b.contact), self.worker_id)) for b in bindings
        ]
        now = datetime.fromtimestamp(self.clock(), UTC)

        def write() -> None:
            with transaction(self.sessions) as session:
                user = session.get(User, user_id)
                if user is not None:  # deleted meanwhile: its rows went with it
                    registration_service.replace_bindings(session, user, rows, now=now)

        await asyncio.get_running_loop().run_in_executor(self.db, write)
