"""Registering trunks with their providers (issue 13): the asyncio side of
``sip.registration``.

One task per trunk marked ``register``: it waits until its :class:`RegistrationClient`
says the next REGISTER is due, resolves the registrar, sends the REGISTER through the
trunk's transport as a client transaction (``endpoint.send_request``), hands the final
response (or the transaction's timeout, or the DNS error) back to the client, and stores
the resulting state for the API. A scan every ``scan_seconds`` starts tasks for trunks
marked since, restarts those whose settings changed and stops those unmarked, disabled
or removed.

Responses to our REGISTERs are taken off the channels before the call engine sees them
(by the transaction's branch), so the engine needs no knowledge of registrations.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import trunks as trunk_service
from dialtone.services.telephony.trunks import RegistrationSetup
from dialtone.sip.endpoint import Output
from dialtone.sip.message import Response
from dialtone.sip.registration import RegistrationClient, RegistrationConfig
from dialtone.sip.transaction import ResponseReceived, TransactionTimedOut
from dialtone.sip.uri import SipUri
from dialtone.store.db import transaction
from dialtone.store.sealed import SealError

from .tasks import TaskSet
from .transports import SipChannel

log = logging.getLogger("dialtone.trunks")


@dataclass(frozen=True, slots=True)
class RegistrationSettings:
    """The operator's settings for every trunk registration."""

    retry_base: float = 30.0
    retry_max: float = 1800.0
    scan_seconds: float = 5.0


class _Agent:
    def __init__(self, setup: RegistrationSetup, client: RegistrationClient) -> None:
        self.setup = setup
        self.client = client
        self.task: asyncio.Task[None] | None = None


class TrunkRegistrations:
    """Every trunk registration of this process."""

    def __init__(
        self,
        *,
        channels: dict[str, SipChannel],
        sessions: sessionmaker[Session],
        db: Executor,
        key: bytes,
        settings: RegistrationSettings,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.channels = channels
        self.sessions = sessions
        self.db = db
        self.key = key
        self.settings = settings
        self.now = wallclock
        self.agents: dict[str, _Agent] = {}
        self.tasks = TaskSet(log, "trunk registration")
        self._waiting: dict[str, asyncio.Future[Response | None]] = {}
        self._scanner: asyncio.Task[None] | None = None
        for channel in channels.values():
            self._intercept(channel)

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Register every trunk marked to, now and as they are marked later."""
        self._scanner = self.tasks.spawn(self._scan_forever())

    async def close(self) -> None:
        """Stop every registration task (the bindings expire at the providers). A later
        :meth:`start` registers every trunk afresh (issue 19: a worker leads again)."""
        self.tasks.cancel()
        await self.tasks.wait(2.0)
        for waiter in self._waiting.values():
            waiter.cancel()
        self._waiting.clear()
        self.agents.clear()
        self._scanner = None

    async def _scan_forever(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("trunk registrations: scan failed")
            await asyncio.sleep(self.settings.scan_seconds)

    async def scan(self) -> None:
        """Start, restart or stop tasks to match the trunks marked ``register``."""
        loop = asyncio.get_running_loop()
        setups = await loop.run_in_executor(self.db, self._read_setups)
        wanted = {s.trunk_id: s for s in setups}
        for trunk_id, agent in list(self.agents.items()):
            if wanted.get(trunk_id) != agent.setup:
                self._stop(trunk_id)
        for trunk_id, setup in wanted.items():
            if trunk_id not in self.agents:
                self._begin(setup)

    def _read_setups(self) -> list[RegistrationSetup]:
        with transaction(self.sessions) as session:
            return trunk_service.registering_trunks(session)

    def _begin(self, setup: RegistrationSetup) -> None:
        channel = self.channels.get(setup.transport)
        contact = SipUri(
            "sip",
            host=channel.endpoint.local_host if channel else "invalid",
            port=channel.endpoint.local_port if channel else None,
            user=setup.contact_user,
            params=(("transport", setup.transport),) if setup.transport != "udp" else (),
        )
        config = RegistrationConfig(
            request_uri=SipUri(
                "sip", host=setup.domain, port=setup.port if setup.port != 5060 else None
            ),
            domain=setup.domain,
            aor_user=setup.aor_user,
            auth_username=setup.auth_username,
            contact=contact,
            expires=setup.expires,
            retry_base=self.settings.retry_base,
            retry_max=self.settings.retry_max,
        )
        client = RegistrationClient(
            config,
            call_id=f"{secrets.token_hex(12)}@dialtone",
            from_tag=secrets.token_hex(6),
        )
        client.start(self.now())
        agent = _Agent(setup, client)
        self.agents[setup.trunk_id] = agent
        agent.task = self.tasks.spawn(self._run(agent))

    def _stop(self, trunk_id: str) -> None:
        agent = self.agents.pop(trunk_id, None)
        if agent is not None and agent.task is not None:
            agent.task.cancel()

    # -- one trunk ----------------------------------------------------------------------

    async def _run(self, agent: _Agent) -> None:
        client, setup = agent.client, agent.setup
        while True:
            next_at = client.next_at
            if next_at is None:  # never left so by the client; defensive
                client.start(self.now())
                continue
            delay = (next_at - self.now()).total_seconds()
            if delay > 0:
                # The loop's timers run on the monotonic clock and may fire a little
                # before the wall-clock time announced as next_attempt_at: check again.
                await asyncio.sleep(delay)
                continue
            await self._attempt(client, setup)
            await self._store(setup.trunk_id, client)
            if client.state == "failed":
                log.warning(
                    "trunk %s: registration failed (%s); next attempt at %s",
                    setup.trunk_id,
                    client.last_error,
                    client.next_at.isoformat() if client.next_at else "-",
                )
            elif client.state == "registered":
                log.info(
                    "trunk %s: registered at %s:%d until %s",
                    setup.trunk_id,
                    setup.registrar_host,
                    setup.registrar_port,
                    client.expires_at.isoformat() if client.expires_at else "-",
                )

    async def _attempt(self, client: RegistrationClient, setup: RegistrationSetup) -> None:
        """One REGISTER and its final answer (or why there is none)."""
        loop = asyncio.get_running_loop()
        now = self.now()
        channel = self.channels.get(setup.transport)
        if channel is None:
            client.fail(f"SIP over {setup.transport} is not enabled on this server", now)
            return
        where = f"{setup.registrar_host}:{setup.registrar_port}"
        try:
            infos = await loop.getaddrinfo(
                setup.registrar_host, setup.registrar_port, type=socket.SOCK_DGRAM
            )
            address = (str(infos[0][4][0]), setup.registrar_port)
        except OSError as exc:
            client.fail(f"cannot resolve {setup.registrar_host} ({exc})", self.now())
            return

        def secret() -> str:
            # The only place a registration opens the sealed password: a challenge.
            opened = trunk_service.open_password(setup.trunk_id, setup.password_sealed, self.key)
            return opened or ""

        try:
            request = client.request(
                now, via=channel.endpoint.via(), cnonce=secrets.token_hex(8), secret=secret
            )
        except SealError:
            client.fail("the trunk's password does not open with this server's key", now)
            return
        branch = request.top_via.branch or ""
        waiter: asyncio.Future[Response | None] = loop.create_future()
        self._waiting[branch] = waiter
        try:
            channel.dispatch(channel.endpoint.send_request(request, address, loop.time()))
            response = await waiter
        except OSError as exc:
            client.fail(f"cannot send to {where} ({exc})", self.now())
            return
        finally:
            self._waiting.pop(branch, None)
        if response is None:
            client.fail(f"no answer from {where} (timeout)", self.now())
        else:
            client.on_response(response, self.now())

    async def _store(self, trunk_id: str, client: RegistrationClient) -> None:
        def write() -> None:
            with transaction(self.sessions) as session:
                trunk_service.record_registration(
                    session,
                    trunk_id,
                    state=client.state,
                    expires_at=client.expires_at,
                    error=client.last_error,
                    attempt_at=client.last_attempt_at,
                    next_at=client.next_at,
                )

        try:
            await asyncio.get_running_loop().run_in_executor(self.db, write)
        except Exception:
            log.exception("trunk %s: registration state not stored", trunk_id)

    # -- responses ----------------------------------------------------------------------

    def _intercept(self, channel: SipChannel) -> None:
        """Take the answers to our REGISTERs off ``channel``; pass everything else on."""
        passed_on = channel.on_event

        def on_event(event: Output, source: SipChannel) -> None:
            if isinstance(event, ResponseReceived | TransactionTimedOut):
                tx = event.transaction
                request = getattr(tx, "request", None)
                if request is not None and request.method == "REGISTER":
                    waiter = self._waiting.get(request.top_via.branch or "")
                    if waiter is not None:
                        if isinstance(event, TransactionTimedOut):
                            if not waiter.done():
                                waiter.set_result(None)
                        elif event.response.status >= 200 and not waiter.done():
                            waiter.set_result(event.response)
                        return
            passed_on(event, source)

        channel.on_event = on_event
