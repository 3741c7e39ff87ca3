"""What every ``dialtone`` sub-command shares: settings, a committed session that turns a
refusal into a one-line error (and an audit entry when a rule refused), moments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import typer
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.core.moments import MomentError, parse_day, parse_moment, parse_month
from dialtone.services import audit as audit_service
from dialtone.services.audit import AuditEntry
from dialtone.settings import Settings, config_file
from dialtone.store.db import open_database, sqlite_file, transaction


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with pydantic's message naming the bad one."""
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the bad setting
        typer.echo(f"error: bad settings: {exc}", err=True)
        raise typer.Exit(2) from None


def existing_database(settings: Settings) -> str:
    """The database URL, or exit 2 with one line when it names a SQLite file that does not
    exist: a command run from another directory than the server would otherwise make an
    empty database there and answer ``account.not_found`` (only ``serve`` and ``migrate``
    create one)."""
    url = settings.resolved_database_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        typer.echo(
            f"error: no database at {path}: run the command where the server runs, or point it "
            f"at the server's data dir with DIALTONE_DATA_DIR (or data_dir in dialtone.toml; "
            f"DIALTONE_CONFIG names another file, now {config_file()}); "
            "'dialtone migrate' creates a new database",
            err=True,
        )
        raise typer.Exit(2)
    return url


@contextmanager
def session(settings: Settings | None = None, action: str = "dialtone") -> Iterator[Session]:
    """A committed session on the configured database; a DialtoneError becomes a clear
    one-line error and exit code 1 (and, refused by a rule, an audit entry for
    ``action``, the command). A database that does not exist yet is not created."""
    settings = settings or settings_or_exit()
    _, sessions = open_database(existing_database(settings), settings.sealing_key)
    try:
        with transaction(sessions) as s:
            yield s
    except DialtoneError as exc:
        if exc.rule is not None:
            # A terms refusal goes on the audit log, even the operator's own (in its own
            # transaction: the command's was rolled back).
            entry = AuditEntry.of_error(
                exc, at=datetime.now(UTC), account_id=None, actor="operator:cli", action=action
            )
            with transaction(sessions) as s:
                audit_service.record(s, [entry])
        raise fail(exc) from None


def fail(exc: DialtoneError) -> typer.Exit:
    """Print ``exc`` as one line on stderr; the exit to raise (code 1)."""
    rule = f" [{exc.rule}]" if exc.rule else ""
    typer.echo(f"error: {exc.code}{rule}: {exc.message}", err=True)
    return typer.Exit(1)


def moment(text: str | None, option: str = "--now") -> datetime:
    """The date-time given to ``option`` (ISO 8601 with its UTC offset, years 2000–2199;
    :mod:`dialtone.core.moments`, the API's checks); now if None. Anything else is a
    one-line error naming the option, exit 2."""
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_moment(text)
    except MomentError as exc:
        raise _bad_option(option, exc) from None


def day(text: str, option: str) -> date:
    """The date given to ``option`` (``YYYY-MM-DD``, years 2000–2199), or a one-line
    error naming the option, exit 2."""
    try:
        return parse_day(text)
    except MomentError as exc:
        raise _bad_option(option, exc) from None


def month(text: str, option: str) -> str:
    """The month given to ``option`` (``YYYY-MM``, years 2000–2199), or a one-line
    error naming the option, exit 2."""
    try:
        parse_month(text)
    except MomentError as exc:
        raise _bad_option(option, exc) from None
    return text.strip()


def _bad_option(option: str, exc: MomentError) -> typer.Exit:
    typer.echo(f"error: {option}: {exc}", err=True)
    return typer.Exit(2)
