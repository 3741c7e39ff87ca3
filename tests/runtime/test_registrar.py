"""The registrar's start with several workers (issue 19): TCP/TLS bindings are marked
with the worker whose connection they live on, and a start drops only its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialtone.runtime.registrar import Registrar
from dialtone.services.accounts import accounts
from dialtone.services.telephony import registrations, users
from dialtone.sip.registrar import BindingTable, RegistrarSettings
from dialtone.store.db import transaction
from tests.database import migrated_database

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def _binding(contact: str, transport: str, worker: str | None) -> registrations.Binding:
    return registrations.Binding(
        contact=f"sip:{contact}@192.0.2.1",
        source=f"{transport}:192.0.2.1:{5060 + len(contact)}",
        transport=transport,
        user_agent=None,
        call_id=contact,
        cseq=1,
        expires_at=NOW + timedelta(hours=1),
        worker_id=worker,
    )


def test_a_start_drops_its_own_flow_bindings_and_keeps_other_workers(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account = accounts.create_account(session, "A", now=NOW).account.id
        user = users.create_user(session, account, name="Al", now=NOW, realm="dialtone")
        registrations.replace_bindings(
            session,
            user,
            [
                _binding("udp", "udp", None),
                _binding("mine", "tcp", "w1"),
                _binding("theirs", "tls", "w2"),
                _binding("older", "tcp", None),  # stored before workers were named
            ],
            now=NOW,
        )
        user_id = user.id
    with ThreadPoolExecutor(1) as db:
        registrar = Registrar(
            BindingTable(RegistrarSettings()),
            sessions=sessions,
            db=db,
            clock=NOW.timestamp,
            worker_id="w1",
        )
        assert registrar.restore() == 1
    assert [b.call_id for b in registrar.contacts(user_id)] == ["udp"]
    with transaction(sessions) as session:
        stored = registrations.active_bindings(session, now=NOW)
    assert sorted((b.call_id, b.worker_id) for _, b in stored) == [
        ("theirs", "w2"),
        ("udp", None),
    ]


def test_a_dead_worker_s_flow_bindings_go_with_it(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account = accounts.create_account(session, "A", now=NOW).account.id
        user = users.create_user(session, account, name="Al", now=NOW, realm="dialtone")
        registrations.replace_bindings(
            session,
            user,
            [_binding("dead", "tcp", "w3"), _binding("live", "tcp", "w2")],
            now=NOW,
        )
    with ThreadPoolExecutor(1) as db:
        Registrar(
            BindingTable(RegistrarSettings()),
            sessions=sessions,
            db=db,
            clock=NOW.timestamp,
            worker_id="w1",
            dead_workers=frozenset({"w3"}),
        ).restore()
    with transaction(sessions) as session:
        stored = registrations.active_bindings(session, now=NOW)
    assert [b.call_id for _, b in stored] == ["live"]
