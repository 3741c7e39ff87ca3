"""``dialtone ports``: port-ins and port-outs (N4, N5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Account,
    Commands,
    Json,
)
from dialtone.services.numbering import porting as porting_service

ports_app = typer.Typer(cls=Commands, help="Port-ins and port-outs (N4, N5).", no_args_is_help=True)


@ports_app.command("list")
def ports_list(account: Account, as_json: Json = False) -> None:
    """An account's port-ins: id, state, numbers, effective date."""
    with support.session(action="ports list") as session:
        rows = porting_service.list_requests(session, account)
        if as_json:
            support.print_json(rows)
            return
        for row in rows:
            when = row.effective_local or "-"
            typer.echo(f"{row.id}  {row.state:10}  {when:25}  {' '.join(json.loads(row.numbers))}")


@ports_app.command("complete")
def ports_complete(port_id: str) -> None:
    """The carriers ported the numbers: lease them to the account as ported numbers and
    end the previous line (N4)."""
    with support.session(action="ports complete") as session:
        row = porting_service.complete(session, port_id, now=datetime.now(UTC))
    typer.echo(f"{row.id} completed: {' '.join(json.loads(row.numbers))}")


@ports_app.command("reject")
def ports_reject(
    port_id: str, reason: Annotated[str, typer.Option(help="Why, as the carrier said.")]
) -> None:
    """The losing carrier rejected the port-in."""
    with support.session(action="ports reject") as session:
        row = porting_service.reject(session, port_id, reason, now=datetime.now(UTC))
    typer.echo(f"{row.id} rejected: {row.rejection}")


@ports_app.command("out")
def ports_out(
    number: str,
    period_end: Annotated[
        str, typer.Option(help="End of the customer's subscription period (YYYY-MM-DD).")
    ],
    requested_on: Annotated[
        str | None, typer.Option(help="When the new operator asked (YYYY-MM-DD); today.")
    ] = None,
    address_proven: Annotated[
        bool, typer.Option(help="A local address was proved when the number was activated.")
    ] = False,
) -> None:
    """A port-out the new operator asked for (N5, N2): exit 1 with the reason when the
    terms refuse it; otherwise the number's line and services end here."""
    settings = support.settings_or_exit()
    end = support.day(period_end, "--period-end")
    asked = (
        support.day(requested_on, "--requested-on") if requested_on else datetime.now(UTC).date()
    )
    with support.session(settings, action="ports out") as session:
        decision = porting_service.port_out(
            session,
            number,
            requested_on=asked,
            period_end=end,
            address_proven=address_proven,
            now=datetime.now(UTC),
            notice_days=settings.port_out_notice_days,
            platform_numbers=settings.platform_numbers_port_out,
            actor="operator:cli",
        )
    if decision.refused:
        typer.echo(f"refused: {decision.code} [{decision.rule}]: {decision.message}")
        raise typer.Exit(1)
    typer.echo(f"{number} ported out: its line and services ended")
