"""The composition root: ``serve`` (SIP and the HTTP API in one process) and
``migrate``."""

from __future__ import annotations

import asyncio
import logging

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import dialtone
from dialtone import logs
from dialtone.cli import support
from dialtone.settings import Settings
from dialtone.store.db import shown


def serve() -> None:
    """Run SIP and the HTTP API in one process until Ctrl-C.

    Settings come from DIALTONE_* environment variables, then dialtone.toml in the
    current directory (another file: DIALTONE_CONFIG), then the defaults. The main ones:

    - DIALTONE_DATA_DIR (var): database, recordings, voicemail, keys
    - DIALTONE_SIP_HOST (127.0.0.1), DIALTONE_SIP_PUBLIC_HOST (behind NAT)
    - DIALTONE_SIP_PORT (5060, UDP), DIALTONE_SIP_TCP_PORT (5060)
    - DIALTONE_SIP_TLS_PORT (443; empty: no TLS)
    - DIALTONE_HTTP_HOST (127.0.0.1), DIALTONE_HTTP_PORT (8000): the API
    - DIALTONE_RTP_PORT_MIN, DIALTONE_RTP_PORT_MAX (20000-22000)
    - DIALTONE_DATABASE_URL (default: SQLite in the data dir)
    - DIALTONE_LOG_LEVEL (INFO)
    - DIALTONE_WORKER_ID (host name and SIP port): several workers on one database

    Every setting is in the README (Configuration)."""
    # Imported here: the web framework and the runtime take seconds to load, which every
    # other (short) command would otherwise pay; and only once the directories are
    # checked, so that a start that cannot work says so at once.
    from dialtone.runtime.shared.errors import SharedStateError  # noqa: PLC0415
    from dialtone.runtime.startup import (  # noqa: PLC0415
        MediaEngineUnreachable,
        StartupError,
        check_sealing_key,
        lock_data_dir,
        make_shared_files,
        prepare_directories,
        startup_lock,
    )

    settings = support.settings_or_exit()
    # Text as always, or one JSON object a line; either way with the call's and the
    # account's ids of the work a line is logged in (dialtone.logs).
    logs.configure(settings.log_level, settings.log_format, worker_id=settings.worker_id)
    for handler in logging.getLogger().handlers:
        handler.addFilter(DatabaseUnreachableInOneLine())
    # Every start-up failure is one line naming the path or socket and what to do.
    try:
        prepare_directories(settings)
        # Before the database or the recordings are touched; held until the process ends.
        lock = lock_data_dir(settings)  # noqa: F841
        from dialtone.api.app import create_app  # noqa: PLC0415
        from dialtone.dashboard.app import install as install_console  # noqa: PLC0415
        from dialtone.runtime.loop import loop_factory  # noqa: PLC0415
        from dialtone.runtime.server import serve as run  # noqa: PLC0415

        logging.getLogger("dialtone").info(
            "worker %s (lease %.0f s, renewed every %.0f s)",
            settings.worker_id,
            settings.worker_lease_seconds,
            settings.worker_lease_renew_seconds,
        )
        with startup_lock(settings):
            sessions = _open_or_explain(settings)
            make_shared_files(settings)
            check_sealing_key(settings, sessions)
        asgi = create_app(settings, sessions)
        install_console(asgi)  # the web console on the same app (issue 18)
        _hint_first_operator(sessions)
        name, factory = loop_factory(settings.event_loop)
        logging.getLogger("dialtone").info("event loop: %s", name)
        logging.getLogger("dialtone").info(
            "sans-I/O packages: %s (%s)", dialtone.BUILD.mode, dialtone.BUILD.why
        )
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(run(settings, sessions, asgi, announce=typer.echo))
    except KeyboardInterrupt:
        pass
    except MediaEngineUnreachable as exc:
        # A configuration the operator must fix (issue 19): a distinct status.
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except SharedStateError as exc:
        # Redis configured and unreachable: a configuration error (status 2), not a crash.
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: cannot start: {exc}", err=True)
        raise typer.Exit(1) from None


class DatabaseUnreachableInOneLine(logging.Filter):
    """A log record whose exception is the database out of reach (PostgreSQL down or
    restarting: every background loop and call meets it at once) is written as one line
    saying so, not a traceback each: the operator sees what happened, the log stays
    readable until the database is back (the pool reconnects by itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None and not isinstance(error, OperationalError):
            error = error.__cause__ or error.__context__
        if isinstance(error, OperationalError) and _unreachable(error):
            text = str(error.orig or error).strip()
            record.msg = f"{record.getMessage()}: database unreachable ({text.splitlines()[0]})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def _unreachable(error: OperationalError) -> bool:
    """Whether ``error`` is a failure to reach the database (not, say, a lock timeout)."""
    text = str(error.orig or error).lower()
    return any(
        words in text
        for words in ("connection failed", "connection refused", "starting up", "shutting down",
                      "server closed the connection", "terminating connection", "timeout expired")
    )  # fmt: skip


def _hint_first_operator(sessions: sessionmaker[Session]) -> None:
    """Say how to sign in to the console when nobody can yet."""
    from sqlalchemy import select  # noqa: PLC0415

    from dialtone.store.console_models import Operator  # noqa: PLC0415

    with sessions() as session:
        if session.scalar(select(Operator.id).limit(1)) is None:
            typer.echo(
                "console: no operator yet; add one with "
                "`.venv/bin/dialtone console operator-add --email you@example.com`"
            )


def _open_or_explain(settings: Settings) -> sessionmaker[Session]:
    from dialtone.runtime.startup import StartupError  # noqa: PLC0415

    url = settings.resolved_database_url
    # Unreachable (PostgreSQL down, a wrong password, no such database): one line and
    # exit 2 (support.open_or_exit); a failure once connected (a migration) is this one.
    try:
        sessions = support.open_or_exit(settings)
    except SQLAlchemyError as exc:
        where = shown(url)
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StartupError(
            f"database {where}: cannot open it ({why}): check database_url "
            "(DIALTONE_DATABASE_URL) and that this user may write there"
        ) from None
    return sessions


def migrate() -> None:
    """Create the database, or bring it to the newest schema, without serving (serve does
    it too at every start); prints where it is."""
    from dialtone.runtime.startup import StartupError, prepare_directories  # noqa: PLC0415

    settings = support.settings_or_exit()
    url = settings.resolved_database_url
    try:
        prepare_directories(settings)
        _open_or_explain(settings)
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database: {shown(url)}")
