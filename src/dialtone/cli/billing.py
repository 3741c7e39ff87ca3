"""``dialtone billing``: rating, invoices, payments (TERMS B)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import typer

from dialtone.cli.support import (
    Account,
    Commands,
    Json,
    Now,
    moment,
    print_json,
    session,
    settings_or_exit,
)
from dialtone.cli.support import day as day_option
from dialtone.core.errors import DialtoneError
from dialtone.services.billing import contract_changes, invoicing, rating
from dialtone.services.billing import subscriptions as subscription_service
from dialtone.services.billing import tariffs as tariff_service
from dialtone.settings import Settings

if TYPE_CHECKING:
    from dialtone.outside.payments import CardProvider, ChargeResult
    from dialtone.services.billing import collections

# Payments, SEPA and the health probe (httpx, sepaxml, lxml) are imported by the commands
# that use them: every `dialtone` run pays for what this module imports, and the other
# commands do not need them.

# The plans of rating.plans.DEFAULT_CATALOGUE (a test keeps them equal), listed in --help.
CataloguePlan = Literal["essential", "unlimited", "prepaid", "smart", "trial"]
PLAN_HELP = f"A plan of the catalogue: {', '.join(get_args(CataloguePlan))}."

billing_app = typer.Typer(
    cls=Commands, help="Rating, invoices, payments (TERMS B).", no_args_is_help=True
)


@billing_app.command("tariff-import")
def tariff_import(
    path: Path,
    name: Annotated[str, typer.Option(help="calls or sms")] = "calls",
    currency: Annotated[str, typer.Option(help="EUR, USD or GBP")] = "EUR",
    effective_from: Annotated[str | None, typer.Option(help="ISO; default now")] = None,
) -> None:
    """Import a rate deck CSV as a new version (B5); every bad line is reported with its
    line and column, and nothing is imported."""
    from dialtone.rating.tariffs import DeckError

    at = moment(effective_from, "--effective-from")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        typer.echo(f"error: cannot read the rate deck {path}: no such file", err=True)
        raise typer.Exit(1) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        typer.echo(f"error: cannot read the rate deck {path}: {why}", err=True)
        raise typer.Exit(1) from None
    with session(action="billing tariff-import") as s:
        try:
            row = tariff_service.import_csv(
                s, name, currency.upper(), text, effective_from=at, now=moment(None)
            )
        except DialtoneError as exc:
            # Every bad line, then the one-line error (and its audit entry) as for any
            # refusal.
            if isinstance(exc.__cause__, DeckError):
                for problem in exc.__cause__.problems:
                    typer.echo(f"{path}: {problem}", err=True)
            raise
        typer.echo(f"{row.id}  {row.name}  {row.currency}  {row.prefixes} prefixes  from {at}")


@billing_app.command("subscribe")
def subscribe(
    account_id: Account,
    plan: Annotated[CataloguePlan, typer.Option(help=PLAN_HELP, metavar="<plan>")] = "essential",
    currency: Annotated[str, typer.Option()] = "EUR",
    country: Annotated[str, typer.Option(help="The customer's country (tax)")] = "FR",
    accesses: Annotated[int, typer.Option()] = 1,
    payment_method: Annotated[str, typer.Option(help="invoice, card or sepa_debit")] = "invoice",
    customer_ref: Annotated[str | None, typer.Option(help="The card provider's customer")] = None,
    now: Now = None,
) -> None:
    """Put an account on a plan from --now (B6, B7)."""
    at = moment(now)
    with session(action="billing subscribe") as s:
        sub = subscription_service.subscribe(
            s, account_id, plan_code=plan, currency=currency.upper(), country=country, now=at,
            accesses=accesses, payment_method=payment_method,
        )  # fmt: skip
        sub.customer_ref = customer_ref
        typer.echo(f"{sub.id}  {sub.plan_code}  {sub.currency}  {sub.country}  from {at}")


@billing_app.command("add")
def add(
    account_id: Account,
    kind: Annotated[str, typer.Argument(help="access, number or option")],
    code: Annotated[str, typer.Option(help="The option's code")] = "",
    quantity: Annotated[int, typer.Option()] = 1,
    now: Now = None,
) -> None:
    """Add accesses, numbers or an option mid-term (B6 pro rata, B17)."""
    with session(action="billing add") as s:
        change = subscription_service.add(
            s, account_id, kind, now=moment(now), code=code, quantity=quantity
        )
        typer.echo(f"{change.id}  {change.kind}  {change.quantity}")


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        typer.echo(f"error: {text!r} is not an amount", err=True)
        raise typer.Exit(2) from None


@billing_app.command("credits-buy")
def credits_buy(
    account_id: Account,
    amount: str,
    channel: Annotated[str, typer.Option(help="self_service, admin_assigned, voucher…")] = (
        "self_service"
    ),
    now: Now = None,
) -> None:
    """Record prepaid credits bought and paid (B4): they roll over until used; a
    self-service purchase can be withdrawn within 24 hours (B13)."""
    with session(action="billing credits-buy") as s:
        row = contract_changes.buy_credits(
            s,
            account_id,
            _amount(amount),
            now=moment(now),
            channel=channel,  # type: ignore[arg-type]
        )
        left = rating.credit_balance(s, account_id, row.currency)
        typer.echo(f"{row.id}  credits {left} {row.currency}")


@billing_app.command("dispute-decide")
def dispute_decide(
    dispute_id: str,
    agreed: Annotated[str | None, typer.Option(help="The reduction agreed; none rejects")] = None,
    now: Now = None,
) -> None:
    """Decide a dispute (B9): an agreed reduction is a credit note on the next invoice."""
    with session(action="billing dispute-decide") as s:
        row = contract_changes.decide_dispute(
            s, dispute_id, agreed_amount=_amount(agreed) if agreed else None, now=moment(now)
        )
        typer.echo(f"{row.id}  {row.status}  {row.agreed_amount or ''}")


@billing_app.command("price-change")
def price_change(
    plan: str,
    new_price: str,
    kind: Annotated[str, typer.Option(help="increase, revision or decrease")] = "increase",
    currency: Annotated[str, typer.Option()] = "EUR",
    effective: Annotated[str | None, typer.Option(help="ISO; when it takes effect")] = None,
    carrier_cost: Annotated[bool, typer.Option(help="Passes on carriers' costs")] = False,
    now: Now = None,
) -> None:
    """Announce a plan's new price per access (B11: increases 30 days ahead, revisions
    at most 6 % a year); customers may leave fee-free until it takes effect."""
    with session(action="billing price-change") as s:
        row = contract_changes.announce_price_change(
            s, plan, currency.upper(), _amount(new_price), kind=kind,  # type: ignore[arg-type]
            effective_at=moment(effective, "--effective"), now=moment(now),
            carrier_cost=carrier_cost,
        )  # fmt: skip
        typer.echo(f"{row.id}  {row.plan_code}  {row.old_price} -> {row.new_price}  "
                   f"from {row.effective_at}")  # fmt: skip


@billing_app.command("terminate")
def terminate(
    account_id: Account,
    early: Annotated[bool, typer.Option(help="End now, with the B12 fee")] = False,
    reason: Annotated[str, typer.Option()] = "customer request",
    now: Now = None,
) -> None:
    """Give notice (B12: effective at the anniversary it reaches) or, with --early, end a
    committed subscription now for the last invoice times the months left."""
    at = moment(now)
    with session(action="billing terminate") as s:
        if early:
            fee = contract_changes.terminate_early(s, account_id, now=at, reason=reason)
            typer.echo(f"{account_id}  ends {at}  fee {fee}")
        else:
            ends = contract_changes.request_termination(s, account_id, now=at)
            typer.echo(f"{account_id}  ends {ends}")


def card_provider(settings: Settings) -> CardProvider | None:
    """The configured card provider (none: card invoices wait for a recorded payment)."""
    from dialtone.outside.payments import StripeCardProvider

    if settings.card_provider == "stripe":
        if not settings.stripe_api_key:
            typer.echo("error: card_provider=stripe needs stripe_api_key", err=True)
            raise typer.Exit(2)
        return StripeCardProvider(settings.stripe_api_key)
    if settings.card_provider == "fake":
        return _ConstantCard(settings.fake_card_outcome)
    return None


class _ConstantCard:
    """The fake card provider of the settings: every charge gets the same answer."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome

    def charge(
        self, *, customer_ref: str, amount: Decimal, currency: str, idempotency_key: str,
        description: str,
    ) -> ChargeResult:  # fmt: skip
        from dialtone.outside.payments import ChargeResult

        if self.outcome == "paid":
            return ChargeResult("paid", f"fake:{idempotency_key}")
        return ChargeResult("rejected", f"fake:{idempotency_key}", "card_declined")


def dunning_settings(settings: Settings) -> collections.DunningSettings:
    from dialtone.services.billing import collections

    return collections.DunningSettings(
        retry_after=timedelta(hours=settings.billing_retry_hours),
        rejections_to_suspend=settings.billing_rejections_to_suspend,
        late_fees=settings.billing_late_fees,
    )


@billing_app.command("run")
def run(now: Now = None) -> None:
    """The billing job: rate what is not rated, issue the invoices whose period has
    begun, collect card invoices due (B10 retries, suspension). Idempotent."""
    from dialtone.services.billing import collections

    at = moment(now)
    settings = settings_or_exit()
    card = card_provider(settings)
    with session(settings, action="billing run") as s:
        rated = rating.rate_all(s, now=at)
        issued = invoicing.issue_due(s, now=at, issuer=settings.invoice_issuer)
        report = (
            collections.collect_due(s, now=at, card=card, settings=dunning_settings(settings))
            if card is not None
            else collections.CollectionReport()
        )
        for invoice in issued:
            typer.echo(f"issued {invoice.number}  {invoice.account_id}  {invoice.total}")
        for invoice_id in report.paid:
            typer.echo(f"paid {invoice_id}")
        for invoice_id in report.rejected:
            typer.echo(f"rejected {invoice_id}")
        for account_id in report.suspended:
            typer.echo(f"suspended {account_id}  [B10]")
        typer.echo(f"rated {rated}")


@billing_app.command("payment")
def payment(
    invoice_id: str,
    outcome: Annotated[str, typer.Argument(help="paid or rejected")],
    method: Annotated[str, typer.Option(help="sepa_debit, card, transfer…")] = "sepa_debit",
    reason: Annotated[str, typer.Option()] = "",
    not_customer_caused: Annotated[bool, typer.Option()] = False,
    attempted_at: Annotated[
        str | None,
        typer.Option(
            help="When the attempt was made (ISO); default: the debit's collection date "
            "when it went out in a SEPA file, else the result's time"
        ),
    ] = None,
    now: Now = None,
) -> None:
    """Record a payment's result (a SEPA return, a transfer), arrived at --now: B8 fees
    and B10 follow; the next retry counts from when the attempt was made."""
    from dialtone.services.billing import collections

    settings = settings_or_exit()
    with session(settings, action="billing payment") as s:
        attempt = collections.record_result(
            s, invoice_id, outcome, at=moment(now), method=method, reason=reason,
            customer_caused=not not_customer_caused, settings=dunning_settings(settings),
            attempted_at=moment(attempted_at, "--attempted-at") if attempted_at else None,
        )  # fmt: skip
        typer.echo(f"{attempt.id}  {attempt.outcome}  {attempt.amount} {attempt.currency}")


@billing_app.command("mandate")
def mandate(
    account_id: Account,
    iban: Annotated[str, typer.Option()],
    bic: Annotated[str, typer.Option()],
    mandate_id: Annotated[str, typer.Option(help="The signed mandate's reference")],
    signed_on: Annotated[str, typer.Option(help="ISO date of signature")],
    name: Annotated[str | None, typer.Option(help="The debtor's name")] = None,
) -> None:
    """Record an account's SEPA mandate; it then pays by SEPA direct debit (B7)."""
    from dialtone.services.billing.sepa import normalise_bic, normalise_iban

    signed = datetime.combine(day_option(signed_on, "--signed-on"), time(), UTC)
    with session(action="billing mandate") as s:
        sub = subscription_service.get_subscription(s, account_id)
        sub.iban = normalise_iban(iban)
        sub.bic = normalise_bic(bic)
        sub.mandate_id = mandate_id
        sub.mandate_signed_on = signed
        sub.payment_method = "sepa_debit"
        if name:
            sub.billing_name = name
        typer.echo(f"{account_id}  sepa_debit  {sub.mandate_id}")


@billing_app.command("sepa-export")
def sepa_export(
    out: Path,
    day: Annotated[str | None, typer.Option(help="Collection date (ISO); default today")] = None,
    now: Now = None,
) -> None:
    """Write the pain.008 file of the SEPA debits to collect on --day (B7: each
    invoice, the pre-notification, was issued at least 3 days before)."""
    from dialtone.services.billing import sepa_exports
    from dialtone.services.billing.sepa import Creditor, SepaError

    settings = settings_or_exit()
    creditor = Creditor(
        settings.sepa_creditor_name, settings.sepa_creditor_iban, settings.sepa_creditor_bic,
        settings.sepa_creditor_id,
    )  # fmt: skip
    at = moment(now)
    collect_on = day_option(day, "--day") if day else at.date()
    with session(settings, action="billing sepa-export") as s:
        try:
            batch = sepa_exports.due_debits(
                s, creditor, collect_on, now=at, settings=dunning_settings(settings)
            )
        except SepaError as exc:
            typer.echo(f"error: sepa: {exc}", err=True)
            raise typer.Exit(1) from None
        if batch.xml is not None:
            # Written before the debits are recorded as presented: no file, no attempts.
            out.write_bytes(batch.xml)
    for invoice_id, why in batch.skipped.items():
        typer.echo(f"skipped {invoice_id}  {why}")
    if batch.xml is None:
        typer.echo("nothing to collect")
        return
    typer.echo(f"{out}  {len(batch.invoices)} debit(s)")


@billing_app.command("invoices")
def invoices(account_id: Account, as_json: Json = False) -> None:
    """The account's invoices."""
    with session() as s:
        rows = invoicing.list_invoices(s, account_id)
        if as_json:
            print_json(rows)
            return
        for row in rows:
            typer.echo(
                f"{row.id}  {row.number}  {row.status}  {row.period_start:%Y-%m-%d}  "
                f"{row.total} {row.currency}"
            )


@billing_app.command("invoice-pdf")
def invoice_pdf(
    account_id: Account,
    invoice: Annotated[str, typer.Argument(help="The invoice's number (INV-000001) or id")],
    out: Path,
) -> None:
    """Write an invoice as PDF."""
    from dialtone.services.billing import invoice_pdf as pdf_renderer

    settings = settings_or_exit()
    with session(settings) as s:
        row = invoicing.find_invoice(s, account_id, invoice)
        document = invoicing.document(s, row, settings.invoice_issuer)
        out.write_bytes(pdf_renderer.render(document))
    typer.echo(str(out))


@billing_app.command("profile")
def profile(
    account_id: Account,
    legal_name: Annotated[
        str | None, typer.Option(help="The customer's legal name, e.g. 'Acme SAS'")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Postal address; lines separated by newlines or ' / '"),
    ] = None,
    vat: Annotated[str | None, typer.Option(help="VAT number, e.g. FR40123456824")] = None,
) -> None:
    """Show or set who the account's invoices are made out to (legal name, address, VAT
    number); invoices issued from then on carry it. With no option, show it."""
    from dialtone.services.billing import billing_profiles

    with session(action="billing profile") as s:
        current = billing_profiles.get_profile(s, account_id)
        if legal_name is not None or address is not None or vat is not None:
            current = billing_profiles.set_profile(
                s, account_id,
                legal_name=legal_name if legal_name is not None else (
                    current.legal_name if current else ""
                ),
                address=address.replace(" / ", "\n") if address is not None else (
                    current.address if current else ""
                ),
                vat_number=vat if vat is not None else (current.vat_number if current else ""),
                now=moment(None),
            )  # fmt: skip
        if current is None:
            typer.echo(f"{account_id}  no billing profile")
            return
        typer.echo(f"legal_name: {current.legal_name}")
        typer.echo("address: " + " / ".join(current.address.splitlines()))
        typer.echo(f"vat_number: {current.vat_number}")
