"""What every ``dialtone`` sub-command shares: settings, a committed session that turns a
refusal into a one-line error (and an audit entry when a rule refused), moments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services import audit as audit_service
from dialtone.services.audit import AuditEntry
from dialtone.settings import Settings
from dialtone.store.db import open_database, transaction


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with pydantic's message naming the bad one."""
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the bad setting
        typer.echo(f"error: bad settings: {exc}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def session(settings: Settings | None = None, action: str = "dialtone") -> Iterator[Session]:
    """A committed session on the configured database; a DialtoneError becomes a clear
    one-line error and exit code 1 (and, refused by a rule, an audit entry for
    ``action``, the command)."""
    settings = settings or settings_or_exit()
    _, sessions = open_database(settings.resolved_database_url, settings.sealing_key)
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


def moment(text: str | None) -> datetime:
    """An ISO date-time from the command line (UTC when it has no zone); now if None."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        typer.echo(f"error: {text!r} is not an ISO date-time", err=True)
        raise typer.Exit(2) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
