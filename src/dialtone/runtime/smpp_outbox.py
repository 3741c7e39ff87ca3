"""deliver_sm on their way to customers' binds: receipts to the login that submitted the
message, inbound messages to any login of the account whose number received them.

What a bind is owed is first a mark on the message in the database, written in the
transaction of the change it tells of (:mod:`dialtone.services.messaging.bind_notices`),
so a restart loses none. The outbox is the memory in front of that mark:

- Told of a delivery after its commit (``send``), it sends it to one of the target's
  bound receiver or transceiver links, in turn (round robin), its parts in order on that
  link. With no link bound it waits in a queue per target; the queue is bounded
  (``queue_limit``, the oldest dropped and logged) and what it drops is still marked in
  the database: it goes at the target's next bind.
- When a receiver binds (``attach``), what the database says the login and its account
  are owed is loaded (``load``, a page at a time, the next once the last is answered)
  and sent the oldest first; what comes for them meanwhile waits its turn. A delivery
  already in memory (queued, or on its way on another bind) is not sent twice. Nothing
  is loaded at start: only a bind needs it.
- The customer's answer settles a delivery (``settle``: the mark cleared, batched by the
  server's group commit): ESME_ROK, or any other status, logged and not retried. A link
  lost before the answer sends the rest (this part on) to the target's next link, or to
  the front of its queue.

A deliver_sm answered just before a crash, its mark not yet cleared, is sent again at
the next bind: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dialtone.runtime.smpp_link import SmppLink, SmppRequestFailed
from dialtone.runtime.tasks import TaskSet
from dialtone.smpp.pdu import DeliverSm
from dialtone.smpp.session import SmppSessionError

log = logging.getLogger("dialtone.smpp")

DEFAULT_QUEUE_LIMIT = 10_000
DEFAULT_PAGE = 500  # deliveries loaded at a time for a bind: built and sent, then the next


@dataclass(frozen=True, slots=True)
class Target:
    """Who a delivery is for: one login's binds, or every bind of an account's logins."""

    kind: str  # "login" | "account"
    id: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One receipt, or the parts of one inbound message: the message it tells of, since
    when it is owed (the order binds are sent it in), and its deliver_sm."""

    message_id: str
    due_at: datetime
    pdus: tuple[DeliverSm, ...]


Cursor = tuple[datetime, str]  # the last (due_at, message_id) a load returned


@dataclass(frozen=True, slots=True)
class Page:
    """What one load found, each with its target, and where the next starts (None: this
    was the last)."""

    owed: list[tuple[Target, Delivery]]
    after: Cursor | None


# (login_id, account_id, after, limit): the login's and its account's deliveries owed.
Load = Callable[[str, str, Cursor | None, int], Awaitable[Page]]
Settle = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Receiver:
    login_id: str
    account_id: str


class Outbox:
    """The receiver links bound now, and what waits for one (module docstring)."""

    def __init__(
        self,
        *,
        load: Load,
        settle: Settle,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        page: int = DEFAULT_PAGE,
    ) -> None:
        self.load = load
        self.settle = settle
        self.queue_limit = queue_limit
        self.page = page
        self._links: dict[SmppLink, _Receiver] = {}
        self._turn: dict[Target, int] = {}
        self._queues: dict[Target, OrderedDict[str, Delivery]] = {}
        # The messages whose delivery is in memory: queued, on its way, or answered and
        # being settled. Loads skip them; a dropped one leaves.
        self._held: set[str] = set()
        # Targets whose owed deliveries are being loaded: what comes for them waits.
        self._loading: Counter[Target] = Counter()
        self._catching_up: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._deliveries = TaskSet(log, "deliver_sm")
        self._settling = TaskSet(log, "deliver_sm settled")
        self._closing = False
        self.dropped = 0

    def queued(self, target: Target) -> int:
        """Deliveries waiting for a bind of ``target``."""
        return len(self._queues.get(target, ()))

    @property
    def held(self) -> int:
        """Deliveries in memory (queued, on their way, being settled)."""
        return len(self._held)

    # --- binds -------------------------------------------------------------------------

    def attach(self, link: SmppLink, *, login_id: str, account_id: str) -> None:
        """A receiver or transceiver bind: it takes deliveries, and what its login and
        account are owed is loaded and sent (module docstring)."""
        self._links[link] = _Receiver(login_id, account_id)
        key = (login_id, account_id)
        running = self._catching_up.get(key)
        if (running is not None and not running.done()) or self._closing:
            return  # one is loading for this login: this link takes its share
        targets = (Target("login", login_id), Target("account", account_id))
        self._loading.update(targets)
        task = self._deliveries.spawn(self._catch_up(login_id, account_id))
        self._catching_up[key] = task
        task.add_done_callback(lambda done: self._caught_up(key, targets, done))

    def detach(self, link: SmppLink) -> None:
        """The link is gone: nothing more goes to it."""
        self._links.pop(link, None)

    async def _catch_up(self, login_id: str, account_id: str) -> None:
        login = Target("login", login_id)
        after: Cursor | None = None
        while self._candidates(login) and not self._closing:
            try:
                page = await self.load(login_id, account_id, after, self.page)
            except Exception:
                log.exception("smpp: what %s is owed could not be loaded", login_id)
                return
            if self._closing:
                return
            sending = [
                task
                for target, delivery in page.owed
                if (task := self._resume(target, delivery)) is not None
            ]
            if page.after is None:
                return
            after = page.after
            # The next page once this one is answered: memory holds a page at a time.
            await asyncio.gather(*sending, return_exceptions=True)

    def _resume(self, target: Target, delivery: Delivery) -> asyncio.Task[None] | None:
        """Send a delivery loaded from the database, unless memory already has it."""
        queued = self._queues.get(target, OrderedDict()).pop(delivery.message_id, None)
        if queued is not None:
            delivery = queued  # what is left of it, if a link was lost during it
        elif delivery.message_id in self._held:
            return None  # on its way on another link, or being settled
        else:
            self._held.add(delivery.message_id)
        return self._dispatch(target, delivery)

    def _caught_up(
        self, key: tuple[str, str], targets: tuple[Target, ...], done: asyncio.Task[None]
    ) -> None:
        if self._catching_up.get(key) is done:
            del self._catching_up[key]
        self._loading.subtract(targets)
        for target in targets:
            if self._loading[target] <= 0:
                del self._loading[target]
                if not self._closing:
                    self._flush(target)

    def _flush(self, target: Target) -> None:
        """Send what waited for ``target``, in order, while it has links."""
        queue = self._queues.get(target)
        while queue and self._candidates(target):
            _, delivery = queue.popitem(last=False)
            self._dispatch(target, delivery)
        if not queue:
            self._queues.pop(target, None)

    def _candidates(self, target: Target) -> list[SmppLink]:
        return [
            link
            for link, receiver in self._links.items()
            if (receiver.login_id if target.kind == "login" else receiver.account_id) == target.id
            and not link.closed.is_set()
        ]

    # --- deliveries --------------------------------------------------------------------

    def send(self, target: Target, delivery: Delivery) -> None:
        """A delivery owed since its commit: to one of ``target``'s links, or queued for
        the next (a copy of one memory has already is ignored; after ``close`` it is
        left to the database)."""
        if delivery.message_id in self._held or self._closing:
            return
        self._held.add(delivery.message_id)
        if target in self._loading:
            self._queue(target, delivery, front=False)  # after the older ones being loaded
            return
        self._dispatch(target, delivery)

    def _dispatch(self, target: Target, delivery: Delivery) -> asyncio.Task[None] | None:
        links = self._candidates(target)
        if not links:
            self._queue(target, delivery, front=False)
            return None
        turn = self._turn.get(target, 0)
        self._turn[target] = turn + 1
        link = links[turn % len(links)]
        return self._deliveries.spawn(self._deliver(link, target, delivery))

    def _queue(self, target: Target, delivery: Delivery, *, front: bool) -> None:
        queue = self._queues.setdefault(target, OrderedDict())
        queue[delivery.message_id] = delivery
        if front:
            queue.move_to_end(delivery.message_id, last=False)
        while len(queue) > self.queue_limit:
            _, dropped = queue.popitem(last=front)
            self._held.discard(dropped.message_id)
            self.dropped += 1
            log.warning(
                "smpp: a deliver_sm for %s %s left memory (its queue is full); it goes at"
                " the next bind",
                target.kind,
                target.id,
            )

    async def _deliver(self, link: SmppLink, target: Target, delivery: Delivery) -> None:
        for index, pdu in enumerate(delivery.pdus):
            try:
                answer = await link.request(pdu)
            except (SmppRequestFailed, SmppSessionError) as error:
                # Unanswered: the rest (this part on) goes to the target's next link.
                log.info("smpp %s: deliver_sm not answered (%s); kept", link.peer, error)
                self.detach(link)
                rest = replace(delivery, pdus=delivery.pdus[index:])
                if self._candidates(target):
                    self._dispatch(target, rest)
                else:
                    self._queue(target, rest, front=True)
                return
            if answer.command_status != 0:
                log.warning(
                    "smpp %s: deliver_sm for %s refused with status 0x%08x; not retried",
                    link.peer,
                    delivery.message_id,
                    answer.command_status,
                )
                break
        self._settling.spawn(self._settle(delivery.message_id))

    async def _settle(self, message_id: str) -> None:
        try:
            await self.settle(message_id)
        except Exception:
            # Still marked: sent again at the next bind rather than lost.
            log.exception("smpp: the answer to %s's deliver_sm not recorded", message_id)
        finally:
            self._held.discard(message_id)

    async def close(self, grace: float = 2.0) -> None:
        """Load nothing more; let the deliveries under way be answered for ``grace``
        seconds, then stop them (what was not answered stays owed), and let the answers
        be recorded."""
        self._closing = True
        await self._deliveries.wait(grace)
        self._deliveries.cancel()
        await self._deliveries.wait(1.0)
        await self._settling.wait(10.0)
