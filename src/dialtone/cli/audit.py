"""``dialtone audit``: the audit log of the terms engine."""

from __future__ import annotations

from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Commands,
    Json,
)
from dialtone.services.accounts import audit as audit_service

audit_app = typer.Typer(
    cls=Commands, help="The audit log of the terms engine.", no_args_is_help=True
)


@audit_app.command("list")
def audit_list(
    account: Annotated[
        str | None, typer.Option(help="Only this account's events (default: every one).")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule (e.g. V5).")] = None,
    code: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """The audit log: every refusal and enforcement action, newest first."""
    with support.session(action="audit list") as session:
        rows, _ = audit_service.list_events(session, account, rule=rule, code=code, limit=limit)
        if as_json:
            support.print_json(rows)
            return
        for r in rows:
            typer.echo(
                f"{r.at:%Y-%m-%d %H:%M:%S}  {r.account_id or '-':34}  {r.outcome:8}  "
                f"{r.rule or '-':4}  {r.code}  {r.action}  by {r.actor}  {r.details}"
            )
