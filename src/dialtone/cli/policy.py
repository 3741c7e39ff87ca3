"""``dialtone policy``: dry runs of the terms engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Account,
    Commands,
)
from dialtone.policy.checklist import verdict
from dialtone.services import policy as policy_service

policy_app = typer.Typer(cls=Commands, help="Dry runs of the terms engine.", no_args_is_help=True)


@policy_app.command("check")
def policy_check(
    account: Account,
    to: Annotated[str, typer.Option(help="An extension or a number.")],
    user: Annotated[str | None, typer.Option(help="Who would call (US…).")] = None,
    caller_id: Annotated[str | None, typer.Option(help="The number to present.")] = None,
    forward: Annotated[bool, typer.Option(help="Check a forward to TO instead of a call.")] = False,
) -> None:
    """Dry run: every check a call (or forward) would go through; exit 1 when refused.
    Calls in progress are not known here (the running server's API knows them)."""
    settings = support.settings_or_exit()
    operator = policy_service.OperatorPolicy(
        settings.destinations, settings.default_country, settings.emergency_countries
    )
    with support.session(settings, "policy check") as session:
        if forward:
            results = policy_service.check_forward(session, account, to=to, operator=operator)
        else:
            results = policy_service.check_call(
                session,
                account,
                to=to,
                operator=operator,
                user_id=user,
                caller_id=caller_id,
                now=datetime.now(UTC),
            )
    for result in results:
        decision = result.decision
        outcome = "ok" if decision.allowed else f"REFUSED {decision.code}: {decision.message}"
        typer.echo(f"{result.name:12} {','.join(result.rules):8} {outcome}")
    if verdict(results).refused:
        raise typer.Exit(1)
