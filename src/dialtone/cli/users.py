"""``dialtone users``: users, extensions and SIP credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Account,
    Commands,
    Json,
)
from dialtone.services.accounts import accounts as account_service
from dialtone.services.telephony import users as user_service

users_app = typer.Typer(
    cls=Commands, help="Users, extensions and SIP credentials.", no_args_is_help=True
)


@users_app.command("create")
def users_create(
    account: Account,
    *,
    name: Annotated[str, typer.Option(help="The user's name.")],
    extension: Annotated[str | None, typer.Option(help="2 to 6 digits.")] = None,
    sip_username: Annotated[str | None, typer.Option(help="[A-Za-z0-9._-]{3,64}.")] = None,
    sip_password: Annotated[
        str | None, typer.Option(help="8+ characters; stored as digest hashes only.")
    ] = None,
    role: Annotated[
        str, typer.Option(help="administrator, user, manager, scheduler or guest (D1).")
    ] = "user",
    channels: Annotated[
        int | None, typer.Option(help="Simultaneous calls; default: the account's (V2).")
    ] = None,
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a user to the account; prints the user id."""
    settings = support.settings_or_exit()
    with support.session(settings, "users create") as session:
        user = user_service.create_user(
            session,
            account,
            name=name,
            now=datetime.now(UTC),
            role=role,
            email=email,
            extension=extension,
            sip_username=sip_username,
            sip_password=sip_password,
            realm=settings.sip_realm,
            channels=channels,
        )
    typer.echo(f"user_id: {user.id}")


@users_app.command("list")
def users_list(account: Account, as_json: Json = False) -> None:
    """List an account's users."""
    with support.session(action="users list") as session:
        account_service.get_account(session, account)
        if as_json:
            support.print_json(user_service.list_users(session, account))
            return
        rows = [
            (u, user_service.channels_for(session, u))
            for u in user_service.list_users(session, account)
        ]
    for u, channels in rows:
        typer.echo(
            f"{u.id}  {u.extension or '-':6}  {u.sip_username or '-':20}  {u.role:13}  "
            f"{u.status:8}  {channels}ch  {u.name}"
        )


@users_app.command("passwd")
def users_passwd(
    user_id: Annotated[str, typer.Argument(help="The user id (US…).")],
    sip_password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="8+ chars."),
    ],
) -> None:
    """Set a user's SIP password (only its digest hashes are stored)."""
    settings = support.settings_or_exit()
    with support.session(settings, "users passwd") as session:
        user = user_service.get_user_by_id(session, user_id)
        user_service.set_sip_password(session, user, sip_password, realm=settings.sip_realm)
    typer.echo(f"SIP password set for {user_id}")
