"""``dialtone kyc``: identity documents and activation (N3)."""

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
from dialtone.services.numbering import kyc as kyc_service
from dialtone.services.numbering import numbers as number_service

kyc_app = typer.Typer(
    cls=Commands, help="Identity documents and activation (N3).", no_args_is_help=True
)


@kyc_app.command("list")
def kyc_list(account: Account, as_json: Json = False) -> None:
    """An account's documents and the numbers waiting for them (with --json: the
    documents)."""
    with support.session(action="kyc list") as session:
        if as_json:
            support.print_json(kyc_service.documents(session, account))
            return
        for doc in kyc_service.documents(session, account):
            where = f" ({doc.country})" if doc.country else ""
            typer.echo(f"{doc.kind}{where}  {doc.state}  received {doc.received_at:%Y-%m-%d}")
        for row in number_service.list_numbers(session, account):
            if row.activated_at is None:
                decision = kyc_service.activation(session, account, row.number)
                typer.echo(f"{row.number}  waiting: {decision.code}: {decision.message}")


def _kyc_review(account: str, kind: str, *, approve: bool, note: str | None, false: bool) -> None:
    with support.session(action="kyc review") as session:
        activated = kyc_service.review(
            session,
            account,
            kind,
            approve=approve,
            now=datetime.now(UTC),
            note=note,
            false_declaration=false,
            actor="operator:cli",
        )
    typer.echo(f"{kind} {'approved' if approve else 'rejected'}")
    for number in activated:
        typer.echo(f"{number} activated")


@kyc_app.command("approve")
def kyc_approve(
    account: Account,
    kind: Annotated[str, typer.Argument(help="company_registration, identity, proof_of_address")],
) -> None:
    """Approve a document; the numbers it completes are activated (N3)."""
    _kyc_review(account, kind, approve=True, note=None, false=False)


@kyc_app.command("reject")
def kyc_reject(
    account: Account,
    kind: Annotated[str, typer.Argument(help="company_registration, identity, proof_of_address")],
    note: Annotated[str, typer.Option(help="Why, for the customer.")],
    false_declaration: Annotated[
        bool, typer.Option(help="A false declaration: 8 days to correct it, or the service ends.")
    ] = False,
) -> None:
    """Reject a document (N3)."""
    _kyc_review(account, kind, approve=False, note=note, false=false_declaration)
