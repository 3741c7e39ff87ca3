"""``dialtone sms``: send and list messages, SMPP carriers and logins, opt-ins and sender
names (issue 15, TERMS M1-M7, M11)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import Commands, Json
from dialtone.services.messaging import carriers as carrier_service
from dialtone.services.messaging import consents as consent_service
from dialtone.services.messaging import logins as login_service
from dialtone.services.messaging import messages as message_service
from dialtone.services.messaging import senders as sender_service
from dialtone.services.numbering import numbers

sms_app = typer.Typer(
    cls=Commands, help="SMS: messages, carriers, logins, consents.", no_args_is_help=True
)
carriers_app = typer.Typer(
    cls=Commands, help="SMPP carriers dialtone sends through.", no_args_is_help=True
)
logins_app = typer.Typer(
    cls=Commands,
    help="Accounts' SMPP logins (their software binds to dialtone).",
    no_args_is_help=True,
)
consents_app = typer.Typer(cls=Commands, help="Opt-ins and opt-outs (M3).", no_args_is_help=True)
senders_app = typer.Typer(cls=Commands, help="Alphanumeric sender IDs (M6).", no_args_is_help=True)
sms_app.add_typer(carriers_app, name="carriers")
sms_app.add_typer(logins_app, name="logins")
sms_app.add_typer(consents_app, name="consents")
sms_app.add_typer(senders_app, name="senders")

Account = Annotated[str, typer.Option("--account", help="The account (AC…).")]


@sms_app.command("send")
def sms_send(
    *,
    account: Account,
    sender: Annotated[str, typer.Option("--from", help="A number of the account or a sender ID.")],
    to: Annotated[str, typer.Option("--to", help="The recipient.")],
    body: Annotated[str, typer.Option("--body", help="The text.")],
    marketing: Annotated[
        bool, typer.Option("--marketing", help="A marketing message (M3).")
    ] = False,
) -> None:
    """Queue a message, checked like the API's (the running server sends it)."""
    settings = support.settings_or_exit()
    with support.session(settings, action="sms send") as session:
        row, _ = message_service.send(
            session,
            account,
            message_service.Outgoing(sender, to, body, marketing=marketing, origin="cli"),
            rules=settings.messaging_rules,
            now=datetime.now(UTC),
        )
    typer.echo(f"message_id: {row.id}  status: {row.status}  parts: {row.segments}")


@sms_app.command("list")
def sms_list(
    *,
    account: Account,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """The account's messages, newest first."""
    with support.session(action="sms list") as session:
        rows = message_service.list_messages(session, account, status=status, limit=limit)
    if as_json:
        support.print_json(rows)
        return
    for m in rows:
        error = f"  {m.error_code}" if m.error_code else ""
        typer.echo(
            f"{m.id}  {m.created_at:%Y-%m-%d %H:%M:%S}  {m.direction:8}  {m.sender} -> "
            f"{m.recipient}  {m.status}{error}  {m.segments} part(s)"
        )


@carriers_app.command("add")
def carriers_add(
    *,
    name: Annotated[str, typer.Option(help="A label, e.g. the carrier's name.")],
    host: Annotated[str, typer.Option(help="The SMSC's address.")],
    port: Annotated[int, typer.Option()] = 2775,
    system_id: Annotated[str, typer.Option(help="The login the carrier gave.")],
    password: Annotated[str, typer.Option(help="Its password (kept sealed).")],
    system_type: Annotated[str, typer.Option()] = "",
    bind_type: Annotated[str, typer.Option(help="transceiver or transmitter.")] = "transceiver",
    window: Annotated[int, typer.Option(help="Requests outstanding at once.")] = 10,
    throughput: Annotated[int, typer.Option(help="Messages per second, at most.")] = 100,
    prefix: Annotated[
        list[str] | None, typer.Option(help="Recipient prefixes it takes (repeat); default all.")
    ] = None,
    priority: Annotated[int, typer.Option(help="Lower is tried first.")] = 100,
) -> None:
    """Add an SMPP carrier; its password is sealed with the platform's key."""
    settings = support.settings_or_exit()
    with support.session(settings, action="sms carriers add") as session:
        row = carrier_service.create_carrier(
            session,
            carrier_service.CarrierIn(
                name=name,
                host=host,
                port=port,
                system_id=system_id,
                password=password,
                system_type=system_type,
                bind_type=bind_type,
                window=window,
                throughput=throughput,
                prefixes=tuple(prefix or ()),
                priority=priority,
            ),
            key=settings.sealing_key(),
            now=datetime.now(UTC),
        )
    typer.echo(f"carrier_id: {row.id}")


@carriers_app.command("list")
def carriers_list(as_json: Json = False) -> None:
    """The carriers, in the order they are tried, with their bind as last seen."""
    with support.session(action="sms carriers list") as session:
        rows = carrier_service.list_carriers(session)
    if as_json:
        support.print_json(rows)
        return
    for c in rows:
        state = c.bind_state or "-"
        error = f" ({c.bind_error})" if c.bind_error else ""
        typer.echo(
            f"{c.id}  {c.priority:5}  {c.host}:{c.port}  {c.system_id}  {c.bind_type}  "
            f"{'enabled' if c.enabled else 'disabled'}  {state}{error}  "
            f"prefixes: {c.prefixes or 'all'}  {c.name}"
        )


@carriers_app.command("remove")
def carriers_remove(carrier_id: Annotated[str, typer.Argument(help="SC…")]) -> None:
    """Remove a carrier."""
    with support.session(action="sms carriers remove") as session:
        carrier_service.delete_carrier(session, carrier_id)
    typer.echo(f"removed {carrier_id}")


@logins_app.command("create")
def logins_create(
    *, account: Account, system_id: Annotated[str, typer.Option(help="1 to 15 characters.")]
) -> None:
    """A new SMPP login for the account; its password is shown once."""
    with support.session(action="sms logins create") as session:
        row, password = login_service.create_login(
            session, account, system_id, now=datetime.now(UTC)
        )
    typer.echo(f"login_id: {row.id}\nsystem_id: {row.system_id}\npassword: {password}")


@logins_app.command("list")
def logins_list(*, account: Account, as_json: Json = False) -> None:
    """The account's SMPP logins (never their passwords)."""
    with support.session(action="sms logins list") as session:
        rows = login_service.list_logins(session, account)
    if as_json:
        support.print_json(rows)
        return
    for r in rows:
        revoked = f"  revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else ""
        typer.echo(f"{r.id}  {r.system_id}  created {r.created_at:%Y-%m-%d}{revoked}")


@logins_app.command("revoke")
def logins_revoke(*, account: Account, login_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke a login: binds with it are refused from now on."""
    with support.session(action="sms logins revoke") as session:
        login_service.revoke_login(session, account, login_id, now=datetime.now(UTC))
    typer.echo(f"revoked {login_id}")


@consents_app.command("add")
def consents_add(
    *,
    account: Account,
    recipient: Annotated[str, typer.Option(help="Who opted in.")],
    source: Annotated[str, typer.Option(help="Where: a form's address, a shop, a keyword.")],
    wording: Annotated[str, typer.Option(help="The words they agreed to.")],
    given_at: Annotated[str | None, typer.Option(help="When (ISO 8601); default now.")] = None,
    marketing: Annotated[bool, typer.Option("--marketing", help="Covers marketing.")] = False,
) -> None:
    """Record an opt-in (M3)."""
    settings = support.settings_or_exit()
    now = datetime.now(UTC)
    with support.session(settings, action="sms consents add") as session:
        region = settings.default_country
        row = consent_service.record_consent(
            session,
            account,
            consent_service.ConsentIn(
                recipient=numbers.to_e164(recipient, region),
                source=source,
                wording=wording,
                given_at=support.moment(given_at, "--given-at") if given_at else now,
                marketing=marketing,
            ),
            now=now,
        )
    typer.echo(f"consent_id: {row.id}")


@consents_app.command("proof")
def consents_proof(*, account: Account, recipient: Annotated[str, typer.Option()]) -> None:
    """M3's proof for one recipient: opt-ins with source, time and wording, opt-outs."""
    settings = support.settings_or_exit()
    with support.session(settings, action="sms consents proof") as session:
        e164 = numbers.to_e164(recipient, settings.default_country)
        typer.echo(
            json.dumps(consent_service.proof(session, account, e164), indent=2, ensure_ascii=False)
        )


@consents_app.command("request-proof")
def consents_request_proof(
    *,
    account: Account,
    recipient: Annotated[str, typer.Option(help="Whose consent is to be proved.")],
    requested_by: Annotated[str, typer.Option(help="Who asks: a carrier, a regulator.")],
) -> None:
    """Ask the account for the proof of a recipient's consent (M3): unanswered after
    `sms_proof_hours` (24), `lifecycle run` suspends the account's messaging."""
    settings = support.settings_or_exit()
    with support.session(settings, action="sms consents request-proof") as session:
        row = consent_service.request_proof(
            session,
            account,
            numbers.to_e164(recipient, settings.default_country),
            requested_by=requested_by,
            now=datetime.now(UTC),
            delay=timedelta(hours=settings.sms_proof_hours),
        )
    typer.echo(f"request_id: {row.id}\ndue_at: {row.due_at.isoformat()}")


@sms_app.command("campaign")
def sms_campaign(
    number: Annotated[str, typer.Argument(help="A US long code (+1…).")],
    campaign_id: Annotated[
        str | None, typer.Option(help="The 10DLC campaign id; omit to remove it.")
    ] = None,
) -> None:
    """Set the 10DLC campaign a US number's application-to-person SMS go under (M7:
    without one, its messages to US numbers are refused)."""
    with support.session(action="sms campaign") as session:
        row = numbers.set_sms_campaign(session, numbers.to_e164(number), campaign_id)
    typer.echo(f"{row.number}  campaign: {row.sms_campaign_id or '-'}")


@senders_app.command("add")
def senders_add(
    *, account: Account, name: Annotated[str, typer.Argument(help="Up to 11 characters.")]
) -> None:
    """Register an alphanumeric sender ID to the account (M6: only after checking the
    account may use that name)."""
    with support.session(action="sms senders add") as session:
        sender_service.register(session, account, name, now=datetime.now(UTC))
    typer.echo(f"registered {name}")


@senders_app.command("list")
def senders_list(*, account: Account, as_json: Json = False) -> None:
    """The account's sender IDs."""
    with support.session(action="sms senders list") as session:
        found = sender_service.names(session, account)
    if as_json:
        typer.echo(json.dumps(found))
        return
    for name in found:
        typer.echo(name)
