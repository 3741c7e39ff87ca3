"""The composition root: ``serve`` (SIP and the HTTP API in one process) and
``migrate``."""

from __future__ import annotations

import asyncio
import logging

import typer
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import dialtone
from dialtone import logs
from dialtone.cli import support
from dialtone.settings import Settings
from dialtone.store.db import open_database, sqlite_file


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

    Every setting is in the README (Configuration)."""
    # Imported here: the web framework and the runtime take most of a second and more to
    # load, which every other (short) command would otherwise pay.
    from dialtone.api.app import create_app  # noqa: PLC0415
    from dialtone.dashboard.app import install as install_console  # noqa: PLC0415
    from dialtone.runtime.loop import loop_factory  # noqa: PLC0415
    from dialtone.runtime.server import serve as run  # noqa: PLC0415
    from dialtone.runtime.shared import default_worker_id  # noqa: PLC0415
    from dialtone.runtime.shared.errors import SharedStateError  # noqa: PLC0415
    from dialtone.runtime.startup import (  # noqa: PLC0415
        MediaEngineUnreachable,
        StartupError,
        lock_data_dir,
        prepare_directories,
    )

    settings = support.settings_or_exit()
    # Text as always, or one JSON object a line; either way with the call's and the
    # account's ids of the work a line is logged in (dialtone.logs).
    logs.configure(settings.log_level, settings.log_format, worker_id=default_worker_id(settings))
    # Every start-up failure is one line naming the path or socket and what to do.
    try:
        prepare_directories(settings)
        # Before the database or the recordings are touched; held until the process ends.
        lock = lock_data_dir(settings)  # noqa: F841
        sessions = _open_or_explain(settings)
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
    try:
        _, sessions = open_database(url, settings.sealing_key)
    except SQLAlchemyError as exc:
        where = sqlite_file(url) or make_url(url).render_as_string()
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
    typer.echo(f"database: {sqlite_file(url) or make_url(url).render_as_string()}")
