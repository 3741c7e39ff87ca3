"""SMS in a running platform (issue 15): the carrier binds, the dispatcher that sends
stored messages through them, what the carriers deliver, and the database thread they
share.

``serve`` starts it after SIP and closes it before SIP closes; the API reaches it as
``app.state.messaging`` to ``wake()`` the dispatcher once a message is committed.

The SMPP server for customers' software plugs in as ``server``: build it with this
runtime's ``wake`` (call it after committing a submit_sm) and set the dispatcher's
hooks (``dispatcher.hooks.on_receipt``, ``.on_inbound``) to pass DLRs and inbound
messages to the customer's bind. ``aclose`` closes it first (it takes no more
submit_sm), through its ``aclose()``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from dialtone.settings import Settings

from .carrier_inbound import CarrierInbound
from .db_work import DbWork
from .message_dispatcher import DispatchSettings, MessageDispatcher
from .smpp_carriers import BindSettings, CarrierBinds

log = logging.getLogger("dialtone.smpp")


class PluggedServer(Protocol):
    """What the runtime needs of the customers' SMPP server: to stop it."""

    async def aclose(self) -> None: ...


@dataclass
class MessagingRuntime:
    """The outbound side of SMS, running."""

    carriers: CarrierBinds
    dispatcher: MessageDispatcher
    inbound: CarrierInbound
    work: DbWork
    db: ThreadPoolExecutor
    # The SMPP server customers' software binds to (another part of issue 15): set by
    # whoever starts it, closed first by ``aclose``.
    server: PluggedServer | None = field(default=None)

    def wake(self) -> None:
        """A message was committed: send it now rather than at the next poll.
        Callable from any thread (the API's handlers run in a pool)."""
        self.dispatcher.wake()

    async def aclose(self) -> None:
        """Stop taking messages (the server first), let the parts in flight be answered
        and recorded, unbind the carriers, then stop the database thread."""
        if self.server is not None:
            try:
                await self.server.aclose()
            except Exception:
                log.exception("the SMPP server did not close cleanly")
        await self.dispatcher.close()
        await self.inbound.close()
        await self.carriers.close()
        await self.work.close()
        self.db.shutdown(wait=True)


async def start_messaging(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    binds: BindSettings | None = None,
    dispatch: DispatchSettings | None = None,
) -> MessagingRuntime:
    """Bind the enabled carriers, queue again what a stop interrupted, start sending."""
    db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialtone-sms-db")
    work = DbWork(sessions, db)
    carriers = CarrierBinds(
        sessions=sessions, db=db, work=work, key=settings.sealing_key(), settings=binds
    )
    dispatcher = MessageDispatcher(work=work, carriers=carriers, settings=dispatch)
    inbound = CarrierInbound(
        work, settings.messaging_rules, wake=dispatcher.wake, hooks=dispatcher.hooks
    )
    carriers.on_deliver = inbound.on_deliver
    dispatcher.also_expire = inbound.expire
    carriers.add_bound_listener(dispatcher.wake)
    try:
        await carriers.scan()
        carriers.start()
        await dispatcher.start()
    except BaseException:
        await carriers.close()
        db.shutdown(wait=False)
        raise
    return MessagingRuntime(carriers, dispatcher, inbound, work, db)
