"""``dialtone trunks``: carrier SIP trunks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Commands,
    Json,
)
from dialtone.services.telephony import trunks as trunk_service
from dialtone.store.models import Trunk

trunks_app = typer.Typer(cls=Commands, help="Carrier SIP trunks.", no_args_is_help=True)


@trunks_app.command("add")
def trunks_add(
    *,
    name: Annotated[str, typer.Option(help="A label, e.g. the carrier's name.")],
    host: Annotated[str, typer.Option(help="The carrier's IP address or host name.")],
    port: Annotated[int, typer.Option()] = 5060,
    transport: Annotated[str, typer.Option(help="udp, tcp or tls.")] = "udp",
    username: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="The carrier's secret.")] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Only for this account; default: all.")
    ] = None,
    priority: Annotated[int, typer.Option(help="Lower is tried first.")] = 100,
    caller_id_format: Annotated[str, typer.Option(help="e164, e164-no-plus or national.")] = "e164",
    register: Annotated[
        bool, typer.Option("--register", help="Register with the provider (needs credentials).")
    ] = False,
    register_expires: Annotated[int, typer.Option(help="Seconds asked, 60 to 86400.")] = 3600,
    registrar_host: Annotated[str | None, typer.Option(help="Default: --host.")] = None,
    registrar_port: Annotated[int | None, typer.Option(help="Default: --port.")] = None,
    auth_username: Annotated[str | None, typer.Option(help="Default: --username.")] = None,
) -> None:
    """Add a trunk (operator-wide unless --account is given); the password is kept
    sealed with the platform's key and never shown. With --register, the server
    registers with the provider and takes its calls to the registered contact."""
    settings = support.settings_or_exit()
    with support.session(settings, action="trunks add") as session:
        trunk = trunk_service.create_trunk(
            session,
            account_id=account,
            name=name,
            host=host,
            now=datetime.now(UTC),
            port=port,
            transport=transport,
            username=username,
            password=password,
            caller_id_format=caller_id_format,
            priority=priority,
            key=settings.sealing_key() if password is not None else None,
            register=register,
            register_expires=register_expires,
            registrar_host=registrar_host,
            registrar_port=registrar_port,
            auth_username=auth_username,
        )
    typer.echo(f"trunk_id: {trunk.id}")


@trunks_app.command("list")
def trunks_list(
    account: Annotated[
        str | None, typer.Option("--account", help="This account's; default: operator-wide.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List trunks: operator-wide ones, or an account's own with --account."""
    with support.session(action="trunks list") as session:
        rows = trunk_service.list_trunks(session, account)
    if as_json:
        support.print_json(rows)
        return
    for t in rows:
        typer.echo(
            f"{t.id}  {t.priority:5}  {t.transport}:{t.host}:{t.port}  "
            f"{'enabled' if t.enabled else 'disabled':8}  {t.caller_id_format:12}  {t.name}"
        )
        if t.register:
            typer.echo(f"    registration: {_registration_line(t)}")


def _registration_line(trunk: Trunk) -> str:
    """A trunk's registration as the SIP runtime last stored it, on one line."""
    state = trunk.registration_state or "registering"
    parts = [state]
    if trunk.registration_expires_at is not None and state == "registered":
        parts.append(f"until {trunk.registration_expires_at.isoformat()}")
    if trunk.registration_error:
        parts.append(f"last error: {trunk.registration_error}")
    if trunk.registration_next_at is not None and state == "failed":
        parts.append(f"next attempt {trunk.registration_next_at.isoformat()}")
    return "  ".join(parts)


@trunks_app.command("remove")
def trunks_remove(trunk_id: Annotated[str, typer.Argument(help="The trunk id (TR…).")]) -> None:
    """Remove a trunk."""
    with support.session(action="trunks remove") as session:
        trunk = trunk_service.find_trunk(session, trunk_id)
        trunk_service.delete_trunk(session, trunk.account_id, trunk.id)
    typer.echo(f"removed {trunk_id}")
