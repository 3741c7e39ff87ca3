"""Fixtures of the engine's tests: a database, the reader thread, and a ``CallEngine``
over them with nothing else real (no channels; stand-ins for the authenticator, the
bridge and the answering machine; a registrar that knows no device; an audit log kept
in memory), its look-up cache at 60 s and its clock at ``T0``."""

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
from dialtone.store.db import open_database

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    _, factory = open_database(f"sqlite:///{tmp_path / 'engine.db'}")
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


@pytest.fixture
def engine(
    sessions: sessionmaker[Session], reads: ThreadPoolExecutor, tmp_path: Path, audit: Audit
) -> CallEngine:
    stand_in = cast(Any, SimpleNamespace())
    return CallEngine(
        channels={},
        sessions=sessions,
        reads=reads,
        config=EngineConfig(
            advertised_host="127.0.0.1",
            greetings_dir=tmp_path,
            recordings_dir=tmp_path,
            voicemail_dir=tmp_path,
            lookup_cache_seconds=60,
        ),
        authenticator=stand_in,
        registrar=cast(Any, SimpleNamespace(contacts=lambda user_id: [])),
        bridge=cast(Any, SimpleNamespace()),
        answering=stand_in,
        audit=cast(Any, audit),
        wallclock=lambda: T0,
    )
