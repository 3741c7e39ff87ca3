"""Fixtures of the engine's tests: a database, the reader thread, and a ``CallEngine``
over them with nothing else real (no channels; stand-ins for the authenticator, the
bridge and the answering machine; a registrar that knows no device; an audit log kept
in memory), its look-up cache at 60 s and its clock at ``T0``; ``stand_in_engine`` builds
one with other parts real (a registrar's contacts, channels)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.engine import CallEngine
from dialtone.runtime.engine_context import EngineConfig
from dialtone.services.accounts.audit import AuditEntry
from tests.database import migrated_database

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    _, factory = migrated_database(tmp_path / "engine.db")
    return factory


@pytest.fixture
def reads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as pool:
        yield pool


class Audit:
    """The audit log, in memory."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def write(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


@pytest.fixture
def audit() -> Audit:
    return Audit()


def stand_in_engine(
    tmp: Path,
    *,
    sessions: Any = None,
    reads: Any = None,
    audit: Any = None,
    contacts: list[Any] | None = None,
    channels: dict[str, Any] | None = None,
    advertised_host: str = "127.0.0.1",
) -> CallEngine:
    """A ``CallEngine`` with stand-ins wherever nothing real is passed; the registrar
    knows ``contacts`` for every user."""
    stand_in = cast(Any, SimpleNamespace())
    known = contacts or []

    async def _reach(user_id: str) -> list[Any]:
        return known

    return CallEngine(
        channels=channels or {},
        sessions=sessions if sessions is not None else stand_in,
        reads=reads if reads is not None else stand_in,
        config=EngineConfig(
            advertised_host=advertised_host,
            greetings_dir=tmp,
            recordings_dir=tmp,
            voicemail_dir=tmp,
            lookup_cache_seconds=60,
        ),
        authenticator=stand_in,
        registrar=cast(Any, SimpleNamespace(contacts=lambda user_id: known, reachable=_reach)),
        bridge=cast(Any, SimpleNamespace()),
        answering=stand_in,
        audit=audit if audit is not None else stand_in,
        wallclock=lambda: T0,
    )


@pytest.fixture
def engine(
    sessions: sessionmaker[Session], reads: ThreadPoolExecutor, tmp_path: Path, audit: Audit
) -> CallEngine:
    return stand_in_engine(tmp_path, sessions=sessions, reads=reads, audit=audit)
