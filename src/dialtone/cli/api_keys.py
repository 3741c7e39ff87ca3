"""``dialtone keys``: API keys, issued, rotated, revoked (D1, D2)."""

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
from dialtone.services.accounts import api_keys as key_service

keys_app = typer.Typer(
    cls=Commands, help="API keys: issue, rotate, revoke (D1, D2).", no_args_is_help=True
)


@keys_app.command("issue")
def keys_issue(
    account: Account,
    user: Annotated[
        str | None,
        typer.Option(help="The user the key acts as, with its role (D1); none: administrator."),
    ] = None,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "default",
) -> None:
    """Issue an API key; prints its id and the key (shown once)."""
    with support.session(action="keys issue") as session:
        issued = key_service.issue(session, account, now=datetime.now(UTC), name=name, user_id=user)
    typer.echo(f"key_id: {issued.row.id}")
    typer.echo(f"api_key: {issued.key}")


@keys_app.command("list")
def keys_list(account: Account, as_json: Json = False) -> None:
    """An account's keys: id, prefix, user, state (never the keys themselves)."""
    with support.session(action="keys list") as session:
        rows = key_service.list_keys(session, account)
        if as_json:
            support.print_json(rows)
            return
        for row in rows:
            state = (
                f"revoked {row.revoked_at:%Y-%m-%d %H:%M}"
                if row.revoked_at
                else f"expires {row.expires_at:%Y-%m-%d %H:%M}"
                if row.expires_at
                else "active"
            )
            who = row.user_id or "account"
            typer.echo(f"{row.id}  {row.prefix}…  {who:34}  {state:24}  {row.name}")


@keys_app.command("rotate")
def keys_rotate(
    key_id: str,
    account: Account,
    immediately: Annotated[
        bool, typer.Option(help="Stop the old key now instead of after the D2 notice.")
    ] = False,
) -> None:
    """The platform's rotation for security (D2): a replacement now; the old key keeps
    working for the notice (one business day by default, key_rotation_notice_business_days)."""
    settings = support.settings_or_exit()
    with support.session(settings, action="keys rotate") as session:
        issued = key_service.rotate(
            session,
            account,
            key_id,
            now=datetime.now(UTC),
            immediately=immediately,
            notice_business_days=settings.key_rotation_notice_business_days,
            actor="operator:cli",
        )
        old = key_service.get_key(session, account, key_id)
        ends = old.expires_at
    typer.echo(f"key_id: {issued.row.id}")
    typer.echo(f"api_key: {issued.key}")
    typer.echo(f"old key {key_id} stops at {ends:%Y-%m-%d %H:%M %Z}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, account: Account) -> None:
    """Stop a key at once (unauthorised use reported, D2)."""
    with support.session(action="keys revoke") as session:
        key_service.revoke(session, account, key_id, now=datetime.now(UTC))
    typer.echo(f"revoked {key_id}")
