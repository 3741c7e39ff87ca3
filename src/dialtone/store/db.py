"""Engine and sessions. SQLite runs in WAL mode with full sync so that a committed CDR
survives a crash (non-negotiable 3); PostgreSQL works through the same URL setting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (absolute), None for another database or in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


SealingKey = Callable[[], bytes]


def alembic_config(engine: Engine, sealing_key: SealingKey | None = None) -> Config:
    """An Alembic config that runs the packaged migrations on ``engine``; ``sealing_key``
    gives the platform's key to a migration that seals what was plain (called only then)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    config.attributes["sealing_key"] = sealing_key
    return config


def migrate(engine: Engine, sealing_key: SealingKey | None = None) -> None:
    """Bring the schema to the newest migration (run at every start; a no-op when current)."""
    command.upgrade(alembic_config(engine, sealing_key), "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on error."""
    with factory() as session, session.begin():
        yield session


def open_database(
    url: str, sealing_key: SealingKey | None = None
) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, apply migrations, and return the engine with its session factory.
    ``sealing_key`` (the settings' key) lets a migration seal secrets kept plain before."""
    engine = make_engine(url)
    migrate(engine, sealing_key)
    return engine, session_factory(engine)
