"""A migrated database for a test, without running Alembic for every test.

Running the migrations takes about a second of CPU (most of it Alembic's batch table
rebuilds), paid once by every test that opens a fresh database: minutes of CI in all.
A test process migrates one template database, once, and each test gets a copy of
it: the same schema and the same rows a fresh ``open_database`` leaves, through the
same engine (``make_engine``). The migrations themselves are tested where they are the
subject (tests/store/test_migration*.py), and ``dialtone migrate`` and ``serve`` still
migrate their own databases.

The engine is SQLite unless ``DIALTONE_TEST_DATABASE=postgresql``: then each test
process (each xdist worker) starts one throw-away PostgreSQL cluster on first use
(tests/programs/postgres.py), migrates a template database on it once, and each test
gets ``CREATE DATABASE … TEMPLATE`` (a file copy), dropped when the test ends (the
autouse fixture in tests/conftest.py calls ``release``). The ``path`` arguments then
only name nothing: a PostgreSQL database lives in the cluster, not in a file.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from dialtone.store.db import make_engine, open_database, session_factory

if TYPE_CHECKING:
    from tests.programs.postgres import Cluster

_template: list[Path] = []
_cluster: list[Cluster] = []
_TEMPLATE_DATABASE = "dialtone_template"
# Databases made since the current test began, with the engines made on them.
_made: list[tuple[str, Engine | None]] = []


def backend() -> str:
    """``sqlite`` (the default) or ``postgresql``, from ``DIALTONE_TEST_DATABASE``."""
    value = os.environ.get("DIALTONE_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
    if value not in ("sqlite", "postgresql"):
        raise ValueError(f"DIALTONE_TEST_DATABASE={value!r}: sqlite or postgresql")
    return value


def on_postgresql() -> bool:
    """Whether this run's databases are PostgreSQL ones."""
    return backend() == "postgresql"


def sqlite_only(why: str) -> pytest.MarkDecorator:
    """Marks a test about SQLite itself (a file, a pragma): skipped on PostgreSQL."""
    return pytest.mark.skipif(on_postgresql(), reason=f"SQLite only: {why}")


def cluster() -> Cluster:
    """This process's PostgreSQL cluster, started (and its template migrated) on first use,
    stopped and removed when the process exits."""
    if not _cluster:
        from tests.programs import postgres

        running = postgres.start()
        atexit.register(postgres.stop, running)
        url = running.create_database(_TEMPLATE_DATABASE)
        engine, _ = open_database(url)
        # CREATE DATABASE … TEMPLATE needs the template to have no connection.
        engine.dispose()
        _cluster.append(running)
    return _cluster[0]


def stop_cluster() -> None:
    """Stop this process's cluster and remove its directory (at the end of the session:
    an xdist worker ends with ``os._exit``, which runs no ``atexit`` handler)."""
    if _cluster:
        from tests.programs import postgres

        postgres.stop(_cluster.pop())


def _template_file() -> Path:
    """The migrated template of this process, made on first use."""
    if not _template:
        directory = Path(tempfile.mkdtemp(prefix="dialtone-template-"))
        atexit.register(shutil.rmtree, directory, True)
        path = directory / "template.db"
        engine, _ = open_database(f"sqlite:///{path}")
        # Closing the last connection checkpoints the write-ahead log into the file and
        # removes it: the file alone is then the whole database, safe to copy.
        engine.dispose()
        leftovers = [p.name for p in directory.iterdir() if p != path]
        assert not leftovers, f"the template's log was not checkpointed: {leftovers}"
        _template.append(path)
    return _template[0]


def _new_postgresql(template: str | None) -> str:
    url = cluster().create_database(template=template)
    _made.append((url.rsplit("/", 1)[1], None))
    return url


def migrated_file(path: Path) -> str:
    """Put a freshly migrated database at ``path`` (which must not exist yet); its URL.
    On PostgreSQL: a fresh copy of the template, whatever ``path``."""
    if on_postgresql():
        return _new_postgresql(_TEMPLATE_DATABASE)
    assert not path.exists(), f"{path} exists: a migrated copy would replace it"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template_file(), path)
    return f"sqlite:///{path}"


def empty_database(path: Path) -> str:
    """The URL of a new, empty database (no migration run): a SQLite file at ``path``, or
    a new PostgreSQL database. For the tests whose subject is the migrations."""
    if on_postgresql():
        return _new_postgresql(None)
    return f"sqlite:///{path}"


def empty_engine(path: Path) -> Engine:
    """An engine (``make_engine``) on ``empty_database(path)``."""
    return _engine(empty_database(path))


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    if on_postgresql():
        name = url.rsplit("/", 1)[1]
        _made[:] = [(n, engine if n == name else e) for n, e in _made]
    return engine


def migrated_database(path: Path) -> tuple[Engine, sessionmaker[Session]]:
    """What ``open_database(url)`` returns for a new database (a file at ``path`` on SQLite)."""
    engine = _engine(migrated_file(path))
    return engine, session_factory(engine)


def migrated_data_dir(data_dir: Path) -> None:
    """Put a freshly migrated ``dialtone.db`` in ``data_dir``, where the settings' default
    ``database_url`` points: ``dialtone migrate`` or ``serve`` then finds it current (and
    still does the rest of its start: directories, the key)."""
    migrated_file(data_dir / "dialtone.db")


def mark() -> int:
    """Where the list of databases made stands (``release`` drops those made after)."""
    return len(_made)


def release(since: int) -> None:
    """Drop the PostgreSQL databases made since ``mark()`` returned ``since`` (their engines
    disposed first): a test's own databases, not those of fixtures of a wider scope."""
    if not _cluster:
        return
    while len(_made) > since:
        name, engine = _made.pop()
        if engine is not None:
            engine.dispose()
        _cluster[0].drop_database(name)


def query_plan(session: Session, statement: str, parameters: Any, driver: bool = False) -> str:
    """The engine's plan for ``statement`` as one text (SQLite's EXPLAIN QUERY PLAN,
    PostgreSQL's EXPLAIN); ``driver``: the statement and parameters as the driver got them
    (a ``before_cursor_execute`` capture), else SQLAlchemy ``:name`` text. PostgreSQL's
    planner is told not to scan the table or build bitmaps, so that on a test's few rows
    it still shows which index the statement can be answered from."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    explain = "EXPLAIN" if postgresql else "EXPLAIN QUERY PLAN"
    if postgresql:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
    try:
        if driver:
            rows = session.connection().exec_driver_sql(f"{explain} {statement}", parameters)
        else:
            rows = session.execute(text(f"{explain} {statement}"), parameters)
        return "\n".join(str(row[-1]) for row in rows)
    finally:
        if postgresql:
            session.execute(text("RESET enable_seqscan"))
            session.execute(text("RESET enable_bitmapscan"))
