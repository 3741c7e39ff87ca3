"""The ``dialtone`` command line: one module per domain, as ``api/v1`` has one router per
domain (``support`` holds what they share; ``serve`` is the composition root). This
module assembles them into one typer app, in the order of ``--help``; ``dialtone`` (the
entry point) and ``python -m dialtone.cli`` run it."""

from __future__ import annotations

from typing import Annotated

import typer

from dialtone import __version__
from dialtone.cli import (
    accounts,
    agents,
    api_keys,
    audit,
    billing,
    calls,
    console,
    dnc,
    edge,
    fair_use,
    kyc,
    lifecycle,
    numbers,
    policy,
    ports,
    serve,
    sla,
    sms,
    trunks,
    users,
    voicemails,
    webhooks,
)
from dialtone.cli.support import (
    Commands,
)

app = typer.Typer(
    cls=Commands, help="dialtone: phone numbers, calls and call records.", no_args_is_help=True
)


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"dialtone {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """dialtone: phone numbers, calls and call records."""


app.command()(serve.serve)
app.command()(serve.migrate)
app.command("fair-use")(fair_use.fair_use_report)
app.add_typer(accounts.accounts_app, name="accounts")
app.add_typer(numbers.numbers_app, name="numbers")
app.add_typer(calls.calls_app, name="calls")
app.add_typer(users.users_app, name="users")
app.add_typer(trunks.trunks_app, name="trunks")
app.add_typer(voicemails.voicemails_app, name="voicemails")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(dnc.dnc_app, name="dnc")
app.add_typer(lifecycle.lifecycle_app, name="lifecycle")
app.add_typer(policy.policy_app, name="policy")
app.add_typer(api_keys.keys_app, name="keys")
app.add_typer(ports.ports_app, name="ports")
app.add_typer(kyc.kyc_app, name="kyc")
app.add_typer(billing.billing_app, name="billing")
app.add_typer(sla.sla_app, name="sla")
app.add_typer(sms.sms_app, name="sms")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(edge.edge_app, name="edge")
app.add_typer(agents.agents_app, name="agents")
app.add_typer(console.console_app, name="console")
