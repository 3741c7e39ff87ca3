"""Accounts (tenants) and their API keys."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy.destinations import DestinationSettings
from dialtone.policy.lifecycle import PLANS
from dialtone.rating.increments import Increment
from dialtone.services.accounts import api_keys, webhook_targets
from dialtone.services.ids import new_id
from dialtone.store.models import Account

# TERMS V2: one call per user by default; extra channels are a paid option, within reason.
MAX_CHANNELS = 100
# TERMS V8: "off"; "notice" (a notice prompt to both parties, then both legs recorded);
# "one_party" (both legs recorded without the notice where the law of every party's place
# lets one party consent, after the notice elsewhere).
RECORDING_POLICIES = ("off", "notice", "one_party")


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A created account and the API key shown to the operator once."""

    account: Account
    api_key: str


def create_account(
    session: Session, name: str, *, now: datetime, billing_increment: str = "60/60"
) -> NewAccount:
    """Create an account with one API key, its administrators (TERMS D1; B2 increment
    as its default plan)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise DialtoneError("account.name_invalid", "An account name has 1 to 200 characters.")
    try:
        increment = str(Increment.parse(billing_increment))
    except ValueError as exc:
        raise DialtoneError("account.increment_invalid", str(exc), rule="B2") from None
    account = Account(
        id=new_id("AC"), name=name, status="active", billing_increment=increment, created_at=now
    )
    session.add(account)
    session.flush()
    key = api_keys.issue(session, account.id, now=now).key
    return NewAccount(account=account, api_key=key)


def get_account(session: Session, account_id: str) -> Account:
    """An account by id."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account.not_found", f"No account {account_id}.")
    return account


def declare_no_sanctions(session: Session, account_id: str, *, now: datetime) -> Account:
    """TERMS D3: the customer declares it is on no sanctions or export-control list; the
    first declaration's date is kept."""
    account = get_account(session, account_id)
    if account.sanctions_declared_at is None:
        account.sanctions_declared_at = now
    session.flush()
    return account


def list_accounts(session: Session) -> list[Account]:
    """Every account, oldest first."""
    return list(session.scalars(select(Account).order_by(Account.created_at, Account.id)))


def set_sms_webhook(
    session: Session,
    account_id: str,
    url: str | None,
    *,
    target_policy: webhook_targets.TargetPolicy | None = None,
    resolve: webhook_targets.Resolver | None = None,
) -> Account:
    """Where the account's inbound SMS are POSTed (None: nowhere). With
    ``target_policy``, the URL first passes the SSRF guard (its name resolved with
    ``resolve``): the API and the console set it that way; each delivery checks again."""
    account = get_account(session, account_id)
    if url is not None and target_policy is not None:
        webhook_targets.check_url(url, target_policy, resolve)
    if url is not None and (not url.startswith(("http://", "https://")) or len(url) > 500):
        raise DialtoneError(
            "account.invalid", "sms_webhook_url: an http(s) URL of 500 characters at most."
        )
    account.sms_webhook_url = url
    session.flush()
    return account


MAX_POSTAL_ADDRESS = 500


def set_postal_address(session: Session, account_id: str, address: str | None) -> Account:
    """The sender's postal address every marketing email of the account carries (TERMS
    M9); None or blank removes it (and with it the account's marketing email). Lines
    are kept, stripped; ``\r\n`` becomes ``\n``."""
    account = get_account(session, account_id)
    lines = [line.strip() for line in (address or "").replace("\r\n", "\n").split("\n")]
    value = "\n".join(line for line in lines if line) or None
    if value is not None and (
        len(value) > MAX_POSTAL_ADDRESS or not all(line.isprintable() for line in value.split("\n"))
    ):
        raise DialtoneError(
            "account.invalid",
            f"postal_address: printable lines, {MAX_POSTAL_ADDRESS} characters at most.",
        )
    account.postal_address = value
    session.flush()
    return account


def set_ai_quality_monitoring(session: Session, account_id: str, allowed: bool) -> Account:
    """TERMS A8: whether the operator may monitor the quality of the account's AI calls
    (read its agents' call reports and transcripts). The customer's own choice, from
    the console or the API; when False, the customer still reads them, the operator
    does not (the console refuses with ``ai_monitoring.opted_out``)."""
    account = get_account(session, account_id)
    account.ai_quality_monitoring = bool(allowed)
    session.flush()
    return account


def set_call_options(
    session: Session,
    account_id: str,
    *,
    channels_per_user: int | None = None,
    recording_policy: str | None = None,
) -> Account:
    """Set the account's call channels per user (TERMS V2, a paid option) and its
    recording policy (V8: recording only after a notice to both parties). None leaves a
    value as it is."""
    account = get_account(session, account_id)
    if channels_per_user is not None:
        if isinstance(channels_per_user, bool) or not 1 <= channels_per_user <= MAX_CHANNELS:
            raise DialtoneError(
                "account.invalid",
                f"channels_per_user is between 1 and {MAX_CHANNELS}.",
                rule="V2",
            )
        account.channels_per_user = channels_per_user
    if recording_policy is not None:
        if recording_policy not in RECORDING_POLICIES:
            raise DialtoneError(
                "account.invalid",
                f"recording_policy is one of {', '.join(RECORDING_POLICIES)}.",
                rule="V8",
            )
        account.recording_policy = recording_policy
    session.flush()
    return account


def destination_settings(account: Account, operator: DestinationSettings) -> DestinationSettings:
    """The operator's destination lists with the account's own permissions (TERMS V5)."""
    return replace(
        operator,
        premium_rate_allowed=account.premium_rate_allowed,
        high_cost_allowed=account.high_cost_allowed,
    )


def dialling_country(account: Account, default_country: str) -> str:
    """The country the account dials from (TERMS V6, V7): its own, else the operator's."""
    return account.country or default_country


def set_destination_options(
    session: Session,
    account_id: str,
    *,
    country: str | None = None,
    premium_rate_allowed: bool | None = None,
    high_cost_allowed: bool | None = None,
    telemarketing: bool | None = None,
) -> Account:
    """Set the country the account dials from (V6, V7), whether it may call premium-rate
    or high-cost destinations (V5: blocked by default) and whether it is a telemarketing
    account (V12: national do-not-call registers and calling hours apply). None leaves a
    value as it is; an empty country returns the account to the operator's default."""
    account = get_account(session, account_id)
    if country is not None:
        code = country.strip().upper()
        if code and code not in phonenumbers.SUPPORTED_REGIONS:
            raise DialtoneError(
                "account.invalid", f"{country!r} is not an ISO 3166 country code.", rule="V6"
            )
        account.country = code or None
    if premium_rate_allowed is not None:
        account.premium_rate_allowed = premium_rate_allowed
    if high_cost_allowed is not None:
        account.high_cost_allowed = high_cost_allowed
    if telemarketing is not None:
        account.telemarketing = telemarketing
    session.flush()
    return account


def set_plan(
    session: Session, account_id: str, *, plan: str | None = None, app_store: bool | None = None
) -> Account:
    """Set the account's plan and whether an app store bills it (TERMS N6: they set how
    long a number deactivated for non-payment lasts before revocation)."""
    account = get_account(session, account_id)
    if plan is not None:
        if plan not in PLANS:
            raise DialtoneError("account.invalid", f"plan is one of {', '.join(PLANS)}.", rule="N6")
        account.plan = plan
    if app_store is not None:
        account.app_store = app_store
    session.flush()
    return account
