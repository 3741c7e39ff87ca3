"""``dialtone console``: who signs in to the web console (issue 18): the platform's
operators, and invitation links and passwords for an account's users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import Account, Commands
from dialtone.services.accounts import console_access

console_app = typer.Typer(
    cls=Commands,
    help="The web console: operators, invitation links, users' passwords.",
    no_args_is_help=True,
)

Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="DIALTONE_CONSOLE_PASSWORD",
        help="10 to 200 characters (asked when not given; or DIALTONE_CONSOLE_PASSWORD).",
    ),
]


@console_app.command("operator-add")
def operator_add(
    email: Annotated[str, typer.Option(help="The operator's email: they sign in with it.")],
    password: Password,
    name: Annotated[str, typer.Option(help="How the console names them.")] = "",
) -> None:
    """Add an operator of the platform (sees every account, acts as their administrator)."""
    with support.session(action="console operator-add") as session:
        row = console_access.create_operator(
            session, email, name or email, password, now=datetime.now(UTC)
        )
        typer.echo(f"operator_id: {row.id}")
        typer.echo(f"email: {row.email}")


@console_app.command("invite")
def invite(
    account: Account,
    user: Annotated[str, typer.Option(help="The user to invite (they need an email).")],
) -> None:
    """An invitation link for a user: it sets their password, once, within three days."""
    with support.session(action="console invite") as session:
        token = console_access.invite(session, account, user, now=datetime.now(UTC))
    settings = support.settings_or_exit()
    typer.echo(f"{settings.public_http_url}/console/invitation/{token}")


@console_app.command("password")
def password(
    account: Account,
    user: Annotated[str, typer.Option(help="The user whose console password is set.")],
    password: Password,
) -> None:
    """Set a user's console password (their sessions end)."""
    with support.session(action="console password") as session:
        row = console_access.set_user_password(session, account, user, password)
        typer.echo(f"{row.id}: password set; they sign in as {row.email}")


@console_app.command("operator-password")
def operator_password(
    email: Annotated[str, typer.Option(help="The operator's email.")],
    password: Password,
) -> None:
    """Set an operator's password (a reset: their sessions end)."""
    with support.session(action="console operator-password") as session:
        row = console_access.set_operator_password(session, email, password)
        typer.echo(f"{row.id}: password set; they sign in as {row.email}")
