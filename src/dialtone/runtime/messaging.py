"""SMS in a running platform (issue 15): the carrier binds, the dispatcher that sends
stored messages through them, what the carriers deliver, and the database thread they
share.

``serve`` starts it after SIP and closes it before SIP closes; the API reaches it as
``app.state.messaging`` to ``wake()`` the dispatcher once a message is committed.

The SMPP server customers' software binds to (``server``) wakes the dispatcher after
each committed submit_sm, and the dispatcher's hooks pass it the receipts and inbound
messages for the customers' binds, once committed with their mark (owed to a bind:
``services.messaging.bind_notices``; a bind loads what a stop left owed). The webhook
sender POSTs what is owed to customers (status callbacks, inbound messages). ``aclose``
closes the server first (it takes no more submit_sm), then the outbound side.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dialtone.services import leases
from dialtone.services.messaging import twiml_replies
from dialtone.settings import Settings
from dialtone.sip.auth_limiter import FailureLimiter

from .carrier_inbound import CarrierInbound
from .db_work import DbWork
from .email_sender import EmailSender, Relay
from .message_dispatcher import DispatchSettings, MessageDispatcher
from .programmable import token_of
from .shared import WAKE_EMAIL, WAKE_MESSAGES, WAKE_WEBHOOKS, SharedState
from .smpp_carriers import BindSettings, CarrierBinds
from .smpp_server import SmppServer, TlsListenError
from .startup import bind_failure
from .tls import ensure_certificate, server_context
from .webhook_sender import WebhookSender
from .workers import Term

log = logging.getLogger("dialtone.smpp")


@dataclass
class MessagingRuntime:
    """The outbound side of SMS, running."""

    carriers: CarrierBinds
    dispatcher: MessageDispatcher
    inbound: CarrierInbound
    work: DbWork
    db: ThreadPoolExecutor
    server: SmppServer
    webhooks: WebhookSender
    auth: ThreadPoolExecutor
    # None when no SMTP relay is configured (smtp_host empty: email is disabled).
    email: EmailSender | None = None
    # Where wake-ups go: every worker's loops (issue 19), or this process's alone.
    shared: SharedState | None = None

    def wake(self) -> None:
        """A message was committed: send it now rather than at the next poll.
        Callable from any thread (the API's handlers run in a pool). With the shared
        state, the wake-up reaches the dispatcher of every worker (the one that runs it
        sends; issue 19)."""
        if self.shared is not None:
            self.shared.bus.publish(WAKE_MESSAGES)
        else:
            self.dispatcher.wake()

    def wake_webhooks(self) -> None:
        """A webhook was stored: deliver it now (every worker's sender, as ``wake``)."""
        if self.shared is not None:
            self.shared.bus.publish(WAKE_WEBHOOKS)
        else:
            self.webhooks.wake()

    def wake_email(self) -> None:
        """An email was stored: send it now (every worker's sender, as ``wake``)."""
        if self.shared is not None:
            self.shared.bus.publish(WAKE_EMAIL)
        elif self.email is not None:
            self.email.wake()

    async def aclose(self) -> None:
        """Stop taking messages (the server first), let the parts in flight be answered
        and recorded, unbind the carriers, then stop the database thread."""
        try:
            await self.server.close()
        except Exception:
            log.exception("the SMPP server did not close cleanly")
        await self.webhooks.close()
        if self.email is not None:
            await self.email.close()
        await self.dispatcher.close()
        await self.inbound.close()
        await self.carriers.close()
        await self.work.close()
        self.db.shutdown(wait=True)
        self.auth.shutdown(wait=True)


async def start_messaging(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    binds: BindSettings | None = None,
    dispatch: DispatchSettings | None = None,
    leading: Callable[[], bool] = lambda: True,
    fence: Callable[[Session], bool] | None = None,
    shared: SharedState | None = None,
) -> MessagingRuntime:
    """Bind the enabled carriers, queue again what a stop interrupted, start sending.
    With ``shared``, the SMPP binds' failures are counted with every worker's, and the
    loops wake on every worker's wake-ups (issue 19).

    With several workers only the leader runs this (issue 19: ``runtime.workers``):
    ``leading`` says whether its tenure is still valid and ``fence`` checks, in the
    transaction of each take and each batch of intents, that it still holds the lease."""
    db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialtone-sms-db")
    work = DbWork(sessions, db)
    work.fence = fence
    carriers = CarrierBinds(
        sessions=sessions, db=db, work=work, key=settings.sealing_key(), settings=binds
    )
    dispatcher = MessageDispatcher(work=work, carriers=carriers, settings=dispatch, leading=leading)
    inbound = CarrierInbound(
        work, settings.messaging_rules, wake=dispatcher.wake, hooks=dispatcher.hooks
    )
    carriers.on_deliver = inbound.on_deliver
    dispatcher.also_expire = inbound.expire
    carriers.add_bound_listener(dispatcher.wake)
    tls = None
    if settings.smpp_tls_port is not None:
        cert, key = ensure_certificate(
            settings.tls_cert_file, settings.tls_key_file, settings.tls_dir, settings.smpp_host
        )
        tls = (settings.smpp_tls_port, server_context(cert, key))
    auth = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialtone-smpp-auth")
    allowed = settings.auth_failures_allowed
    window = settings.auth_failure_window_seconds
    block = settings.auth_block_seconds
    server = SmppServer(
        host=settings.smpp_host,
        port=settings.smpp_port,
        sessions=sessions,
        db=db,
        auth=auth,  # scrypt takes tens of milliseconds: off the writer's thread
        rules=settings.messaging_rules,
        on_stored=(
            dispatcher.wake
            if shared is None
            else functools.partial(shared.bus.publish, WAKE_MESSAGES)
        ),
        tls=tls,
        limiter=(
            FailureLimiter(allowed=allowed, window=window, block=block)
            if shared is None
            else shared.failures("smpp", allowed=allowed, window=window, block=block)
        ),
    )
    dispatcher.hooks.on_receipt = lambda message: _ignored(server.deliver_receipt(message))
    dispatcher.hooks.on_inbound = lambda message: _ignored(
        server.deliver_inbound(message.account_id, message)
    )
    platform_key = settings.sealing_key()
    webhooks = WebhookSender(
        sessions,
        db,
        platform_key,
        timeout=settings.webhook_timeout_seconds,
        policy=settings.webhook_target_policy,
        # Twilio-style deliveries are signed with the account's auth token.
        token_of=lambda account_id: token_of(sessions, platform_key, account_id),
    )
    rules = settings.messaging_rules
    # An SmsUrl's TwiML: its replies are sent in the transaction that records it.
    webhooks.answers[twiml_replies.EVENT] = lambda session, due, got: twiml_replies.answered(
        session, due, got, rules=rules, now=datetime.now(UTC)
    )
    webhooks.on_stored = dispatcher.wake
    mail = EmailSender(sessions, db, Relay.of(settings)) if settings.smtp_host else None
    try:
        try:
            await server.start()
        except OSError as exc:
            on_tls = isinstance(exc, TlsListenError)
            port = settings.smpp_tls_port if on_tls else settings.smpp_port
            raise bind_failure(
                exc,
                ("SMPP", "tls" if on_tls else "tcp", settings.smpp_host, port or 0),
                port_setting="DIALTONE_SMPP_TLS_PORT" if on_tls else "DIALTONE_SMPP_PORT",
                host_setting="DIALTONE_SMPP_HOST",
            ) from None
        await carriers.scan()
        carriers.start()
        await dispatcher.start()
        webhooks.start()
        if mail is not None:
            mail.start()
        if shared is not None:
            # Every worker hears the wake-ups; a loop this worker does not run (another
            # worker leads) looks, finds nothing due to it, and waits again.
            shared.bus.subscribe(WAKE_MESSAGES, dispatcher.wake)
            shared.bus.subscribe(WAKE_WEBHOOKS, webhooks.wake)
            if mail is not None:
                shared.bus.subscribe(WAKE_EMAIL, mail.wake)
    except BaseException:
        await server.close()
        await carriers.close()
        db.shutdown(wait=False)
        auth.shutdown(wait=False)
        raise
    return MessagingRuntime(
        carriers, dispatcher, inbound, work, db, server, webhooks, auth, email=mail, shared=shared
    )


def _ignored(sent: bool) -> None:
    """Whether a receipt or a message went to a customer's bind matters to no one here
    (what is owed is marked in the database and goes at the next bind)."""
    del sent


class LeaderMessaging:
    """SMS as the leader's duty (issue 19): the carriers' binds, the dispatcher, the
    SMPP server customers bind to, the webhook and email senders run on the worker that
    holds the leader lease, started when it is gained (the queue put back as a start
    did) and stopped at once when it is lost. ``app.state.messaging`` on every worker:
    :meth:`wake` reaches the dispatcher here, or the leader's through the shared
    wake-ups (without them, the leader's poll finds the message)."""

    name = "messaging"

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        binds: BindSettings | None = None,
        dispatch: DispatchSettings | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.binds = binds
        self.dispatch = dispatch
        self.shared = shared
        self.runtime: MessagingRuntime | None = None

    async def start(self, term: Term) -> None:
        """Start SMS with ``term``'s fence."""
        worker_id = self.settings.worker_id

        def fence(session: Session) -> bool:
            return leases.holds(
                session, leases.LEADER, worker_id, term.token, now=datetime.now(UTC)
            )

        self.runtime = await start_messaging(
            self.settings,
            self.sessions,
            binds=self.binds,
            dispatch=self.dispatch,
            leading=term.valid,
            fence=fence,
            # Its loops subscribe to the wake-ups at each start: a worker that leads
            # again leaves the stopped loops' callbacks behind (harmless, one per gain).
            shared=self.shared,
        )

    async def stop(self) -> None:
        """Stop SMS (the server first, as :meth:`MessagingRuntime.aclose` does)."""
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            await runtime.aclose()

    def wake(self) -> None:
        """A message was committed: wake the leader's dispatcher (this worker's, or
        every worker's through the shared wake-ups)."""
        runtime = self.runtime
        if runtime is not None:
            runtime.wake()
        elif self.shared is not None:
            self.shared.bus.publish(WAKE_MESSAGES)

    def wake_webhooks(self) -> None:
        """A webhook was stored: wake the leader's sender (as :meth:`wake`)."""
        runtime = self.runtime
        if runtime is not None:
            runtime.wake_webhooks()
        elif self.shared is not None:
            self.shared.bus.publish(WAKE_WEBHOOKS)

    def wake_email(self) -> None:
        """An email was stored: wake the leader's sender (as :meth:`wake`)."""
        runtime = self.runtime
        if runtime is not None:
            runtime.wake_email()
        elif self.shared is not None:
            self.shared.bus.publish(WAKE_EMAIL)
