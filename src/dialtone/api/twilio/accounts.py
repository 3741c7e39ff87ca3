"""``/2010-04-01/Accounts``: the caller's own account, as Twilio shows an account.

Dialtone has no subaccounts: the list holds the caller's account alone. The auth token
is never shown here (it is shown once, when issued or rotated).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dialtone.api.twilio.auth import TwilioCallerDep, permit
from dialtone.api.twilio.wire import PREFIX, Paging, ParamsDep, page_body, respond, rfc2822
from dialtone.store.models import Account

router = APIRouter(prefix=PREFIX, tags=["twilio"])

# The resources of an account this API serves (Twilio lists more; those are not here).
SUBRESOURCES = {
    "available_phone_numbers": "AvailablePhoneNumbers",
    "calls": "Calls",
    "incoming_phone_numbers": "IncomingPhoneNumbers",
    "messages": "Messages",
    "recordings": "Recordings",
    "usage": "Usage",
}


def account_uri(account_id: str) -> str:
    """The account's own path; every resource of it lies below ``…/{sid}/``."""
    return f"{PREFIX}/Accounts/{account_id}"


def status_of(account: Account) -> str:
    """Twilio's account status: active, suspended (B10 non-payment, F5 abuse) or closed."""
    if account.status == "closed":
        return "closed"
    if account.billing_suspended_at is not None or account.suspended_at is not None:
        return "suspended"
    return "active"


def account_json(account: Account) -> dict[str, Any]:
    base = account_uri(account.id)
    return {
        "auth_token": None,
        "date_created": rfc2822(account.created_at),
        "date_updated": rfc2822(account.created_at),
        "friendly_name": account.name,
        "owner_account_sid": account.id,
        "sid": account.id,
        "status": status_of(account),
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in SUBRESOURCES.items()},
        "type": "Full",
        "uri": f"{base}.json",
    }


@router.get("/Accounts/{AccountSid}.json", dependencies=[permit("account.read")])
def fetch_account(caller: TwilioCallerDep) -> JSONResponse:
    """Fetch the account (``client.api.accounts(sid).fetch()``)."""
    return respond(account_json(caller.account))


@router.get("/Accounts.json", dependencies=[permit("account.read")])
def list_accounts(request: Request, caller: TwilioCallerDep, found: ParamsDep) -> JSONResponse:
    """The accounts the credential reaches: its own."""
    paging = Paging.of(found, "Accounts")
    rows = [account_json(caller.account)] if paging.start == 0 else []
    return respond(page_body(request, found, paging=paging, key="accounts", rows=rows, more=False))
