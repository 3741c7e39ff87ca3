"""``dialtone calls``: call detail records."""

from __future__ import annotations

from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Account,
    Commands,
    Json,
)
from dialtone.services.accounts import accounts as account_service
from dialtone.services.telephony import calls as call_service

calls_app = typer.Typer(cls=Commands, help="Call detail records.", no_args_is_help=True)


@calls_app.command("list")
def calls_list(
    account: Account,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Json = False,
) -> None:
    """List an account's calls, newest first."""
    with support.session(action="calls list") as session:
        account_service.get_account(session, account)
        rows, _ = call_service.list_calls(session, account, limit=limit)
    if as_json:
        support.print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r.id}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.from_number} -> {r.to_number}  "
            f"{r.status:9}  {r.duration}s billed {r.billed_seconds}s  {r.hangup_cause}"
        )
