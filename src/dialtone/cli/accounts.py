"""``dialtone accounts``: accounts (tenants), their settings, closing, export, purge,
suspension and reinstatement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, get_args

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Account,
    Commands,
    Json,
    remove_files,
)
from dialtone.policy import fraud
from dialtone.policy.numbering import use_notices
from dialtone.services.accounts import account_data
from dialtone.services.accounts import accounts as account_service
from dialtone.services.compliance import fair_use as fair_use_service
from dialtone.services.numbering import inventory as inventory_service
from dialtone.services.numbering import lifecycle as lifecycle_service
from dialtone.services.numbering import numbers as number_service
from dialtone.services.twilio import auth_tokens as auth_token_service

accounts_app = typer.Typer(
    cls=Commands, help="Accounts (tenants) and their API keys.", no_args_is_help=True
)


# The plans of TERMS N6 (policy.lifecycle.PLANS; a test keeps them equal), listed in --help.
Plan = Literal["personal", "professional", "business", "enterprise"]


PLAN_HELP = f"The plan (N6): {', '.join(get_args(Plan))}."


@accounts_app.command("create")
def accounts_create(
    name: str,
    increment: Annotated[
        str, typer.Option(help="Billing increment first/next seconds (TERMS B2).")
    ] = "60/60",
    number: Annotated[
        list[str] | None,
        typer.Option(help="A number to lease at sign-up (N1); repeat for several."),
    ] = None,
) -> None:
    """Create an account (with its first numbers); prints its id, an API key and its
    auth token (Twilio-compatible API; both shown once), and the N1 notice of each
    number that may lie outside its local area."""
    settings = support.settings_or_exit()
    notices = []
    with support.session(settings, action="accounts create") as session:
        now = datetime.now(UTC)
        created = account_service.create_account(
            session, name, now=now, billing_increment=increment
        )
        token = auth_token_service.issue(session, created.account, settings.sealing_key(), now)
        country = account_service.dialling_country(created.account, settings.default_country)
        for wanted in number or []:
            row = number_service.add_number(session, created.account.id, wanted, now=now)
            inventory_service.take(session, row.number)
            notices.append((row.number, use_notices(row.number, country)))
    typer.echo(f"account_id: {created.account.id}")
    typer.echo(f"api_key: {created.api_key}")
    typer.echo(f"auth_token: {token}")
    for leased, said in notices:
        typer.echo(f"number: {leased}")
        for rule, text in said:
            typer.echo(f"notice ({rule}): {text}")


@accounts_app.command("list")
def accounts_list(as_json: Json = False) -> None:
    """List accounts."""
    with support.session(action="accounts list") as session:
        rows = account_service.list_accounts(session)
        if as_json:
            support.print_json(rows)
            return
        for account in rows:
            typer.echo(
                f"{account.id}  {account.status:8}  {account.billing_increment:6}  {account.name}"
            )


@accounts_app.command("close")
def accounts_close(account: Account) -> None:
    """Close an account (TERMS N7: its numbers go to a 6-month quarantine)."""
    with support.session(action="accounts close") as session:
        row = lifecycle_service.close_account(session, account, now=datetime.now(UTC))
    typer.echo(f"{row.id} closed at {row.closed_at:%Y-%m-%d %H:%M}")


@accounts_app.command("export")
def accounts_export(
    account: Account,
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON here (default: standard output).")
    ] = None,
) -> None:
    """Everything held for the account as JSON (secrets left out; D6, V15)."""
    with support.session(action="accounts export") as session:
        data = account_data.export(session, account, now=datetime.now(UTC))
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}")


@accounts_app.command("purge")
def accounts_purge(account: Account) -> None:
    """Delete a closed account's records and files once kept a calendar year after the
    agreement ended (TERMS V15; record_retention_years); the audit log stays."""
    settings = support.settings_or_exit()
    with support.session(settings, action="accounts purge") as session:
        purged = account_data.purge(
            session,
            account,
            now=datetime.now(UTC),
            recordings_dir=settings.recordings_dir,
            greetings_dir=settings.greetings_dir,
            years=settings.record_retention_years,
            actor="operator:cli",
        )
    remove_files(purged)
    typer.echo(f"{account} purged ({len(purged.files)} file(s))")


@accounts_app.command("suspend")
def accounts_suspend(
    account: Account,
    rule: Annotated[str, typer.Option(help="The rule the abuse was found under: F1, F2…")],
    reason: Annotated[str, typer.Option(help="What was found, for the warning.")],
) -> None:
    """Suspend the account's unlimited plan for 7 days with a warning (TERMS F5): its
    outbound calls are refused (emergency calls aside); unremedied, the plan ends."""
    with support.session(action="accounts suspend") as session:
        row = fair_use_service.suspend(
            session, account, now=datetime.now(UTC), rule=rule, reason=reason, actor="operator:cli"
        )
        assert row.suspended_at is not None
        until = row.suspended_at + fraud.SUSPENSION
    typer.echo(f"{row.id} suspended ({row.suspension_rule}) until {until:%Y-%m-%d %H:%M}")


@accounts_app.command("remedy")
def accounts_remedy(account: Account) -> None:
    """The abuse is remedied: the plan resumes when the 7 days end (F5)."""
    with support.session(action="accounts remedy") as session:
        row = fair_use_service.remedy(session, account, now=datetime.now(UTC))
    typer.echo(f"{row.id} remedied")


@accounts_app.command("reinstate")
def accounts_reinstate(
    account: Account,
) -> None:
    """Clear a suspension or a terminated plan (moved to another plan, or a wrong finding)."""
    with support.session(action="accounts reinstate") as session:
        row = fair_use_service.reinstate(session, account)
    typer.echo(f"{row.id} reinstated")


@accounts_app.command("set")
def accounts_set(
    account: Account,
    *,
    channels_per_user: Annotated[
        int | None, typer.Option(help="Simultaneous calls per user (TERMS V2, paid option).")
    ] = None,
    recording_policy: Annotated[
        str | None, typer.Option(help="off, or notice (TERMS V8: notice, then record).")
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(help='ISO country it dials from (V6, V7); "" for the default.'),
    ] = None,
    premium_rate: Annotated[
        bool | None, typer.Option(help="May call premium-rate numbers (TERMS V5).")
    ] = None,
    high_cost: Annotated[
        bool | None, typer.Option(help="May call high-cost destinations (TERMS V5).")
    ] = None,
    telemarketing: Annotated[
        bool | None,
        typer.Option(help="Telemarketing: DNC registers and calling hours apply (V12)."),
    ] = None,
    plan: Annotated[Plan | None, typer.Option(help=PLAN_HELP, metavar="<plan>")] = None,
    app_store: Annotated[
        bool | None, typer.Option(help="Billed by an app store (N6: 16-day revocation).")
    ] = None,
) -> None:
    """Set an account's call channels per user, recording policy, country and
    destination permissions."""
    settings = support.settings_or_exit()
    with support.session(settings, "accounts set") as session:
        account_service.set_call_options(
            session,
            account,
            channels_per_user=channels_per_user,
            recording_policy=recording_policy,
        )
        row = account_service.set_destination_options(
            session,
            account,
            country=country,
            premium_rate_allowed=premium_rate,
            high_cost_allowed=high_cost,
            telemarketing=telemarketing,
        )
        row = account_service.set_plan(session, account, plan=plan, app_store=app_store)
    typer.echo(
        f"{row.id}  channels_per_user={row.channels_per_user}  "
        f"recording_policy={row.recording_policy}  "
        f"country={account_service.dialling_country(row, settings.default_country)}  "
        f"premium_rate={'yes' if row.premium_rate_allowed else 'no'}  "
        f"high_cost={'yes' if row.high_cost_allowed else 'no'}  "
        f"telemarketing={'yes' if row.telemarketing else 'no'}  plan={row.plan}"
        + ("  app_store" if row.app_store else "")
    )


auth_token_app = typer.Typer(
    cls=Commands,
    help="The account's auth token (HTTP Basic on the Twilio-compatible API; D2).",
    no_args_is_help=True,
)
accounts_app.add_typer(auth_token_app, name="auth-token")


@auth_token_app.command("rotate")
def auth_token_rotate(
    account: Account,
    immediately: Annotated[
        bool, typer.Option(help="Stop the old token now instead of after the D2 notice.")
    ] = False,
) -> None:
    """The platform's rotation for security (D2): a new token now, shown once; the old
    one keeps working for the notice (one business day by default,
    key_rotation_notice_business_days). An account without a token gets its first."""
    settings = support.settings_or_exit()
    with support.session(settings, action="accounts auth-token rotate") as session:
        rotated = auth_token_service.rotate(
            session,
            account,
            settings.sealing_key(),
            datetime.now(UTC),
            immediately=immediately,
            notice_business_days=settings.key_rotation_notice_business_days,
            actor="operator:cli",
        )
    typer.echo(f"auth_token: {rotated.token}")
    if rotated.previous_expires_at is not None:
        typer.echo(f"old token stops at {rotated.previous_expires_at:%Y-%m-%d %H:%M %Z}")
