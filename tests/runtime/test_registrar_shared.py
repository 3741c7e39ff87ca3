"""The registrar shared by several workers behind an edge (issue 19): the store is its
truth. A phone registered through one worker is reached from another, through its Path;
a refresh on another worker keeps the user's other devices."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from dialtone.runtime.registrar import Registrar
from dialtone.services.accounts import accounts
from dialtone.services.telephony import users
from dialtone.sip.message import Request, parse_message
from dialtone.sip.registrar import BindingTable
from dialtone.store.db import transaction
from tests.database import migrated_database

PATH = "<sip:edge@192.0.2.1:5060;lr;received=sip:203.0.113.7:5062>"


def register(contact: str, call_id: str, cseq: int = 1) -> Request:
    text = (
        "REGISTER sip:192.0.2.1:5060 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\n"
        f"Path: {PATH}\r\n"
        "From: <sip:bob@192.0.2.1:5060>;tag=b\r\nTo: <sip:bob@192.0.2.1:5060>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <{contact}>\r\n"
        "Expires: 600\r\nContent-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def test_workers_share_the_bindings_through_the_store(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account = accounts.create_account(session, "A", now=datetime.now(UTC)).account
        user_id = users.create_user(
            session, account.id, name="Bob", sip_username="bob", now=datetime.now(UTC), realm="t"
        ).id

    def worker(shared: bool) -> Registrar:
        return Registrar(
            BindingTable(),
            sessions=sessions,
            db=ThreadPoolExecutor(1),
            shared=shared,
        )

    async def scenario() -> None:
        one, two, alone = worker(True), worker(True), worker(False)
        desk = "sip:bob@10.1.1.1:5060"
        done = await one.register(user_id, register(desk, "c1"), source=("203.0.113.7", 5062),
                                  transport="udp")  # fmt: skip
        assert done.status == 200
        # The other worker reaches the phone, through the edge with the Path as Route.
        [binding] = await two.reachable(user_id)
        assert binding.contact == desk
        assert binding.path == (PATH,)
        assert binding.target() == ("192.0.2.1", 5060)
        assert binding.source == ("203.0.113.7", 5062)
        # Not shared: a worker knows only its own REGISTERs (one worker, as before).
        assert await alone.reachable(user_id) == []
        # A second device registers through the other worker: both stay.
        mobile = "sip:bob@10.1.1.2:5060"
        await two.register(user_id, register(mobile, "c2"), source=("203.0.113.8", 5060),
                           transport="udp")  # fmt: skip
        assert sorted(b.contact for b in await one.reachable(user_id)) == [desk, mobile]
        # The desk phone's refresh lands on the other worker: a refresh, not out of order.
        again = await two.register(user_id, register(desk, "c1", cseq=2),
                                   source=("203.0.113.7", 5062), transport="udp")  # fmt: skip
        assert again.status == 200
        assert len(await one.reachable(user_id)) == 2

    asyncio.run(scenario())
