"""The ``dialtone`` command."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.api.app import create_app
from dialtone.core.errors import DialtoneError
from dialtone.runtime.server import serve as run
from dialtone.services import accounts as account_service
from dialtone.services import calls as call_service
from dialtone.services import numbers as number_service
from dialtone.settings import Settings
from dialtone.store.db import open_database, transaction

app = typer.Typer(help="dialtone: phone numbers, calls and call records.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants) and their API keys.", no_args_is_help=True)
numbers_app = typer.Typer(help="Phone numbers held by accounts.", no_args_is_help=True)
calls_app = typer.Typer(help="Call detail records.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(numbers_app, name="numbers")
app.add_typer(calls_app, name="calls")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the bad setting
        typer.echo(f"error: bad settings: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(exc: DialtoneError) -> typer.Exit:
    rule = f" [{exc.rule}]" if exc.rule else ""
    typer.echo(f"error: {exc.code}{rule}: {exc.message}", err=True)
    return typer.Exit(1)


@app.command()
def serve() -> None:
    """Run SIP and the HTTP API in one process until Ctrl-C."""
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _, sessions = open_database(settings.resolved_database_url)
    asgi = create_app(settings, sessions)
    try:
        asyncio.run(run(settings, sessions, asgi, announce=typer.echo))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        typer.echo(f"error: cannot listen: {exc}", err=True)
        raise typer.Exit(1) from None


@accounts_app.command("create")
def accounts_create(
    name: str,
    increment: Annotated[
        str, typer.Option(help="Billing increment first/next seconds (TERMS B2).")
    ] = "60/60",
) -> None:
    """Create an account; prints its id and an API key (shown once)."""
    settings = _settings()
    _, sessions = open_database(settings.resolved_database_url)
    try:
        with transaction(sessions) as session:
            created = account_service.create_account(
                session, name, now=datetime.now(UTC), billing_increment=increment
            )
    except DialtoneError as exc:
        raise _fail(exc) from None
    typer.echo(f"account_id: {created.account.id}")
    typer.echo(f"api_key: {created.api_key}")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""
    settings = _settings()
    _, sessions = open_database(settings.resolved_database_url)
    with transaction(sessions) as session:
        for account in account_service.list_accounts(session):
            typer.echo(
                f"{account.id}  {account.status:8}  {account.billing_increment:6}  {account.name}"
            )


@numbers_app.command("add")
def numbers_add(
    number: str,
    account: Annotated[str, typer.Option("--account", help="The account id (AC…).")],
) -> None:
    """Lease NUMBER (E.164) to an account."""
    settings = _settings()
    _, sessions = open_database(settings.resolved_database_url)
    try:
        with transaction(sessions) as session:
            account_service.get_account(session, account)
            row = number_service.add_number(session, account, number, now=datetime.now(UTC))
    except DialtoneError as exc:
        raise _fail(exc) from None
    typer.echo(f"{row.number} -> {row.account_id}")


@numbers_app.command("list")
def numbers_list(
    account: Annotated[str, typer.Option("--account", help="The account id (AC…).")],
) -> None:
    """List an account's numbers."""
    settings = _settings()
    _, sessions = open_database(settings.resolved_database_url)
    with transaction(sessions) as session:
        for row in number_service.list_numbers(session, account):
            typer.echo(f"{row.number}  {'custom' if row.greeting else 'default'} greeting")


@calls_app.command("list")
def calls_list(
    account: Annotated[str, typer.Option("--account", help="The account id (AC…).")],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List an account's calls, newest first."""
    settings = _settings()
    _, sessions = open_database(settings.resolved_database_url)
    try:
        with transaction(sessions) as session:
            account_service.get_account(session, account)
            rows, _ = call_service.list_calls(session, account, limit=limit)
    except DialtoneError as exc:
        raise _fail(exc) from None
    for r in rows:
        typer.echo(
            f"{r.id}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.from_number} -> {r.to_number}  "
            f"{r.status:9}  {r.duration}s billed {r.billed_seconds}s  {r.hangup_cause}"
        )


if __name__ == "__main__":
    app()
