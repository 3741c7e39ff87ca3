"""Engine and sessions. SQLite runs in WAL mode with full sync so that a committed CDR
survives a crash (non-negotiable 3); PostgreSQL (issue 19) through the same URL setting,
with psycopg 3: its commits are durable as shipped (``synchronous_commit`` on, ``fsync``
on), which dialtone relies on and does not change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Pool: the database thread (group commit), the runtime's reads in the executor, the
# API's and console's threads; beyond ``pool_size`` up to as many again are opened for a
# burst and closed after.
POOL_SIZE = 10
CONNECT_TIMEOUT_S = 10.0


class DatabaseUnreachable(Exception):
    """The database could not be reached or opened: ``where`` (the URL, password hidden),
    ``why`` (the driver's first line) and ``check`` (what the operator should look at)."""

    def __init__(self, where: str, why: str, check: str) -> None:
        super().__init__(f"database {where}: {why}: {check}")
        self.where, self.why, self.check = where, why, check


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` (no driver named) mean psycopg 3, the driver
    dialtone ships, not SQLAlchemy's default psycopg2 (not installed); an explicit
    ``postgresql+driver://`` is kept as written."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def shown(url: str) -> str:
    """``url`` as it may be printed: the password hidden, a SQLite file as its path."""
    try:
        path = sqlite_file(url)
        if path is not None:
            return str(path)
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "(a database URL that cannot be read)"


def make_engine(
    url: str, *, pool_size: int = POOL_SIZE, connect_timeout: float = CONNECT_TIMEOUT_S
) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout;
    PostgreSQL a pool of ``pool_size`` checked before use (a server restarted under a
    running dialtone costs no request), a connect timeout, and sessions in UTC (so that
    ``date()`` of a timestamp is the UTC day on both engines)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=connect_timeout + 20,
            connect_args={
                "connect_timeout": max(1, round(connect_timeout)),
                "options": "-c timezone=UTC",
                "application_name": "dialtone",
            },
        )
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
    # Alembic is imported where it is used: a sixth of a second that every command, and
    # every start of a worker whose schema is current, would otherwise pay first.
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    config.attributes["sealing_key"] = sealing_key
    return config


def migrate(engine: Engine, sealing_key: SealingKey | None = None) -> None:
    """Bring the schema to the newest migration (run at every start; a no-op when current)."""
    from alembic import command  # noqa: PLC0415

    command.upgrade(alembic_config(engine, sealing_key), "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on error."""
    with factory() as session, session.begin():
        yield session


def check_reachable(engine: Engine) -> None:
    """Open one connection, or raise ``DatabaseUnreachable`` saying what to check."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        why = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc) else ""
        raise DatabaseUnreachable(
            shown(engine.url.render_as_string(hide_password=False)),
            f"cannot connect ({why or type(exc.orig).__name__})",
            _what_to_check(engine.url.get_backend_name(), why),
        ) from exc


def _what_to_check(backend: str, why: str) -> str:
    lowered = why.lower()
    if backend != "postgresql":
        return "check database_url (DIALTONE_DATABASE_URL) and that this user may write there"
    if "does not exist" in lowered and "database" in lowered:
        return "create the database (createdb, owned by the URL's user) or fix its name in the URL"
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        return "check the user and password in the URL, and pg_hba.conf on the server"
    if "refused" in lowered or "no such file" in lowered:
        return "is PostgreSQL running and listening on that host and port? check the URL"
    if "timeout" in lowered or "timed out" in lowered:
        return "no answer in time: check the host, the port and any firewall between"
    if "translate host" in lowered or "name or service" in lowered:
        return "the host name does not resolve: check the URL"
    return "check database_url (DIALTONE_DATABASE_URL) and that PostgreSQL accepts this user"


def open_database(
    url: str,
    sealing_key: SealingKey | None = None,
    *,
    pool_size: int = POOL_SIZE,
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, apply migrations, and return the engine with its session factory.
    ``sealing_key`` (the settings' key) lets a migration seal secrets kept plain before.
    Raises ``DatabaseUnreachable`` when no connection can be opened."""
    engine = make_engine(url, pool_size=pool_size, connect_timeout=connect_timeout)
    check_reachable(engine)
    migrate(engine, sealing_key)
    return engine, session_factory(engine)
