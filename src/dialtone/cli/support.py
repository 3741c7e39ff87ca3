"""What every ``dialtone`` sub-command shares: settings, the ``--account`` and ``--json``
options and the command group that reads them, a committed session on an existing
database that turns a refusal into a one-line error (and an audit entry when a rule
refused), moments."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperGroup

from dialtone.core.errors import DialtoneError
from dialtone.core.moments import MomentError, parse_day, parse_moment, parse_month
from dialtone.services.accounts import audit as audit_service
from dialtone.services.accounts.account_data import Purged, record
from dialtone.services.accounts.audit import AuditEntry
from dialtone.settings import Settings, config_file
from dialtone.store.db import DatabaseUnreachable, open_database, sqlite_file, transaction

# The account a command acts on is always `--account AC…` (a filter too, then optional).
Account = Annotated[str, typer.Option("--account", help="The account id (AC…).")]
Json = Annotated[
    bool, typer.Option("--json", help="Print the records as a JSON array (the export's fields).")
]
# The moment a billing or SLA command acts as of.
Now = Annotated[str | None, typer.Option(help="As of this moment (ISO); default now.")]
ACCOUNT_ID = re.compile(r"^AC[0-9a-f]{32}$")


class Commands(TyperGroup):
    """A group of ``dialtone`` commands. Two things every group does:

    - each command's help is written as paragraphs: the lines of a docstring paragraph
      are joined (typer's list of commands otherwise shows a sentence broken where the
      source line ended); a paragraph whose lines all begin with ``- `` is a list, kept
      line by line;
    - an account id given as a bare argument to a command that takes ``--account`` is
      read as ``--account``: the form many commands used before, kept because an account
      id (``AC`` and 32 hex digits) cannot be mistaken for anything else.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = paragraphs(self.help)
        for command in self.commands.values():
            command.help = paragraphs(command.help)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not isinstance(command, TyperGroup):
            takes = any("--account" in getattr(p, "opts", ()) for p in command.params)
            if takes:
                rest = account_option(rest)
        return name, command, rest


def paragraphs(text: str | None) -> str | None:
    """Help text with each paragraph's lines joined (lists of ``- `` lines kept)."""
    if text is None:
        return None
    out = []
    for paragraph in text.strip().split("\n\n"):
        lines = [line.strip() for line in paragraph.strip().splitlines()]
        if all(line.startswith("- ") for line in lines):
            out.append("\n".join(lines))
        else:
            out.append(" ".join(lines))
    return "\n\n".join(out)


def account_option(args: list[str]) -> list[str]:
    """``args`` with a bare account id turned into ``--account AC…`` (unless given)."""
    if any(a == "--account" or a.startswith("--account=") for a in args):
        return args
    for index, arg in enumerate(args):
        if ACCOUNT_ID.match(arg):
            return [*args[:index], "--account", arg, *args[index + 1 :]]
    return args


def print_json(rows: Iterable[Any]) -> None:
    """Rows of the store as one JSON array, each as the account export shows it."""
    typer.echo(json.dumps([record(row) for row in rows], indent=2, ensure_ascii=False))


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with one line naming each bad one and why, never its
    value (a key or password may be the bad one)."""
    try:
        return Settings()
    except ValidationError as exc:
        why = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        typer.echo(f"error: bad settings: {why}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # e.g. a dialtone.toml that is not TOML
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(f"error: bad settings: {first}", err=True)
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


def open_or_exit(settings: Settings, url: str | None = None) -> sessionmaker[Session]:
    """Sessions on the configured database (migrated to the newest schema), or exit 2
    with one line when it cannot be reached: which database (the URL without its
    password), what failed, what to check; never a traceback."""
    try:
        _, sessions = open_database(
            url or settings.resolved_database_url,
            settings.sealing_key,
            pool_size=settings.database_pool_size,
            connect_timeout=settings.database_connect_timeout_s,
        )
    except DatabaseUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return sessions


@contextmanager
def session(settings: Settings | None = None, action: str = "dialtone") -> Iterator[Session]:
    """A committed session on the configured database; a DialtoneError becomes a clear
    one-line error and exit code 1 (and, refused by a rule, an audit entry for
    ``action``, the command). A database that does not exist yet is not created."""
    settings = settings or settings_or_exit()
    sessions = open_or_exit(settings, existing_database(settings))
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


def remove_files(purged: Purged) -> None:
    """Delete the files and folders of a purged account (V15), after its rows are gone."""
    # After the commit: a file left behind costs disk space, a row without its file
    # would be a broken record.
    for path in purged.files:
        path.unlink(missing_ok=True)
    for directory in purged.directories:
        shutil.rmtree(directory, ignore_errors=True)
