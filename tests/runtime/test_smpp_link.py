"""The asyncio edge of an SMPP session over a real loopback connection: requests wait for
room in the window (or for a place held for them), answers come back to the awaiting
request, a silent peer times the request out, a lost connection fails what was pending."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from dialtone.runtime.smpp_link import SmppLink, SmppRequestFailed
from dialtone.smpp.constants import CommandStatus
from dialtone.smpp.pdu import Bind, BindKind, BindResp, Pdu, SubmitSm, SubmitSmResp
from dialtone.smpp.session import Role, SessionSettings


class Smsc:
    """An SMSC side that binds ``system_id``/``password`` and answers submit_sm with
    ids, or keeps them unanswered while ``hold`` is set."""

    def __init__(self) -> None:
        self.hold = False
        self.held: list[tuple[SmppLink, Pdu]] = []
        self.closed = 0
        self.count = 0

    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu.body, Bind)
        if pdu.body.password != "secret":
            link.respond(pdu, CommandStatus.ESME_RINVPASWD)
            return
        link.respond(pdu, BindResp(pdu.body.kind, "test-smsc"))

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        if self.hold:
            self.held.append((link, pdu))
            return
        self.count += 1
        link.respond(pdu, SubmitSmResp(f"id-{self.count}"))

    def on_closed(self, link: SmppLink) -> None:
        self.closed += 1


class Esme:
    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:
        raise AssertionError("an SMSC does not bind to us")

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        raise AssertionError("no deliver_sm expected")

    def on_closed(self, link: SmppLink) -> None:
        pass


async def _pair(
    smsc: Smsc, settings: SessionSettings | None = None
) -> tuple[asyncio.Server, SmppLink]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SmppLink(Role.SMSC, smsc, settings=settings), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    _, link = await loop.create_connection(
        lambda: SmppLink(Role.ESME, Esme(), settings=settings), "127.0.0.1", port
    )
    return server, link


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test on a fresh loop (the project has no asyncio pytest plugin)."""

    @functools.wraps(test)
    def wrapper() -> None:
        asyncio.run(asyncio.wait_for(test(), 30))

    return wrapper


SUBMIT = SubmitSm("+33123456789", "+33612345678", b"hello")


@run
async def test_bind_then_submits_get_their_own_answers() -> None:
    smsc = Smsc()
    server, link = await _pair(smsc)
    answer = await link.request(Bind(BindKind.TRANSCEIVER, "acme", "secret"))
    assert answer.command_status == CommandStatus.ESME_ROK
    assert link.bound.is_set()
    answers = await asyncio.gather(*(link.request(SUBMIT) for _ in range(25)))
    ids = [a.body.message_id for a in answers if isinstance(a.body, SubmitSmResp)]
    assert sorted(ids) == sorted(f"id-{i}" for i in range(1, 26))
    await link.unbind()
    await asyncio.wait_for(link.closed.wait(), 5)
    server.close()


@run
async def test_a_wrong_password_is_refused_and_the_link_stays_open() -> None:
    server, link = await _pair(Smsc())
    answer = await link.request(Bind(BindKind.TRANSMITTER, "acme", "nope"))
    assert answer.command_status == CommandStatus.ESME_RINVPASWD
    assert not link.bound.is_set()
    again = await link.request(Bind(BindKind.TRANSMITTER, "acme", "secret"))
    assert again.command_status == CommandStatus.ESME_ROK
    link.close()
    server.close()


@run
async def test_the_window_holds_requests_until_answers_come() -> None:
    smsc = Smsc()
    server, link = await _pair(smsc, SessionSettings(window=3))
    await link.request(Bind(BindKind.TRANSMITTER, "acme", "secret"))
    smsc.hold = True
    waiting = [asyncio.create_task(link.request(SUBMIT)) for _ in range(5)]
    for _ in range(50):
        await asyncio.sleep(0.01)
        if len(smsc.held) == 3:
            break
    await asyncio.sleep(0.05)
    assert len(smsc.held) == 3  # the window: two more wait on our side
    smsc.hold = False
    for held_link, pdu in smsc.held:
        held_link.respond(pdu, SubmitSmResp("late"))
    answers = await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert len(answers) == 5
    link.close()
    server.close()


@run
async def test_a_reserved_place_in_the_window_is_kept_for_its_request() -> None:
    smsc = Smsc()
    server, link = await _pair(smsc, SessionSettings(window=2))
    await link.request(Bind(BindKind.TRANSMITTER, "acme", "secret"))
    smsc.hold = True
    await link.reserve()
    await link.reserve()
    other = asyncio.create_task(link.request(SUBMIT))  # the window is held: it waits
    late = asyncio.create_task(link.reserve())
    await asyncio.sleep(0.05)
    assert (smsc.held, other.done(), late.done()) == ([], False, False)
    first = asyncio.create_task(link.request(SUBMIT, reserved=True))
    link.release()  # the second place given back unused: the waiting request takes it
    for _ in range(50):
        await asyncio.sleep(0.01)
        if len(smsc.held) == 2:
            break
    assert len(smsc.held) == 2
    assert not late.done()  # the window is full of sent requests now
    smsc.hold = False
    for held_link, pdu in smsc.held:
        held_link.respond(pdu, SubmitSmResp("late"))
    await asyncio.wait_for(asyncio.gather(first, other, late), 5)
    third = await link.request(SUBMIT, reserved=True)  # ``late``'s place
    assert isinstance(third.body, SubmitSmResp)
    link.close()
    server.close()


@run
async def test_an_unanswered_request_times_out_and_a_lost_connection_fails_the_rest() -> None:
    smsc = Smsc()
    server, link = await _pair(smsc, SessionSettings(response_timeout=0.2))
    await link.request(Bind(BindKind.TRANSMITTER, "acme", "secret"))
    smsc.hold = True
    with pytest.raises(SmppRequestFailed, match="unanswered"):
        await link.request(SUBMIT)
    pending = asyncio.create_task(link.request(SUBMIT))
    await asyncio.sleep(0.05)
    for held_link, _ in smsc.held:
        held_link.close()
    with pytest.raises(SmppRequestFailed, match="lost"):
        await asyncio.wait_for(pending, 5)
    await asyncio.wait_for(link.closed.wait(), 5)
    server.close()


@run
async def test_waiters_get_the_window_in_their_order_and_only_as_places_free() -> None:
    smsc = Smsc()
    server, link = await _pair(smsc, SessionSettings(window=2))
    await link.request(Bind(BindKind.TRANSMITTER, "acme", "secret"))
    smsc.hold = True
    bodies = [SubmitSm("+33123456789", f"+336000000{n:02d}", b"x") for n in range(40)]
    waiting = [asyncio.create_task(link.request(body)) for body in bodies]
    for round_ in range(20):  # two at a time, oldest first
        for _ in range(100):
            await asyncio.sleep(0.005)
            if len(smsc.held) == 2:
                break
        assert [pdu.body.destination_addr for _, pdu in smsc.held] == [  # type: ignore[union-attr]
            bodies[2 * round_].destination_addr,
            bodies[2 * round_ + 1].destination_addr,
        ]
        assert link._woken <= 2  # only as many woken as places came free
        answered, smsc.held = smsc.held, []
        for held_link, pdu in answered:
            held_link.respond(pdu, SubmitSmResp("ok"))
    assert len(await asyncio.wait_for(asyncio.gather(*waiting), 5)) == 40
    link.close()
    server.close()


@run
async def test_a_waiter_cancelled_after_it_was_woken_passes_its_place_on() -> None:
    smsc = Smsc()
    server, link = await _pair(smsc, SessionSettings(window=1))
    await link.request(Bind(BindKind.TRANSMITTER, "acme", "secret"))
    await link.reserve()  # the one place
    first = asyncio.create_task(link.reserve())
    second = asyncio.create_task(link.reserve())
    await asyncio.sleep(0.02)
    link.release()  # ``first`` is woken…
    first.cancel()  # …and cancelled before it ran: ``second`` gets the place
    await asyncio.wait_for(second, 2)
    assert first.cancelled()
    link.close()
    server.close()
