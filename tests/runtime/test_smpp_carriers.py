"""The carrier binds and the dispatcher over loopback, against an SMSC side scripted per
test (its answers chosen by status): bind state written to the carrier row, throttling
retried on the same bind, temporary errors failing over, permanent ones failing the
message, a lost connection bound again, deliver_sm receipts and messages acted on before
their answer. The interop tests do the same against an SMSC we did not write."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.carrier_inbound import CarrierInbound, address, receipt_in
from dialtone.runtime.db_work import DbWork
from dialtone.runtime.message_dispatcher import (
    DispatchSettings,
    Job,
    MessageDispatcher,
    source_address,
    submits,
)
from dialtone.runtime.smpp_carriers import (
    Accepted,
    BindSettings,
    CarrierBinds,
    Refused,
    Unavailable,
)
from dialtone.runtime.smpp_link import SmppLink
from dialtone.services.accounts import accounts
from dialtone.services.messaging import carriers, delivery, messages
from dialtone.services.numbering import numbers
from dialtone.smpp import tlv
from dialtone.smpp.constants import CommandStatus, MessageState, TlvTag, Ton
from dialtone.smpp.pdu import Bind, BindResp, DeliverSm, Pdu, SubmitSm, SubmitSmResp
from dialtone.smpp.session import Role
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message, MessagePart, SmppCarrier
from tests.database import migrated_database
from tests.runtime.test_smpp_link import run
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES, opt_in

KEY = b"k" * 32
FAST = BindSettings(retry_base=0.05, retry_max=0.2, scan_seconds=0.1, throttle_pause=0.05)


# -- pure parts ---------------------------------------------------------------------------


def test_submits_cut_the_text_as_it_was_counted_and_skip_accepted_parts() -> None:
    job = Job("SM" + "0" * 30 + "2a", NUMBER, RECIPIENT, "x" * 300, frozenset())
    parts = submits(job)
    assert [(seq, total) for seq, total, _ in parts] == [(1, 2), (2, 2)]
    first = parts[0][2]
    assert first.short_message[:6] == bytes((5, 0, 3, 0x2A, 2, 1))  # the id's reference
    assert (first.esm_class, first.data_coding, first.registered_delivery) == (0x40, 0, 1)
    assert (first.source_addr, first.source_addr_ton) == ("33123456789", Ton.INTERNATIONAL)
    assert (first.destination_addr, first.dest_addr_ton) == ("33612345678", Ton.INTERNATIONAL)
    again = Job(job.message_id, NUMBER, RECIPIENT, job.body, frozenset({1}))
    assert [(seq, body) for seq, _, body in submits(again)] == [(2, parts[1][2])]
    single = submits(Job("SM1", "ACME", RECIPIENT, "Café ☕", frozenset()))
    [(_, _, body)] = single
    assert (body.esm_class, body.data_coding) == (0, 8)
    assert body.short_message == "Café ☕".encode("utf-16-be")


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("+33123456789", ("33123456789", Ton.INTERNATIONAL, 1)),
        ("ACME", ("ACME", Ton.ALPHANUMERIC, 0)),
        ("Acme 2", ("Acme 2", Ton.ALPHANUMERIC, 0)),
    ],
)
def test_source_address(sender: str, expected: tuple[str, int, int]) -> None:
    assert source_address(sender) == expected


@pytest.mark.parametrize(
    ("value", "ton", "expected"),
    [
        ("33612345678", Ton.INTERNATIONAL, "+33612345678"),
        ("+33612345678", Ton.INTERNATIONAL, "+33612345678"),
        ("33612345678", Ton.UNKNOWN, "+33612345678"),
        ("0612345678", Ton.NATIONAL, "0612345678"),
        ("ACME", Ton.ALPHANUMERIC, "ACME"),
        ("", Ton.UNKNOWN, ""),
    ],
)
def test_inbound_addresses(value: str, ton: int, expected: str) -> None:
    assert address(value, ton) == expected


def test_a_receipt_is_known_by_its_esm_class_or_its_tlv_alone() -> None:
    text = b"id:77 sub:001 dlvrd:001 submit date:2611020900 done date:2611020901 stat:DELIVRD"
    by_class = receipt_in(DeliverSm("336", "331", text, esm_class=0x04))
    assert by_class is not None
    assert by_class.message_id == "77"
    assert by_class.state is MessageState.DELIVERED
    tlvs = (
        tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "88"),
        tlv.integer(TlvTag.MESSAGE_STATE, MessageState.UNDELIVERABLE, 1),
    )
    by_tlv = receipt_in(DeliverSm("336", "331", b"", tlvs=tlvs))
    assert by_tlv is not None
    assert (by_tlv.message_id, by_tlv.state) == (
        "88",
        MessageState.UNDELIVERABLE,
    )
    assert receipt_in(DeliverSm("336", "331", b"hello")) is None


# -- a scripted SMSC ----------------------------------------------------------------------


@dataclass
class Smsc:
    """Binds ``dialtone``/``secret``; answers each submit_sm with the next status of
    ``script`` (ESME_ROK once it is empty) and an id; ``close_after`` closes the
    connection after that many submit_sm."""

    script: list[int] = field(default_factory=list)
    submits: list[SubmitSm] = field(default_factory=list)
    links: list[SmppLink] = field(default_factory=list)
    answers: list[Pdu] = field(default_factory=list)
    close_after: int | None = None
    on_submit: Callable[[SubmitSm], None] | None = None  # called as each one arrives

    def on_bind(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu.body, Bind)
        self.links.append(link)
        if pdu.body.password != "secret":
            link.respond(pdu, CommandStatus.ESME_RINVPASWD)
            return
        link.respond(pdu, BindResp(pdu.body.kind, "smsc"))

    def on_request(self, link: SmppLink, pdu: Pdu) -> None:
        assert isinstance(pdu.body, SubmitSm)
        status = self.script.pop(0) if self.script else 0
        self.submits.append(pdu.body)
        if self.on_submit is not None:
            self.on_submit(pdu.body)
        if status:
            link.respond(pdu, status)
        else:
            link.respond(pdu, SubmitSmResp(f"id-{len(self.submits)}"))
        if self.close_after is not None and len(self.submits) >= self.close_after:
            self.close_after = None
            link.close()

    def on_closed(self, link: SmppLink) -> None:
        pass


@dataclass
class Setup:
    sessions: sessionmaker[Session]
    binds: CarrierBinds
    work: DbWork
    account: str
    ports: dict[str, int]


@asynccontextmanager
async def carriers_running(
    tmp: Path, *smscs: Smsc, password: str = "secret"
) -> AsyncIterator[Setup]:
    """The SMSCs listening, one carrier each (priority in their order), their binds run."""
    loop = asyncio.get_running_loop()
    _, sessions = migrated_database(tmp / "db.sqlite")
    servers = [
        await loop.create_server(functools.partial(SmppLink, Role.SMSC, s), "127.0.0.1", 0)
        for s in smscs
    ]
    ports: dict[str, int] = {}
    with transaction(sessions) as session:
        account = accounts.create_account(session, "Acme", now=NOW).account.id
        numbers.add_number(session, account, NUMBER, now=NOW)
        opt_in(session, account, RECIPIENT)
        for index, server in enumerate(servers):
            port = server.sockets[0].getsockname()[1]
            row = carriers.create_carrier(
                session,
                carriers.CarrierIn(
                    f"c{index}", "127.0.0.1", port, "dialtone", password, priority=index
                ),
                key=KEY,
                now=NOW,
            )
            ports[row.id] = port
    db = ThreadPoolExecutor(1)
    work = DbWork(sessions, db)
    binds = CarrierBinds(sessions=sessions, db=db, work=work, key=KEY, settings=FAST)
    await binds.scan()
    binds.start()
    try:
        yield Setup(sessions, binds, work, account, ports)
    finally:
        await binds.close()
        for server in servers:
            server.close()
        db.shutdown(wait=True)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "never came true"
        await asyncio.sleep(0.01)


def bind_state(setup: Setup, carrier_id: str) -> tuple[str | None, str | None]:
    with transaction(setup.sessions) as session:
        row = session.get(SmppCarrier, carrier_id)
        assert row is not None
        return row.bind_state, row.bind_error


BODY = SubmitSm("33123456789", "33612345678", b"hello")


def test_a_bound_carrier_takes_the_part_and_its_state_is_stored(tmp_path: Path) -> None:
    @run
    async def scenario() -> None:
        smsc = Smsc()
        async with carriers_running(tmp_path, smsc) as setup:
            await until(lambda: setup.binds.any_bound)
            [carrier_id] = setup.ports
            await until(lambda: bind_state(setup, carrier_id) == ("bound", None))
            assert await setup.binds.submit(RECIPIENT, BODY) == Accepted(carrier_id, "id-1")
        assert bind_state(setup, carrier_id)[0] == "stopped"

    scenario()


def test_throttling_is_retried_on_the_same_bind(tmp_path: Path) -> None:
    @run
    async def scenario() -> None:
        smsc = Smsc(script=[CommandStatus.ESME_RTHROTTLED] * 2)
        async with carriers_running(tmp_path, smsc) as setup:
            await until(lambda: setup.binds.any_bound)
            result = await setup.binds.submit(RECIPIENT, BODY)
            assert isinstance(result, Accepted)
            assert result.message_id == "id-3"
            assert len(smsc.links) == 1

    scenario()


def test_temporary_errors_fail_over_and_permanent_ones_do_not(tmp_path: Path) -> None:
    @run
    async def scenario() -> None:
        first, second = Smsc(script=[CommandStatus.ESME_RMSGQFUL]), Smsc()
        async with carriers_running(tmp_path, first, second) as setup:
            await until(lambda: all(b.bound for b in setup.binds.binds.values()))
            one, two = setup.ports
            assert await setup.binds.submit(RECIPIENT, BODY) == Accepted(two, "id-1")
            first.script = [CommandStatus.ESME_RINVDSTADR]
            refused = await setup.binds.submit(RECIPIENT, BODY)
            assert isinstance(refused, Refused)
            assert refused.carrier_id == one
            assert "ESME_RINVDSTADR" in refused.reason
            assert len(second.submits) == 1  # not tried: it would refuse too

    scenario()


def test_a_lost_connection_is_bound_again_and_a_wrong_password_is_stored(
    tmp_path: Path,
) -> None:
    @run
    async def scenario() -> None:
        smsc = Smsc(close_after=1)
        async with carriers_running(tmp_path, smsc) as setup:
            await until(lambda: setup.binds.any_bound)
            assert isinstance(await setup.binds.submit(RECIPIENT, BODY), Accepted)
            await until(lambda: len(smsc.links) == 2 and setup.binds.any_bound)
            assert isinstance(await setup.binds.submit(RECIPIENT, BODY), Accepted)

    scenario()

    @run
    async def refused() -> None:
        async with carriers_running(tmp_path / "b", Smsc(), password="wrong") as setup:
            [carrier_id] = setup.ports
            await until(lambda: bind_state(setup, carrier_id)[0] == "failed")
            assert "ESME_RINVPASWD" in (bind_state(setup, carrier_id)[1] or "")
            result = await setup.binds.submit(RECIPIENT, BODY)
            assert result == Unavailable("no carrier for this recipient is bound", routable=True)

    (tmp_path / "b").mkdir()
    refused()


def _message(setup: Setup, body: str) -> str:
    with transaction(setup.sessions) as session:
        row, _ = messages.send(
            session,
            setup.account,
            messages.Outgoing(sender=NUMBER, to=RECIPIENT, body=body),
            rules=RULES,
            now=NOW,
        )
        return row.id


def _status(setup: Setup, message_id: str) -> tuple[str, str | None, int]:
    with transaction(setup.sessions) as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row.status, row.error_code, len(delivery.accepted_parts(session, message_id))


def test_the_dispatcher_sends_records_and_acts_on_receipts(tmp_path: Path) -> None:
    @run
    async def scenario() -> None:
        smsc = Smsc()
        async with carriers_running(tmp_path, smsc) as setup:

            def clock() -> datetime:
                return NOW + timedelta(minutes=1)

            dispatcher = MessageDispatcher(
                work=setup.work,
                carriers=setup.binds,
                settings=DispatchSettings(poll_seconds=0.05),
                wallclock=clock,
            )
            receipts: list[Message] = []
            dispatcher.hooks.on_receipt = receipts.append
            inbound = CarrierInbound(
                setup.work, RULES, wake=dispatcher.wake, hooks=dispatcher.hooks, wallclock=clock
            )
            setup.binds.on_deliver = inbound.on_deliver
            setup.binds.add_bound_listener(dispatcher.wake)
            long_id = _message(setup, "y" * 300)
            await dispatcher.start()
            await until(lambda: _status(setup, long_id) == ("sent", None, 2))
            assert [s.short_message[5] for s in smsc.submits] == [1, 2]
            # The receipts of both parts, as the SMSC sends them: answered once stored.
            [link] = smsc.links
            for n in (1, 2):
                receipt = DeliverSm(
                    "33612345678",
                    "33123456789",
                    f"id:id-{n} sub:001 dlvrd:001 stat:DELIVRD err:000".encode(),
                    esm_class=0x04,
                )
                answer = await link.request(receipt)
                assert answer.command_status == CommandStatus.ESME_ROK
            assert _status(setup, long_id) == ("delivered", None, 2)
            assert [m.status for m in receipts] == ["sent", "delivered"]
            receipts.clear()
            # An inbound STOP: stored, answered, its confirmation queued and sent.
            stop = DeliverSm("33612345678", "33123456789", b"STOP")
            assert (await link.request(stop)).command_status == CommandStatus.ESME_ROK
            # In French (the recipient's number), in UCS-2: two parts, both sent before
            # the SMSC's script changes.
            await until(lambda: len(smsc.submits) == 4)
            assert [s.destination_addr for s in smsc.submits[2:]] == ["33612345678"] * 2
            nobody = DeliverSm("33612345678", "33999999999", b"hello")
            assert (await link.request(nobody)).command_status == CommandStatus.ESME_RINVDSTADR
            smsc.script = [CommandStatus.ESME_RINVDSTADR]
            bad_id = _message(setup, "refused")
            dispatcher.wake()
            await until(lambda: _status(setup, bad_id)[:2] == ("failed", "sms.carrier_refused"))
            # The hook runs once the dispatcher resumes after the commit the poll saw.
            await until(lambda: [m.id for m in receipts] == [bad_id])
            await dispatcher.close()

    scenario()


def _parts(setup: Setup, message_id: str) -> list[tuple[int, str]]:
    with transaction(setup.sessions) as session:
        rows = session.scalars(
            select(MessagePart).where(MessagePart.message_id == message_id).order_by("seq")
        )
        return [(p.seq, p.status) for p in rows]


def test_each_part_is_on_record_before_its_submit_sm_reaches_the_smsc(tmp_path: Path) -> None:
    @run
    async def scenario() -> None:
        # Part 1 throttled then taken; part 2 refused for now (a temporary error, one
        # carrier: the message is queued again), then taken.
        smsc = Smsc(script=[CommandStatus.ESME_RTHROTTLED, 0, CommandStatus.ESME_RMSGQFUL])
        async with carriers_running(tmp_path, smsc) as setup:
            await until(lambda: setup.binds.any_bound)
            long_id = _message(setup, "z" * 300)
            seen: list[list[tuple[int, str]]] = []
            loop = asyncio.get_running_loop()
            start = loop.time() - 60
            smsc.on_submit = lambda _: seen.append(_parts(setup, long_id))
            dispatcher = MessageDispatcher(
                work=setup.work,
                carriers=setup.binds,
                settings=DispatchSettings(poll_seconds=0.05, retry_seconds=0.1),
                wallclock=lambda: NOW + timedelta(seconds=loop.time() - start),  # moves: a retry
            )
            await dispatcher.start()
            await until(lambda: _status(setup, long_id)[::2] == ("sent", 2))
            await dispatcher.close()
            assert seen == [
                [(1, "submitting")],
                [(1, "submitting")],  # the throttled one, again
                [(1, "sent"), (2, "submitting")],
                [(1, "sent"), (2, "submitting")],  # part 2 withdrawn, then sent again
            ]
            assert [s.short_message[5] for s in smsc.submits] == [1, 1, 2, 2]
            assert _parts(setup, long_id) == [(1, "sent"), (2, "sent")]

    scenario()


class SlowIntent:
    """An intent whose commit takes a while: what it was told, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.committing = asyncio.Event()

    async def writing(self, carrier_id: str) -> None:
        self.calls.append("writing")
        self.committing.set()
        await asyncio.sleep(1)

    async def withdrawn(self) -> None:
        self.calls.append("withdrawn")


def test_a_send_stopped_during_its_intents_commit_withdraws_it(tmp_path: Path) -> None:
    @run
    async def scenario() -> None:
        smsc = Smsc()
        async with carriers_running(tmp_path, smsc) as setup:
            await until(lambda: setup.binds.any_bound)
            intent = SlowIntent()
            sending = asyncio.create_task(setup.binds.submit(RECIPIENT, BODY, intent))
            await intent.committing.wait()
            sending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            assert intent.calls == ["writing", "withdrawn"]  # never written: not in doubt
            assert smsc.submits == []
            # The bind goes on.
            assert await setup.binds.submit(RECIPIENT, BODY) == Accepted(
                next(iter(setup.ports)), "id-1"
            )

    scenario()
