"""The ``dialtone`` command."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, get_args

import typer
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dialtone import __version__, cli_billing, cli_support
from dialtone.cli_support import Account, Commands, Json
from dialtone.core.errors import DialtoneError
from dialtone.policy import fraud
from dialtone.policy.checklist import verdict
from dialtone.policy.numbering import use_notices
from dialtone.services import account_data
from dialtone.services import accounts as account_service
from dialtone.services import api_keys as key_service
from dialtone.services import audit as audit_service
from dialtone.services import calls as call_service
from dialtone.services import dnc as dnc_service
from dialtone.services import error_log as error_log_service
from dialtone.services import fair_use as fair_use_service
from dialtone.services import inventory as inventory_service
from dialtone.services import kyc as kyc_service
from dialtone.services import lifecycle as lifecycle_service
from dialtone.services import numbers as number_service
from dialtone.services import policy as policy_service
from dialtone.services import porting as porting_service
from dialtone.services import renumbering as renumbering_service
from dialtone.services import routing as routing_service
from dialtone.services import trunks as trunk_service
from dialtone.services import users as user_service
from dialtone.services import voicemails as voicemail_service
from dialtone.settings import Settings
from dialtone.store.db import open_database, sqlite_file
from dialtone.store.models import Trunk

app = typer.Typer(
    cls=Commands, help="dialtone: phone numbers, calls and call records.", no_args_is_help=True
)
accounts_app = typer.Typer(
    cls=Commands, help="Accounts (tenants) and their API keys.", no_args_is_help=True
)
numbers_app = typer.Typer(
    cls=Commands, help="Phone numbers held by accounts.", no_args_is_help=True
)
calls_app = typer.Typer(cls=Commands, help="Call detail records.", no_args_is_help=True)
users_app = typer.Typer(
    cls=Commands, help="Users, extensions and SIP credentials.", no_args_is_help=True
)
trunks_app = typer.Typer(cls=Commands, help="Carrier SIP trunks.", no_args_is_help=True)
voicemails_app = typer.Typer(cls=Commands, help="Voicemail messages.", no_args_is_help=True)
lifecycle_app = typer.Typer(
    cls=Commands, help="The number lifecycle job (N6-N8).", no_args_is_help=True
)
dnc_app = typer.Typer(
    cls=Commands, help="Do-not-call lists and registers (V12).", no_args_is_help=True
)
audit_app = typer.Typer(
    cls=Commands, help="The audit log of the terms engine.", no_args_is_help=True
)
policy_app = typer.Typer(cls=Commands, help="Dry runs of the terms engine.", no_args_is_help=True)
keys_app = typer.Typer(
    cls=Commands, help="API keys: issue, rotate, revoke (D1, D2).", no_args_is_help=True
)
ports_app = typer.Typer(cls=Commands, help="Port-ins and port-outs (N4, N5).", no_args_is_help=True)
kyc_app = typer.Typer(
    cls=Commands, help="Identity documents and activation (N3).", no_args_is_help=True
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(numbers_app, name="numbers")
app.add_typer(calls_app, name="calls")
app.add_typer(users_app, name="users")
app.add_typer(trunks_app, name="trunks")
app.add_typer(voicemails_app, name="voicemails")
app.add_typer(audit_app, name="audit")
app.add_typer(dnc_app, name="dnc")
app.add_typer(lifecycle_app, name="lifecycle")
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
app.add_typer(ports_app, name="ports")
app.add_typer(kyc_app, name="kyc")
app.add_typer(cli_billing.billing_app, name="billing")
app.add_typer(cli_billing.sla_app, name="sla")


# The plans of TERMS N6 (policy.lifecycle.PLANS; a test keeps them equal), listed in --help.
Plan = Literal["personal", "professional", "business", "enterprise"]
PLAN_HELP = f"The plan (N6): {', '.join(get_args(Plan))}."
_settings = cli_support.settings_or_exit
_session = cli_support.session
_fail = cli_support.fail


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


@app.command()
def serve() -> None:
    """Run SIP and the HTTP API in one process until Ctrl-C.

    Settings come from DIALTONE_* environment variables, then dialtone.toml in the
    current directory (another file: DIALTONE_CONFIG), then the defaults. The main ones:

    - DIALTONE_DATA_DIR (var): database, recordings, voicemail, keys
    - DIALTONE_SIP_HOST (127.0.0.1), DIALTONE_SIP_PUBLIC_HOST (behind NAT)
    - DIALTONE_SIP_PORT (5060, UDP), DIALTONE_SIP_TCP_PORT (5060)
    - DIALTONE_SIP_TLS_PORT (443; empty: no TLS)
    - DIALTONE_HTTP_HOST (127.0.0.1), DIALTONE_HTTP_PORT (8000): the API
    - DIALTONE_RTP_PORT_MIN, DIALTONE_RTP_PORT_MAX (20000-22000)
    - DIALTONE_DATABASE_URL (default: SQLite in the data dir)
    - DIALTONE_LOG_LEVEL (INFO)

    Every setting is in the README (Configuration)."""
    # Imported here: the web framework and the runtime take most of a second and more to
    # load, which every other (short) command would otherwise pay.
    from dialtone.api.app import create_app  # noqa: PLC0415
    from dialtone.runtime.loop import loop_factory  # noqa: PLC0415
    from dialtone.runtime.server import serve as run  # noqa: PLC0415
    from dialtone.runtime.startup import (  # noqa: PLC0415
        StartupError,
        lock_data_dir,
        prepare_directories,
    )

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Every start-up failure is one line naming the path or socket and what to do.
    try:
        prepare_directories(settings)
        # Before the database or the recordings are touched; held until the process ends.
        lock = lock_data_dir(settings)  # noqa: F841
        sessions = _open_or_explain(settings)
        asgi = create_app(settings, sessions)
        name, factory = loop_factory(settings.event_loop)
        logging.getLogger("dialtone").info("event loop: %s", name)
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(run(settings, sessions, asgi, announce=typer.echo))
    except KeyboardInterrupt:
        pass
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: cannot start: {exc}", err=True)
        raise typer.Exit(1) from None


def _open_or_explain(settings: Settings) -> sessionmaker[Session]:
    from dialtone.runtime.startup import StartupError  # noqa: PLC0415

    url = settings.resolved_database_url
    try:
        _, sessions = open_database(url, settings.sealing_key)
    except SQLAlchemyError as exc:
        where = sqlite_file(url) or make_url(url).render_as_string()
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StartupError(
            f"database {where}: cannot open it ({why}): check database_url "
            "(DIALTONE_DATABASE_URL) and that this user may write there"
        ) from None
    return sessions


@app.command()
def migrate() -> None:
    """Create the database, or bring it to the newest schema, without serving (serve does
    it too at every start); prints where it is."""
    from dialtone.runtime.startup import StartupError, prepare_directories  # noqa: PLC0415

    settings = _settings()
    url = settings.resolved_database_url
    try:
        prepare_directories(settings)
        _open_or_explain(settings)
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database: {sqlite_file(url) or make_url(url).render_as_string()}")


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
    """Create an account (with its first numbers); prints its id and an API key (shown
    once), and the N1 notice of each number that may lie outside its local area."""
    settings = _settings()
    notices = []
    with _session(settings, action="accounts create") as session:
        now = datetime.now(UTC)
        created = account_service.create_account(
            session, name, now=now, billing_increment=increment
        )
        country = account_service.dialling_country(created.account, settings.default_country)
        for wanted in number or []:
            row = number_service.add_number(session, created.account.id, wanted, now=now)
            inventory_service.take(session, row.number)
            notices.append((row.number, use_notices(row.number, country)))
    typer.echo(f"account_id: {created.account.id}")
    typer.echo(f"api_key: {created.api_key}")
    for leased, said in notices:
        typer.echo(f"number: {leased}")
        for rule, text in said:
            typer.echo(f"notice ({rule}): {text}")


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
    with _session(action="keys issue") as session:
        issued = key_service.issue(session, account, now=datetime.now(UTC), name=name, user_id=user)
    typer.echo(f"key_id: {issued.row.id}")
    typer.echo(f"api_key: {issued.key}")


@keys_app.command("list")
def keys_list(account: Account, as_json: Json = False) -> None:
    """An account's keys: id, prefix, user, state (never the keys themselves)."""
    with _session(action="keys list") as session:
        rows = key_service.list_keys(session, account)
        if as_json:
            cli_support.print_json(rows)
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
    settings = _settings()
    with _session(settings, action="keys rotate") as session:
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
    with _session(action="keys revoke") as session:
        key_service.revoke(session, account, key_id, now=datetime.now(UTC))
    typer.echo(f"revoked {key_id}")


@kyc_app.command("list")
def kyc_list(account: Account, as_json: Json = False) -> None:
    """An account's documents and the numbers waiting for them (with --json: the
    documents)."""
    with _session(action="kyc list") as session:
        if as_json:
            cli_support.print_json(kyc_service.documents(session, account))
            return
        for doc in kyc_service.documents(session, account):
            where = f" ({doc.country})" if doc.country else ""
            typer.echo(f"{doc.kind}{where}  {doc.state}  received {doc.received_at:%Y-%m-%d}")
        for row in number_service.list_numbers(session, account):
            if row.activated_at is None:
                decision = kyc_service.activation(session, account, row.number)
                typer.echo(f"{row.number}  waiting: {decision.code}: {decision.message}")


def _kyc_review(account: str, kind: str, *, approve: bool, note: str | None, false: bool) -> None:
    with _session(action="kyc review") as session:
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


@ports_app.command("list")
def ports_list(account: Account, as_json: Json = False) -> None:
    """An account's port-ins: id, state, numbers, effective date."""
    with _session(action="ports list") as session:
        rows = porting_service.list_requests(session, account)
        if as_json:
            cli_support.print_json(rows)
            return
        for row in rows:
            when = row.effective_local or "-"
            typer.echo(f"{row.id}  {row.state:10}  {when:25}  {' '.join(json.loads(row.numbers))}")


@ports_app.command("complete")
def ports_complete(port_id: str) -> None:
    """The carriers ported the numbers: lease them to the account as ported numbers and
    end the previous line (N4)."""
    with _session(action="ports complete") as session:
        row = porting_service.complete(session, port_id, now=datetime.now(UTC))
    typer.echo(f"{row.id} completed: {' '.join(json.loads(row.numbers))}")


@ports_app.command("reject")
def ports_reject(
    port_id: str, reason: Annotated[str, typer.Option(help="Why, as the carrier said.")]
) -> None:
    """The losing carrier rejected the port-in."""
    with _session(action="ports reject") as session:
        row = porting_service.reject(session, port_id, reason, now=datetime.now(UTC))
    typer.echo(f"{row.id} rejected: {row.rejection}")


@ports_app.command("out")
def ports_out(
    number: str,
    period_end: Annotated[
        str, typer.Option(help="End of the customer's subscription period (YYYY-MM-DD).")
    ],
    requested_on: Annotated[
        str | None, typer.Option(help="When the new operator asked (YYYY-MM-DD); today.")
    ] = None,
    address_proven: Annotated[
        bool, typer.Option(help="A local address was proved when the number was activated.")
    ] = False,
) -> None:
    """A port-out the new operator asked for (N5, N2): exit 1 with the reason when the
    terms refuse it; otherwise the number's line and services end here."""
    settings = _settings()
    end = cli_support.day(period_end, "--period-end")
    asked = (
        cli_support.day(requested_on, "--requested-on")
        if requested_on
        else datetime.now(UTC).date()
    )
    with _session(settings, action="ports out") as session:
        decision = porting_service.port_out(
            session,
            number,
            requested_on=asked,
            period_end=end,
            address_proven=address_proven,
            now=datetime.now(UTC),
            notice_days=settings.port_out_notice_days,
            platform_numbers=settings.platform_numbers_port_out,
            actor="operator:cli",
        )
    if decision.refused:
        typer.echo(f"refused: {decision.code} [{decision.rule}]: {decision.message}")
        raise typer.Exit(1)
    typer.echo(f"{number} ported out: its line and services ended")


@accounts_app.command("list")
def accounts_list(as_json: Json = False) -> None:
    """List accounts."""
    with _session(action="accounts list") as session:
        rows = account_service.list_accounts(session)
        if as_json:
            cli_support.print_json(rows)
            return
        for account in rows:
            typer.echo(
                f"{account.id}  {account.status:8}  {account.billing_increment:6}  {account.name}"
            )


@numbers_app.command("add")
def numbers_add(
    number: str,
    account: Account,
    kind: Annotated[str, typer.Option(help="random, custom or ported (TERMS N6).")] = "random",
) -> None:
    """Lease NUMBER (E.164) to an account (with the N1 notice when it may lie outside
    the account's local calling area)."""
    settings = _settings()
    with _session(settings, action="numbers add") as session:
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
    with _session(action="numbers stock") as session:
        added = inventory_service.stock(session, numbers, now=datetime.now(UTC))
    typer.echo(f"{len(added)} number(s) added to the inventory")


@numbers_app.command("assign")
def numbers_assign(
    account: Account,
    country: Annotated[str, typer.Option(help="ISO 3166 country of the number.")],
) -> None:
    """Assign the account the first number of COUNTRY in the inventory (N1), with the
    notice when it may lie outside the account's local calling area."""
    settings = _settings()
    with _session(settings, action="numbers assign") as session:
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
    settings = _settings()
    with _session(settings, action="numbers renumber") as session:
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
    with _session(action="numbers set") as session:
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
    with _session(action="numbers declare") as session:
        row = number_service.declare_use(
            session, account, number, intended_use=use, end_user=end_user, now=datetime.now(UTC)
        )
    typer.echo(f"{row.number} declared: {row.intended_use} / {row.end_user}")


_moment = cli_support.moment


@numbers_app.command("deactivate")
def numbers_deactivate(
    number: str,
    at: Annotated[str | None, typer.Option(help="When (ISO with offset); default now.")] = None,
) -> None:
    """Deactivate NUMBER for non-payment (TERMS N6): calls get 404; the lifecycle job
    revokes it 16, 21 or 30 days later unless it is reactivated."""
    with _session(action="numbers deactivate") as session:
        row = lifecycle_service.deactivate(session, number, at=_moment(at, "--at"))
    typer.echo(f"{row.number} deactivated at {row.deactivated_at:%Y-%m-%d %H:%M}")


@numbers_app.command("reactivate")
def numbers_reactivate(number: str) -> None:
    """Payment came in: NUMBER works again (before its revocation)."""
    with _session(action="numbers reactivate") as session:
        row = lifecycle_service.reactivate(session, number)
    typer.echo(f"{row.number} active")


@accounts_app.command("close")
def accounts_close(account: Account) -> None:
    """Close an account (TERMS N7: its numbers go to a 6-month quarantine)."""
    with _session(action="accounts close") as session:
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
    with _session(action="accounts export") as session:
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
    settings = _settings()
    with _session(settings, action="accounts purge") as session:
        purged = account_data.purge(
            session,
            account,
            now=datetime.now(UTC),
            recordings_dir=settings.recordings_dir,
            greetings_dir=settings.greetings_dir,
            years=settings.record_retention_years,
            actor="operator:cli",
        )
    _remove_files(purged)
    typer.echo(f"{account} purged ({len(purged.files)} file(s))")


def _remove_files(purged: account_data.Purged) -> None:
    # After the commit: a file left behind costs disk space, a row without its file
    # would be a broken record.
    for path in purged.files:
        path.unlink(missing_ok=True)
    for directory in purged.directories:
        shutil.rmtree(directory, ignore_errors=True)


@accounts_app.command("suspend")
def accounts_suspend(
    account: Account,
    rule: Annotated[str, typer.Option(help="The rule the abuse was found under: F1, F2…")],
    reason: Annotated[str, typer.Option(help="What was found, for the warning.")],
) -> None:
    """Suspend the account's unlimited plan for 7 days with a warning (TERMS F5): its
    outbound calls are refused (emergency calls aside); unremedied, the plan ends."""
    with _session(action="accounts suspend") as session:
        row = fair_use_service.suspend(
            session, account, now=datetime.now(UTC), rule=rule, reason=reason, actor="operator:cli"
        )
        assert row.suspended_at is not None
        until = row.suspended_at + fraud.SUSPENSION
    typer.echo(f"{row.id} suspended ({row.suspension_rule}) until {until:%Y-%m-%d %H:%M}")


@accounts_app.command("remedy")
def accounts_remedy(account: Account) -> None:
    """The abuse is remedied: the plan resumes when the 7 days end (F5)."""
    with _session(action="accounts remedy") as session:
        row = fair_use_service.remedy(session, account, now=datetime.now(UTC))
    typer.echo(f"{row.id} remedied")


@accounts_app.command("reinstate")
def accounts_reinstate(
    account: Account,
) -> None:
    """Clear a suspension or a terminated plan (moved to another plan, or a wrong finding)."""
    with _session(action="accounts reinstate") as session:
        row = fair_use_service.reinstate(session, account)
    typer.echo(f"{row.id} reinstated")


@lifecycle_app.command("run")
def lifecycle_run(
    now: Annotated[
        str | None, typer.Option(help="Run as of this moment (ISO); default now.")
    ] = None,
) -> None:
    """Do the lifecycle actions due (TERMS N6 revocation, N7 quarantine, N8 idle notice
    and reclaim, F5 termination of a plan suspended 7 days unremedied, V15 purge of
    accounts closed longer than the retention). Idempotent: run it as often as you
    like, e.g. from cron."""
    moment = _moment(now)
    settings = _settings()
    with _session(settings, action="lifecycle run") as session:
        taken = lifecycle_service.run(session, moment)
        terminated = fair_use_service.review(session, moment)
        renumbered = renumbering_service.run(session, moment)
        uncorrected = kyc_service.review_corrections(session, moment)
        forgotten = error_log_service.prune(
            session, moment, keep=settings.error_log_entries, days=settings.error_log_days
        )
        purged = account_data.purge_due(
            session,
            moment,
            recordings_dir=settings.recordings_dir,
            greetings_dir=settings.greetings_dir,
            years=settings.record_retention_years,
        )
    for done in purged:
        _remove_files(done)
    for t in taken:
        typer.echo(f"{t.number}  {t.account_id}  {t.action}  [{t.rule}]  due {t.due_at:%Y-%m-%d}")
    for account_id in terminated:
        typer.echo(f"{account_id}  unlimited plan terminated  [F5]")
    for number in renumbered:
        typer.echo(f"{number}  released after its renumbering notice  [N14]")
    for account_id in uncorrected:
        typer.echo(f"{account_id}  closed: false declaration not corrected in 8 days  [N3]")
    for done in purged:
        typer.echo(f"{done.account_id}  purged after retention  [V15]")
    if forgotten:
        typer.echo(f"{forgotten} error log entr(ies) older than the D4 limit deleted")
    actions = len(taken) + len(terminated) + len(renumbered) + len(uncorrected) + len(purged)
    typer.echo(f"{actions} action(s)")


@numbers_app.command("list")
def numbers_list(account: Account, as_json: Json = False) -> None:
    """List an account's numbers."""
    with _session(action="numbers list") as session:
        rows = number_service.list_numbers(session, account)
        if as_json:
            cli_support.print_json(rows)
            return
        for row in rows:
            typer.echo(f"{row.number}  {'custom' if row.greeting else 'default'} greeting")


@calls_app.command("list")
def calls_list(
    account: Account,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Json = False,
) -> None:
    """List an account's calls, newest first."""
    with _session(action="calls list") as session:
        account_service.get_account(session, account)
        rows, _ = call_service.list_calls(session, account, limit=limit)
    if as_json:
        cli_support.print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r.id}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.from_number} -> {r.to_number}  "
            f"{r.status:9}  {r.duration}s billed {r.billed_seconds}s  {r.hangup_cause}"
        )


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
    settings = _settings()
    with _session(settings, "accounts set") as session:
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


@dnc_app.command("import")
def dnc_import(
    path: Annotated[Path, typer.Argument(help="A CSV file, numbers in the first column.")],
    register: Annotated[
        str | None, typer.Option(help="A national register's name (bloctel, us-dnc…).")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Add to this account's own list instead.")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Read national forms of this country (FR: 06…).")
    ] = None,
) -> None:
    """Import do-not-call numbers (TERMS V12): a national register (for telemarketing
    accounts) or an account's own list (for every call of it)."""
    if (register is None) == (account is None):
        typer.echo("error: give --register NAME or --account AC…", err=True)
        raise typer.Exit(2)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    with _session(action="dnc import") as session:
        result = dnc_service.import_csv(
            session,
            account,
            text,
            now=datetime.now(UTC),
            list_name=register or "account",
            region=country.upper() if country else None,
        )
    typer.echo(
        f"added={result.added}  already_listed={result.already_listed}  "
        f"invalid_lines={len(result.invalid_lines)}"
        + (f" (first: {result.invalid_lines[:10]})" if result.invalid_lines else "")
    )


@app.command("fair-use")
def fair_use_report(
    account: Account,
    month: Annotated[str, typer.Option(help="YYYY-MM (UTC days).")],
) -> None:
    """Very short outbound calls day by day (TERMS F1, V13), the month's calling
    patterns (F3 redial, F4 autodialing) and what is registered behind each user (V3);
    exit 1 when any of them is found."""
    month = cli_support.month(month, "--month")
    with _session(action="fair-use") as session:
        report = fair_use_service.short_call_report(session, account, month)
        findings = fair_use_service.pattern_report(session, account, month, now=datetime.now(UTC))
    for day in report.days:
        flag = "  COUNTS" if day.counts else ""
        typer.echo(f"{day.day}  short_calls={day.short_calls}  users={day.users}{flag}")
    checks = [("short_calls", report.decision)] + [(f.check, f.decision) for f in findings]
    for name, decision in checks:
        outcome = (
            "ok" if decision.allowed else f"{decision.code} [{decision.rule}]: {decision.message}"
        )
        typer.echo(f"{name:16} {outcome}")
    if any(decision.refused for _, decision in checks):
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    account: Annotated[
        str | None, typer.Option(help="Only this account's events (default: every one).")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule (e.g. V5).")] = None,
    code: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """The audit log: every refusal and enforcement action, newest first."""
    with _session(action="audit list") as session:
        rows, _ = audit_service.list_events(session, account, rule=rule, code=code, limit=limit)
        if as_json:
            cli_support.print_json(rows)
            return
        for r in rows:
            typer.echo(
                f"{r.at:%Y-%m-%d %H:%M:%S}  {r.account_id or '-':34}  {r.outcome:8}  "
                f"{r.rule or '-':4}  {r.code}  {r.action}  by {r.actor}  {r.details}"
            )


@policy_app.command("check")
def policy_check(
    account: Account,
    to: Annotated[str, typer.Option(help="An extension or a number.")],
    user: Annotated[str | None, typer.Option(help="Who would call (US…).")] = None,
    caller_id: Annotated[str | None, typer.Option(help="The number to present.")] = None,
    forward: Annotated[bool, typer.Option(help="Check a forward to TO instead of a call.")] = False,
) -> None:
    """Dry run: every check a call (or forward) would go through; exit 1 when refused.
    Calls in progress are not known here (the running server's API knows them)."""
    settings = _settings()
    operator = policy_service.OperatorPolicy(
        settings.destinations, settings.default_country, settings.emergency_countries
    )
    with _session(settings, "policy check") as session:
        if forward:
            results = policy_service.check_forward(session, account, to=to, operator=operator)
        else:
            results = policy_service.check_call(
                session,
                account,
                to=to,
                operator=operator,
                user_id=user,
                caller_id=caller_id,
                now=datetime.now(UTC),
            )
    for result in results:
        decision = result.decision
        outcome = "ok" if decision.allowed else f"REFUSED {decision.code}: {decision.message}"
        typer.echo(f"{result.name:12} {','.join(result.rules):8} {outcome}")
    if verdict(results).refused:
        raise typer.Exit(1)


@numbers_app.command("route")
def numbers_route(
    number: str,
    kind: Annotated[str, typer.Option(help="greeting, user, group, forward or voicemail.")],
    target: Annotated[
        str | None, typer.Option(help="User id, ring-group id or E.164 number.")
    ] = None,
    no_answer_seconds: Annotated[
        int | None, typer.Option(help="Ring time before voicemail (5–300).")
    ] = None,
    voicemail_user: Annotated[
        str | None, typer.Option(help="Whose box takes unanswered calls (US…).")
    ] = None,
) -> None:
    """Route calls to NUMBER (whichever account holds it)."""
    settings = _settings()
    with _session(settings, "numbers route") as session:
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
    settings = _settings()
    with _session(settings, "users create") as session:
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
    with _session(action="users list") as session:
        account_service.get_account(session, account)
        if as_json:
            cli_support.print_json(user_service.list_users(session, account))
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
    settings = _settings()
    with _session(settings, "users passwd") as session:
        user = user_service.get_user_by_id(session, user_id)
        user_service.set_sip_password(session, user, sip_password, realm=settings.sip_realm)
    typer.echo(f"SIP password set for {user_id}")


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
    settings = _settings()
    with _session(settings, action="trunks add") as session:
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
    with _session(action="trunks list") as session:
        rows = trunk_service.list_trunks(session, account)
    if as_json:
        cli_support.print_json(rows)
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
    with _session(action="trunks remove") as session:
        trunk = trunk_service.find_trunk(session, trunk_id)
        trunk_service.delete_trunk(session, trunk.account_id, trunk.id)
    typer.echo(f"removed {trunk_id}")


@voicemails_app.command("list")
def voicemails_list(
    account: Account,
    new: Annotated[bool, typer.Option("--new", help="Only messages not heard yet.")] = False,
    as_json: Json = False,
) -> None:
    """List an account's voicemail messages, newest first."""
    with _session(action="voicemails list") as session:
        account_service.get_account(session, account)
        rows = voicemail_service.list_voicemails(session, account, heard=False if new else None)
    if as_json:
        cli_support.print_json(rows)
        return
    for v in rows:
        typer.echo(
            f"{v.id}  {v.created_at:%Y-%m-%d %H:%M:%S}  {v.from_number} -> {v.number}  "
            f"{v.duration}s  {'heard' if v.heard else 'new':5}  {v.user_id or '-'}"
        )


if __name__ == "__main__":
    app()
