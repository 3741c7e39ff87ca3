"""``dialtone webhooks``: the webhooks owed to accounts and what became of them (issue
16), for the operator: those that failed, with why, without their bodies."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from dialtone.cli import support
from dialtone.cli.support import Commands, Json
from dialtone.services.accounts import webhooks

webhooks_app = typer.Typer(
    cls=Commands,
    help="Webhooks owed to accounts: pending, delivered, failed.",
    no_args_is_help=True,
)


@webhooks_app.command("list")
def webhooks_list(
    *,
    account: Annotated[
        str | None, typer.Option("--account", help="The account (AC…); default: every account.")
    ] = None,
    state: Annotated[
        str | None, typer.Option(help="Only this state: pending, delivered or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """Webhooks, newest first, with their attempts and last error (never their body)."""
    with support.session(action="webhooks list") as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "account_id": r.account_id,
                "event": r.event,
                "url": webhooks.masked_url(r.url),
                "format": r.format,
                "method": r.method,
                "state": r.state,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "next_at": r.next_at.isoformat() if r.next_at else None,
                "created_at": r.created_at.isoformat(),
                "done_at": r.done_at.isoformat() if r.done_at else None,
            }
            for r in webhooks.list_deliveries(session, account, state=state, limit=limit)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        error = f"  {r['last_error']}" if r["last_error"] else ""
        typer.echo(
            f"{r['id']}  {r['created_at'][:19]}  {r['account_id']}  {r['event']}  {r['state']}  "
            f"{r['attempts']} attempt(s)  {r['method']} {r['url']}{error}"
        )
