"""``dialtone dnc``: do-not-call lists and registers (V12)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Commands,
)
from dialtone.services.compliance import dnc as dnc_service

dnc_app = typer.Typer(
    cls=Commands, help="Do-not-call lists and registers (V12).", no_args_is_help=True
)


@dnc_app.command("import")
def dnc_import(
    path: Annotated[Path, typer.Argument(help="A CSV file, numbers in the first column.")],
    register: Annotated[
        str | None, typer.Option(help="A national register's name (bloctel, us-dnc…).")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Add to this account's own list instead.")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Read national forms of this country (FR: 06…).")
    ] = None,
) -> None:
    """Import do-not-call numbers (TERMS V12): a national register (for telemarketing
    accounts) or an account's own list (for every call of it)."""
    if (register is None) == (account is None):
        typer.echo("error: give --register NAME or --account AC…", err=True)
        raise typer.Exit(2)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    with support.session(action="dnc import") as session:
        result = dnc_service.import_csv(
            session,
            account,
            text,
            now=datetime.now(UTC),
            list_name=register or "account",
            region=country.upper() if country else None,
        )
    typer.echo(
        f"added={result.added}  already_listed={result.already_listed}  "
        f"invalid_lines={len(result.invalid_lines)}"
        + (f" (first: {result.invalid_lines[:10]})" if result.invalid_lines else "")
    )
