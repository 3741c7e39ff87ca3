"""dialtone's SMPP server (issue 15): customers' software binds to it as an ESME with an
account's SMPP login, submits messages through the same checks as the API, and receives
delivery receipts and the account's inbound messages as deliver_sm.

- Binds (transmitter, receiver, transceiver) are checked on a worker thread
  (``logins.authenticate``: scrypt, the same work for an unknown system_id). A wrong
  password, an unknown system_id and a revoked login are all ``ESME_RINVPASWD``.
  Failures are counted per source address and per system_id by the SIP digest limiter
  (``FailureLimiter``, TERMS D2); while either is blocked a bind gets
  ``ESME_RBINDFAIL`` without a password check.
- submit_sm is read by ``smpp.submission`` (data_coding 0, 1, 3, 8; message_payload;
  parts by UDH or sar TLVs, held by ``smpp.multipart`` until the message is whole),
  then checked and committed by ``SubmissionWriter`` before its submit_sm_resp; a
  refusal by the terms is answered with a status (``smpp_submissions.status_of``), its
  code logged and put on the audit log. ``on_stored`` is called after each commit that
  stored a message (it wakes the dispatcher).
- ``deliver_receipt`` and ``deliver_inbound`` send the deliver_sm a customer's bind is
  owed (marked in the database with the change: ``services.messaging.bind_notices``)
  through an ``Outbox``: round robin over the target's receiver binds, a bounded queue
  in memory until one binds; a receiver's bind loads and is sent what the database says
  its login and account are owed, so a restart loses none (``runtime.smpp_owed``).
- enquire_link, unbind, generic_nack, PDUs the state does not allow and malformed ones
  are the session's business (``smpp.session``); each connection is independent, so a
  bad one never stops the server.

Call every method on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.shared import FailureCounter
from dialtone.runtime.shared.in_process import LocalFailures
from dialtone.runtime.smpp_link import SmppLink
from dialtone.runtime.smpp_outbox import DEFAULT_QUEUE_LIMIT, Outbox, Target
from dialtone.runtime.smpp_owed import InboundFacts, OwedNotices, ReceiptFacts
from dialtone.runtime.smpp_submissions import (
    Login,
    Rejected,
    Stored,
    Submission,
    SubmissionWriter,
)
from dialtone.services.messaging import logins
from dialtone.services.messaging.messages import MAX_BODY
from dialtone.services.messaging.rules import MessagingRules
from dialtone.sip.auth_limiter import FailureLimiter
from dialtone.smpp import multipart, tlv
from dialtone.smpp.constants import CommandStatus
from dialtone.smpp.multipart import Answer, Held, Key, PartCollector, Refused, Repeat, Whole
from dialtone.smpp.pdu import Bind, BindKind, BindResp, Pdu, SubmitSm, SubmitSmResp
from dialtone.smpp.session import Role, SessionSettings
from dialtone.smpp.submission import Submission as Read
from dialtone.smpp.submission import SubmitRefused, read_submit
from dialtone.store.db import transaction

log = logging.getLogger("dialtone.smpp")

SYSTEM_ID = "dialtone"  # what bind_resp names us
EXPIRY_INTERVAL = 1.0  # seconds between looks for parts that did not all come

Ticket = tuple[SmppLink, Pdu]


def _now() -> datetime:
    return datetime.now(UTC)


class TlsListenError(OSError):
    """The SMPP TLS port could not be listened on (the plain one could)."""


class SmppServer:
    """The SMPP server customers' software binds to (module docstring)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sessions: sessionmaker[Session],
        db: Executor,
        rules: MessagingRules,
        on_stored: Callable[[], None],
        clock: Callable[[], datetime] = _now,
        limiter: FailureLimiter | FailureCounter | None = None,
        auth: Executor | None = None,
        settings: SessionSettings | None = None,
        parts_timeout: float = multipart.DEFAULT_TIMEOUT,
        queue_limit: int | None = None,
        tls: tuple[int, ssl.SSLContext] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sessions = sessions
        self.db = db
        # scrypt takes tens of milliseconds: a pool of its own keeps it off the writer.
        self.auth = auth or db
        self.rules = rules
        self.on_stored = on_stored
        self.clock = clock
        # Not `limiter or ...`: an empty limiter has len() 0, so it reads as false. A
        # ``FailureCounter`` of the shared state counts every worker's binds (issue 19).
        if limiter is None:
            limiter = FailureLimiter(allowed=10, window=60.0, block=300.0)
        self.limiter: FailureCounter = (
            LocalFailures(limiter) if isinstance(limiter, FailureLimiter) else limiter
        )
        self.settings = settings
        self.writer = SubmissionWriter(sessions, db, rules=rules)
        self.parts: PartCollector[Ticket] = PartCollector(timeout=parts_timeout)
        self.owed = OwedNotices(sessions, db, clock=clock)
        self.outbox = Outbox(
            load=self.owed.load,
            settle=self.owed.settle,
            queue_limit=DEFAULT_QUEUE_LIMIT if queue_limit is None else queue_limit,
        )
        self.links: set[SmppLink] = set()
        self._server: asyncio.Server | None = None
        # SMPP over TLS on a port of its own (the clients that ask for it connect there).
        self.tls = tls
        self.tls_port: int | None = None
        self._tls_server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.Task[None] | None = None

    # --- life --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``host``:``port`` (0: any free port; ``port`` then says which)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_link, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.tls is not None:
            port, context = self.tls
            try:
                self._tls_server = await loop.create_server(
                    self._new_link, self.host, port, ssl=context
                )
            except OSError as exc:
                self._server.close()
                raise TlsListenError(exc.errno, exc.strerror) from exc
            self.tls_port = self._tls_server.sockets[0].getsockname()[1]
        self._expiry = loop.create_task(self._expire_parts())
        log.info("smpp: listening on %s:%d", self.host, self.port)

    def _new_link(self) -> SmppLink:
        link = SmppLink(Role.SMSC, self, settings=self.settings)
        self.links.add(link)
        return link

    async def close(self) -> None:
        """Stop listening, finish the submissions under way, unbind every link."""
        for listening in (self._server, self._tls_server):
            if listening is not None:
                listening.close()
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.writer.close()
        await self.outbox.close()
        await self.owed.close()
        await asyncio.gather(
            *(self._part(link) for link in list(self.links)), return_exceptions=True
        )
        for listening in (self._server, self._tls_server):
            if listening is not None:
                await listening.wait_closed()

    async def _part(self, link: SmppLink) -> None:
        if link.bound.is_set() or link.context is not None:
            await link.unbind(timeout=2.0)
        else:
            link.close()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- LinkHandler -------------------------------------------------------------------

    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:
        """An ESME binds: checked on the auth thread (module docstring)."""
        self._spawn(self._bind(link, pdu))

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        """submit_sm is taken; query_sm and data_sm are not offered."""
        if isinstance(pdu.body, SubmitSm):
            self._submit(link, pdu, pdu.body)
        else:
            link.respond(pdu, CommandStatus.ESME_RINVCMDID)

    def on_closed(self, link: SmppLink) -> None:
        """The connection ended: no more deliveries to it."""
        self.links.discard(link)
        self.outbox.detach(link)

    # --- binds -------------------------------------------------------------------------

    async def _bind(self, link: SmppLink, pdu: Pdu) -> None:
        body = pdu.body
        assert isinstance(body, Bind)
        loop = asyncio.get_running_loop()
        source = link.peer.rpartition(":")[0] or link.peer
        # The source's failures count whatever system_id they tried, a system_id's
        # whatever source tried it; a success forgets only its own (TERMS D2).
        keys = ((f"address:{source}", body.system_id), (f"system_id:{body.system_id}", source))
        # Wall-clock time: the counters may be shared with workers on other machines.
        now = time.time()
        if any([await self.limiter.blocked(key, now) for key, _ in keys]):
            log.warning("smpp %s: bind as %r refused: too many failures", link.peer, body.system_id)
            link.respond(pdu, CommandStatus.ESME_RBINDFAIL)
            return
        try:
            login = await loop.run_in_executor(self.auth, self._authenticate, body)
        except Exception:
            log.exception("smpp %s: bind as %r not checked", link.peer, body.system_id)
            link.respond(pdu, CommandStatus.ESME_RBINDFAIL)
            return
        if login is None:
            for key, username in keys:
                await self.limiter.record_failure(key, time.time(), username=username)
            log.warning("smpp %s: bind as %r: wrong password", link.peer, body.system_id)
            link.respond(pdu, CommandStatus.ESME_RINVPASWD)
            return
        for key, username in keys:
            await self.limiter.record_success(key, time.time(), username=username)
        if link.closed.is_set():
            return
        link.context = login
        link.respond(pdu, BindResp(body.kind, SYSTEM_ID))
        log.info("smpp %s: bound %s as %r", link.peer, body.kind.name.lower(), body.system_id)
        if body.kind is not BindKind.TRANSMITTER:
            self.outbox.attach(link, login_id=login.id, account_id=login.account_id)

    def _authenticate(self, body: Bind) -> Login | None:
        with transaction(self.sessions) as session:
            row = logins.authenticate(session, body.system_id, body.password)
            return None if row is None else Login(row.id, row.account_id, row.system_id)

    # --- submissions -------------------------------------------------------------------

    def _submit(self, link: SmppLink, pdu: Pdu, body: SubmitSm) -> None:
        login = link.context
        assert isinstance(login, Login), "the session lets submit_sm through bound only"
        try:
            read = read_submit(body)
        except SubmitRefused as refused:
            log.info("smpp %s: submit_sm refused: %s", link.peer, refused.reason)
            link.respond(pdu, refused.status)
            return
        if read.text is not None:
            self._spawn(self._store(login, read, read.text, [(link, pdu)], None))
            return
        assert read.part is not None
        info, fragment = read.part
        loop = asyncio.get_running_loop()
        outcome = self.parts.add(
            login.id,
            read.sender,
            read.recipient,
            info,
            fragment,
            ticket=(link, pdu),
            now=loop.time(),
        )
        match outcome:
            case Held():
                pass
            case Repeat(answer):
                _answer([(link, pdu)], answer)
            case Refused(tickets, status, reason):
                log.info("smpp %s: a long message refused: %s", link.peer, reason)
                _answer(list(tickets), (status, ""))
            case Whole(key, text, tickets):
                self._spawn(self._store(login, read, text, list(tickets), key))

    async def _store(
        self, login: Login, read: Read, text: str, tickets: list[Ticket], key: Key | None
    ) -> None:
        answer = await self._write(login, read, text, tickets)
        if key is not None:
            tickets += self.parts.settle(key, answer)
        _answer(tickets, answer)
        if answer[0] == CommandStatus.ESME_ROK:
            try:
                self.on_stored()
            except Exception:  # the message is stored; the dispatcher's sweep finds it
                log.exception("smpp: on_stored failed")

    async def _write(self, login: Login, read: Read, text: str, tickets: list[Ticket]) -> Answer:
        peer = tickets[0][0].peer
        if len(text) > MAX_BODY:
            log.info("smpp %s: submit_sm refused: %d characters", peer, len(text))
            return CommandStatus.ESME_RINVMSGLEN, ""
        if not read.sender:
            return CommandStatus.ESME_RINVSRCADR, ""
        # A receipt asked for on any part is asked for the message; the customer's
        # reference is the first part's.
        bodies = [t[1].body for t in tickets if isinstance(t[1].body, SubmitSm)]
        registered = 0
        for part in bodies:
            registered |= part.registered_delivery
        reference = tlv.user_message_reference(bodies[0].tlvs) if bodies else None
        first = read.client_reference if reference is None else str(reference)
        submission = Submission(
            login, read.sender, read.recipient, text, registered, first, self.clock()
        )
        try:
            await self.writer.write(submission)
        except Exception:
            log.exception("smpp %s: a submission could not be stored", peer)
            return CommandStatus.ESME_RSYSERR, ""
        result = submission.result
        if isinstance(result, Stored):
            return CommandStatus.ESME_ROK, result.message_id
        assert isinstance(result, Rejected)
        log.info(
            "smpp %s: submit_sm from %r refused: %s (%s) %s",
            peer,
            login.system_id,
            result.code,
            result.rule or "-",
            result.reason,
        )
        return result.status, ""

    async def _expire_parts(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(EXPIRY_INTERVAL)
            for refused in self.parts.expire(loop.time()):
                log.info("smpp: a long message refused: %s", refused.reason)
                _answer(list(refused.tickets), (refused.status, ""))

    # --- deliveries --------------------------------------------------------------------

    def deliver_receipt(self, message: ReceiptFacts) -> bool:
        """The delivery receipt of a message a customer's bind submitted, once it is
        final, when its submit_sm asked for one (§5.2.17: the message is then marked
        owed, ``bind_notices``); whether one was sent or queued for the login's next
        bind."""
        delivery = self.owed.receipt(message)
        if delivery is None or message.smpp_login_id is None:
            return False
        self.outbox.send(Target("login", message.smpp_login_id), delivery)
        return True

    def deliver_inbound(self, account_id: str, message: InboundFacts) -> bool:
        """A message one of the account's numbers received, to one of the account's
        receiver binds (or queued for the next), in parts when long (TERMS M1), when it
        is marked owed to them (the account has an SMPP login); whether it was."""
        delivery = self.owed.inbound(message)
        if delivery is None:
            return False
        self.outbox.send(Target("account", account_id), delivery)
        return True


def _answer(tickets: list[Ticket], answer: Answer) -> None:
    status, message_id = answer
    for link, pdu in tickets:
        if status == CommandStatus.ESME_ROK:
            link.respond(pdu, SubmitSmResp(message_id))
        else:
            link.respond(pdu, status)
