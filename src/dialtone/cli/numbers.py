"""``dialtone numbers``: phone numbers held by accounts, stock, renumbering, routing."""

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
from dialtone.core.errors import DialtoneError
from dialtone.policy.numbering import use_notices
from dialtone.services.accounts import accounts as account_service
from dialtone.services.numbering import inventory as inventory_service
from dialtone.services.numbering import lifecycle as lifecycle_service
from dialtone.services.numbering import numbers as number_service
from dialtone.services.numbering import renumbering as renumbering_service
from dialtone.services.telephony import routing as routing_service

numbers_app = typer.Typer(
    cls=Commands, help="Phone numbers held by accounts.", no_args_is_help=True
)


@numbers_app.command("add")
def numbers_add(
    number: str,
    account: Account,
    kind: Annotated[str, typer.Option(help="random, custom or ported (TERMS N6).")] = "random",
) -> None:
    """Lease NUMBER (E.164) to an account (with the N1 notice when it may lie outside
    the account's local calling area)."""
    settings = support.settings_or_exit()
    with support.session(settings, action="numbers add") as session:
        owner = account_service.get_account(session, account)
        row = number_service.add_number(session, account, number, now=datetime.now(UTC), kind=kind)
        inventory_service.take(session, row.number)
        said = use_notices(
            row.number, account_service.dialling_country(owner, settings.default_country)
        )
    typer.echo(f"{row.number} -> {row.account_id}")
    for rule, text in said:
        typer.echo(f"notice ({rule}): {text}")


@numbers_app.command("stock")
def numbers_stock(numbers: list[str]) -> None:
    """Add NUMBERS (E.164) to the inventory customers choose from (N1)."""
    with support.session(action="numbers stock") as session:
        added = inventory_service.stock(session, numbers, now=datetime.now(UTC))
    typer.echo(f"{len(added)} number(s) added to the inventory")


@numbers_app.command("assign")
def numbers_assign(
    account: Account,
    country: Annotated[str, typer.Option(help="ISO 3166 country of the number.")],
) -> None:
    """Assign the account the first number of COUNTRY in the inventory (N1), with the
    notice when it may lie outside the account's local calling area."""
    settings = support.settings_or_exit()
    with support.session(settings, action="numbers assign") as session:
        owner = account_service.get_account(session, account)
        row = inventory_service.assign(session, account, now=datetime.now(UTC), country=country)
        said = use_notices(
            row.number, account_service.dialling_country(owner, settings.default_country)
        )
    typer.echo(f"{row.number} -> {row.account_id}")
    for rule, text in said:
        typer.echo(f"notice ({rule}): {text}")


@numbers_app.command("renumber")
def numbers_renumber(
    old: str,
    new: str,
    reason: Annotated[str, typer.Option(help="Why the number changes, for the notice.")],
    notice_days: Annotated[
        int | None, typer.Option(help="Days of notice (default: renumbering_notice_days).")
    ] = None,
) -> None:
    """Change a customer's number with notice (TERMS N14): NEW works now with OLD's route;
    OLD stops when the notice ends (lifecycle run), then sits in quarantine."""
    settings = support.settings_or_exit()
    with support.session(settings, action="numbers renumber") as session:
        row = renumbering_service.schedule(
            session,
            old,
            new,
            now=datetime.now(UTC),
            reason=reason,
            notice_days=notice_days or settings.renumbering_notice_days,
            actor="operator:cli",
        )
    typer.echo(
        f"{row.old_number} -> {row.new_number}: "
        f"{row.old_number} stops {row.effective_at:%Y-%m-%d %H:%M}"
    )


@numbers_app.command("set")
def numbers_set(
    number: str,
    inbound_only: Annotated[
        bool,
        typer.Option(
            help="Inbound-only: bought for a country where the customer has no operations "
            "(N13); never presented on outbound calls."
        ),
    ],
) -> None:
    """Change a number's operator settings."""
    with support.session(action="numbers set") as session:
        row = number_service.set_inbound_only(session, number, inbound_only)
    typer.echo(f"{row.number} inbound_only={row.inbound_only}")


@numbers_app.command("declare")
def numbers_declare(
    number: str,
    account: Account,
    use: Annotated[str, typer.Option(help="The number's intended use.")],
    end_user: Annotated[str, typer.Option(help="Its real end user.")],
) -> None:
    """Record the customer's declaration of a number's use and end user (N11)."""
    with support.session(action="numbers declare") as session:
        row = number_service.declare_use(
            session, account, number, intended_use=use, end_user=end_user, now=datetime.now(UTC)
        )
    typer.echo(f"{row.number} declared: {row.intended_use} / {row.end_user}")


@numbers_app.command("deactivate")
def numbers_deactivate(
    number: str,
    at: Annotated[str | None, typer.Option(help="When (ISO with offset); default now.")] = None,
) -> None:
    """Deactivate NUMBER for non-payment (TERMS N6): calls get 404; the lifecycle job
    revokes it 16, 21 or 30 days later unless it is reactivated."""
    with support.session(action="numbers deactivate") as session:
        row = lifecycle_service.deactivate(session, number, at=support.moment(at, "--at"))
    typer.echo(f"{row.number} deactivated at {row.deactivated_at:%Y-%m-%d %H:%M}")


@numbers_app.command("reactivate")
def numbers_reactivate(number: str) -> None:
    """Payment came in: NUMBER works again (before its revocation)."""
    with support.session(action="numbers reactivate") as session:
        row = lifecycle_service.reactivate(session, number)
    typer.echo(f"{row.number} active")


@numbers_app.command("list")
def numbers_list(account: Account, as_json: Json = False) -> None:
    """List an account's numbers."""
    with support.session(action="numbers list") as session:
        rows = number_service.list_numbers(session, account)
        if as_json:
            support.print_json(rows)
            return
        for row in rows:
            typer.echo(f"{row.number}  {'custom' if row.greeting else 'default'} greeting")


@numbers_app.command("route")
def numbers_route(
    number: str,
    kind: Annotated[str, typer.Option(help="greeting, user, group, forward, voicemail or agent.")],
    target: Annotated[
        str | None, typer.Option(help="User id, ring-group id, E.164 number or agent id (AG…).")
    ] = None,
    no_answer_seconds: Annotated[
        int | None, typer.Option(help="Ring time before voicemail (5–300).")
    ] = None,
    voicemail_user: Annotated[
        str | None, typer.Option(help="Whose box takes unanswered calls (US…).")
    ] = None,
) -> None:
    """Route calls to NUMBER (whichever account holds it)."""
    settings = support.settings_or_exit()
    with support.session(settings, "numbers route") as session:
        holder = number_service.find_holder(session, number)
        if holder is None:
            raise DialtoneError("number.not_found", f"Nobody holds {number}.", status=404)
        route = routing_service.set_route(
            session,
            holder.account_id,
            holder.number,
            kind=kind,
            target=target,
            no_answer_seconds=no_answer_seconds,
            voicemail_user_id=voicemail_user,
            operator_destinations=settings.destinations,
        )
    typer.echo(f"{route.number} -> {route.kind} {route.target or ''}".rstrip())
