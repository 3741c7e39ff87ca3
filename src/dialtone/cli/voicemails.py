"""``dialtone voicemails``: voicemail messages."""

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
from dialtone.services.telephony import voicemails as voicemail_service

voicemails_app = typer.Typer(cls=Commands, help="Voicemail messages.", no_args_is_help=True)


@voicemails_app.command("list")
def voicemails_list(
    account: Account,
    new: Annotated[bool, typer.Option("--new", help="Only messages not heard yet.")] = False,
    as_json: Json = False,
) -> None:
    """List an account's voicemail messages, newest first."""
    with support.session(action="voicemails list") as session:
        account_service.get_account(session, account)
        rows = voicemail_service.list_voicemails(session, account, heard=False if new else None)
    if as_json:
        support.print_json(rows)
        return
    for v in rows:
        typer.echo(
            f"{v.id}  {v.created_at:%Y-%m-%d %H:%M:%S}  {v.from_number} -> {v.number}  "
            f"{v.duration}s  {'heard' if v.heard else 'new':5}  {v.user_id or '-'}"
        )
