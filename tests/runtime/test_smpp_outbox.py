"""The outbox in front of what binds are owed, with links that answer as told and a
store in memory standing for the database: a refusal settles, a lost link's rest goes
next (not the whole again), a bind loads a page at a time, the oldest first, before what
comes meanwhile, nothing in memory is sent twice, a drop leaves memory only, and an
answer not recorded leaves the delivery owed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from dialtone.runtime.smpp_link import SmppLink, SmppRequestFailed
from dialtone.runtime.smpp_outbox import Cursor, Delivery, Outbox, Page, Target
from dialtone.smpp.delivering import message_pdus
from dialtone.smpp.pdu import DeliverSm

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LOGIN, ACCOUNT = Target("login", "SL1"), Target("account", "AC1")


def delivery(n: int, text: str = "hi") -> Delivery:
    """Message ``SM<n>``, owed since ``n`` seconds after T."""
    pdus = message_pdus(sender="+33612345678", recipient="+33123456789", text=text, reference=n)
    return Delivery(f"SM{n}", T + timedelta(seconds=n), tuple(pdus))


class Link:
    """A customer's bind: records each deliver_sm, answers ``status``; loses the
    connection at request ``lose_at`` (0-based); holds answers while ``gate`` is shut."""

    def __init__(self, name: str, *, status: int = 0, lose_at: int | None = None) -> None:
        self.peer = name
        self.status = status
        self.lose_at = lose_at
        self.closed = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()
        self.sent: list[DeliverSm] = []

    async def request(self, pdu: DeliverSm) -> Any:
        if self.lose_at is not None and len(self.sent) >= self.lose_at:
            self.closed.set()
            raise SmppRequestFailed("the connection is closed")
        self.sent.append(pdu)
        await self.gate.wait()
        return SimpleNamespace(command_status=self.status)


class Store:
    """The database's marks: what is owed, in order; loads and settles recorded."""

    def __init__(self, *owed: tuple[Target, Delivery]) -> None:
        self.owed = sorted(owed, key=lambda o: (o[1].due_at, o[1].message_id))
        self.loads: list[Cursor | None] = []
        self.settled: list[str] = []
        self.open = asyncio.Event()
        self.open.set()
        self.failing = False

    async def load(self, login: str, account: str, after: Cursor | None, limit: int) -> Page:
        self.loads.append(after)
        await self.open.wait()
        rows = [
            o
            for o in self.owed
            if o[0] in (Target("login", login), Target("account", account))
            and (after is None or (o[1].due_at, o[1].message_id) > after)
        ][:limit]
        last = rows[-1][1] if len(rows) == limit else None
        return Page(rows, None if last is None else (last.due_at, last.message_id))

    async def settle(self, message_id: str) -> None:
        await asyncio.sleep(0)
        if self.failing:
            raise RuntimeError("the database is gone")
        self.settled.append(message_id)
        self.owed = [o for o in self.owed if o[1].message_id != message_id]


def outbox(store: Store, **options: int) -> Outbox:
    return Outbox(load=store.load, settle=store.settle, **options)


def attach(box: Outbox, link: Link) -> None:
    box.attach(cast(SmppLink, link), login_id="SL1", account_id="AC1")


async def settle_down() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def texts(link: Link) -> list[bytes]:
    return [pdu.short_message for pdu in link.sent]


def test_a_refused_deliver_sm_is_settled_and_not_retried() -> None:
    async def scenario() -> None:
        store = Store((LOGIN, delivery(1)))
        box, link = outbox(store), Link("a", status=0x45)
        attach(box, link)
        await settle_down()
        assert (len(link.sent), store.settled, box.held) == (1, ["SM1"], 0)
        attach(box, Link("b"))  # another bind: nothing is owed any more
        await settle_down()
        assert store.settled == ["SM1"]

    run(scenario)


def test_a_link_lost_mid_message_sends_only_the_rest_at_the_next_bind() -> None:
    async def scenario() -> None:
        long = delivery(1, "Ж" * 80)  # two parts
        store = Store((ACCOUNT, long))
        box, lost = outbox(store), Link("a", lose_at=1)
        attach(box, lost)
        await settle_down()
        assert (len(lost.sent), box.queued(ACCOUNT), store.settled) == (1, 1, [])
        second = Link("b")
        attach(box, second)  # the store still has the whole message owed
        await settle_down()
        assert texts(second) == [long.pdus[1].short_message]
        assert (store.settled, box.held, box.queued(ACCOUNT)) == (["SM1"], 0, 0)

    run(scenario)


def test_a_bind_loads_a_page_at_a_time_the_next_once_it_is_answered() -> None:
    async def scenario() -> None:
        owed = [delivery(n) for n in (5, 1, 4, 2, 3)]
        store = Store(*((LOGIN, d) for d in owed))
        box, link = outbox(store, page=2), Link("a")
        link.gate.clear()
        attach(box, link)
        await settle_down()
        assert (len(link.sent), len(store.loads)) == (2, 1)  # the first page, unanswered
        link.gate.set()
        await settle_down()
        assert store.settled == ["SM1", "SM2", "SM3", "SM4", "SM5"]
        assert store.loads == [
            None,
            (T + timedelta(seconds=2), "SM2"),
            (T + timedelta(seconds=4), "SM4"),
        ]

    run(scenario)


def test_what_comes_while_a_bind_loads_waits_for_the_older_ones() -> None:
    async def scenario() -> None:
        store = Store((LOGIN, delivery(1)), (ACCOUNT, delivery(2)))
        store.open.clear()
        box, link = outbox(store), Link("a")
        attach(box, link)
        await settle_down()
        box.send(LOGIN, delivery(3))  # committed meanwhile
        await settle_down()
        assert (link.sent, box.queued(LOGIN)) == ([], 1)
        store.open.set()
        await settle_down()
        assert store.settled == ["SM1", "SM2", "SM3"]

    run(scenario)


def test_a_delivery_memory_has_is_not_sent_twice() -> None:
    async def scenario() -> None:
        first = delivery(1)
        store = Store((LOGIN, first))
        box = outbox(store)
        box.send(LOGIN, first)  # told after its commit, nothing bound: queued
        link = Link("a")
        link.gate.clear()
        attach(box, link)  # the store has it too
        await settle_down()
        box.send(LOGIN, first)  # told again (a carrier's repeated receipt)
        second = Link("b")
        attach(box, second)  # another bind of the login: loads while it is on its way
        await settle_down()
        link.gate.set()
        await settle_down()
        assert (len(link.sent) + len(second.sent), store.settled) == (1, ["SM1"])

    run(scenario)


def test_a_delivery_dropped_from_a_full_queue_leaves_memory_only() -> None:
    async def scenario() -> None:
        owed = [delivery(n) for n in (1, 2, 3)]
        store = Store(*((LOGIN, d) for d in owed))
        box = outbox(store, queue_limit=1)
        for d in owed:
            box.send(LOGIN, d)
        assert (box.dropped, box.queued(LOGIN), box.held) == (2, 1, 1)
        link = Link("a")
        attach(box, link)
        await settle_down()
        assert [p.short_message for p in link.sent] == [b"hi"] * 3
        assert store.settled == ["SM1", "SM2", "SM3"]

    run(scenario)


def test_an_answer_not_recorded_leaves_the_delivery_owed() -> None:
    async def scenario() -> None:
        store = Store((LOGIN, delivery(1)))
        store.failing = True
        box, link = outbox(store), Link("a")
        attach(box, link)
        await settle_down()
        assert (len(link.sent), store.settled, box.held) == (1, [], 0)
        store.failing = False
        again = Link("b")
        attach(box, again)  # the next bind is sent it again: at least once
        await settle_down()
        assert (len(again.sent), store.settled) == (1, ["SM1"])

    run(scenario)


def test_an_accounts_messages_go_to_its_binds_in_turn() -> None:
    async def scenario() -> None:
        store = Store()
        box, first, second = outbox(store), Link("a"), Link("b")
        attach(box, first)
        attach(box, second)
        await settle_down()
        for n in (1, 2, 3):
            box.send(ACCOUNT, delivery(n))
        await settle_down()
        assert (len(first.sent), len(second.sent)) == (2, 1)
        assert store.settled == ["SM1", "SM2", "SM3"]

    run(scenario)


def test_close_lets_answers_on_their_way_come_then_leaves_the_rest_owed() -> None:
    async def scenario() -> None:
        other = Target("login", "SL2")
        store = Store((LOGIN, delivery(1)), (other, delivery(2)))
        box, slow, mute = outbox(store), Link("a"), Link("b")
        slow.gate.clear()
        mute.gate.clear()  # never answers
        attach(box, slow)
        box.attach(cast(SmppLink, mute), login_id="SL2", account_id="AC2")
        await settle_down()
        assert (len(slow.sent), len(mute.sent)) == (1, 1)  # both on their way
        asyncio.get_running_loop().call_later(0.05, slow.gate.set)
        await box.close(grace=0.3)
        assert store.settled == ["SM1"]  # answered within the grace
        assert [o[1].message_id for o in store.owed] == ["SM2"]  # unanswered: still owed
        box.send(LOGIN, delivery(3))  # told after the close: left to the database
        await settle_down()
        assert (box.queued(LOGIN), len(slow.sent)) == (0, 1)

    run(scenario)
