"""deliver_sm on their way to customers' binds: receipts to the login that submitted the
message, inbound messages to any login of the account whose number received them.

Each delivery (one receipt, or the parts of one message) goes to one of the target's
bound receiver or transceiver links, in turn (round robin), its parts in order on that
link. With no link bound, or when the link is lost before the customer answered, the
delivery waits in a queue per target, in memory, sent on the target's next bind. The
queue is bounded (``queue_limit``, the oldest dropped and logged) and does not survive a
restart: the message's state is in the database, only this notice to the bind is lost.
A deliver_sm the customer refuses (any status but ESME_ROK) is logged and not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from dialtone.runtime.smpp_link import SmppLink, SmppRequestFailed
from dialtone.smpp.pdu import DeliverSm
from dialtone.smpp.session import SmppSessionError

log = logging.getLogger("dialtone.smpp")

DEFAULT_QUEUE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Target:
    """Who a delivery is for: one login's binds, or every bind of an account's logins."""

    kind: str  # "login" | "account"
    id: str


@dataclass(frozen=True, slots=True)
class _Receiver:
    login_id: str
    account_id: str


class Outbox:
    """The receiver links bound now, and what waits for one (module docstring)."""

    def __init__(self, *, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.queue_limit = queue_limit
        self._links: dict[SmppLink, _Receiver] = {}
        self._turn: dict[Target, int] = {}
        self._queues: dict[Target, deque[tuple[DeliverSm, ...]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped = 0

    def queued(self, target: Target) -> int:
        """Deliveries waiting for a bind of ``target``."""
        return len(self._queues.get(target, ()))

    def attach(self, link: SmppLink, *, login_id: str, account_id: str) -> None:
        """A receiver or transceiver bind: it takes deliveries, and those waiting for
        its login or account go now."""
        self._links[link] = _Receiver(login_id, account_id)
        for target in (Target("login", login_id), Target("account", account_id)):
            waiting = self._queues.pop(target, deque())
            for delivery in waiting:
                self.send(target, delivery)

    def detach(self, link: SmppLink) -> None:
        """The link is gone: nothing more goes to it."""
        self._links.pop(link, None)

    def _candidates(self, target: Target) -> list[SmppLink]:
        return [
            link
            for link, receiver in self._links.items()
            if (receiver.login_id if target.kind == "login" else receiver.account_id) == target.id
            and not link.closed.is_set()
        ]

    def send(self, target: Target, delivery: tuple[DeliverSm, ...]) -> None:
        """Send ``delivery`` to one of ``target``'s links, or queue it for the next."""
        links = self._candidates(target)
        if not links:
            self._queue(target, delivery, front=False)
            return
        turn = self._turn.get(target, 0)
        self._turn[target] = turn + 1
        link = links[turn % len(links)]
        task = asyncio.get_running_loop().create_task(self._deliver(link, target, delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _queue(self, target: Target, delivery: tuple[DeliverSm, ...], *, front: bool) -> None:
        queue = self._queues.setdefault(target, deque())
        if front:
            queue.appendleft(delivery)
        else:
            queue.append(delivery)
        while len(queue) > self.queue_limit:
            queue.pop() if front else queue.popleft()
            self.dropped += 1
            log.warning(
                "smpp: a deliver_sm for %s %s dropped: its queue is full", target.kind, target.id
            )

    async def _deliver(
        self, link: SmppLink, target: Target, delivery: tuple[DeliverSm, ...]
    ) -> None:
        for index, pdu in enumerate(delivery):
            try:
                answer = await link.request(pdu)
            except (SmppRequestFailed, SmppSessionError) as error:
                # Unanswered: the rest (this part on) goes to the target's next link.
                log.info("smpp %s: deliver_sm not answered (%s); kept", link.peer, error)
                self.detach(link)
                rest = delivery[index:]
                if self._candidates(target):
                    self.send(target, rest)
                else:
                    self._queue(target, rest, front=True)
                return
            if answer.command_status != 0:
                log.warning(
                    "smpp %s: deliver_sm refused with status 0x%08x; not retried",
                    link.peer,
                    answer.command_status,
                )
                return

    async def close(self) -> None:
        """Stop the deliveries under way (what they had not sent is dropped)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
