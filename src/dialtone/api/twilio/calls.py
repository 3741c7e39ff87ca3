"""``…/Calls``: calls through the Twilio-compatible API (issue 16).

Listed and fetched from the CDRs and the calls in progress (a live call has no CDR
yet); created and updated through the call engine (:class:`TwilioCallPlacer`). A key
of a user sees the calls that user took or placed (TERMS D1); creating a call that is
no user's needs the account-wide ``calls.place``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.api.deps import Caller, SessionDep, SettingsDep
from dialtone.api.twilio.accounts import account_uri
from dialtone.api.twilio.auth import TwilioCallerDep, permit
from dialtone.api.twilio.placer import TwilioCallPlacer
from dialtone.api.twilio.wire import (
    API_VERSION,
    PREFIX,
    Paging,
    Params,
    ParamsDep,
    Window,
    as_parameter,
    page_body,
    price,
    respond,
    rfc2822,
    window,
)
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services.numbering import numbers
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import LiveCall
from dialtone.services.twilio import listings
from dialtone.services.twilio.error_codes import invalid
from dialtone.store.models import CallRecord, RatedLine

router = APIRouter(prefix=f"{PREFIX}/Accounts/{{AccountSid}}", tags=["twilio"])

R = "Calls"
# Twilio's status of a CDR: an interrupted call (the platform stopped mid-call) was
# answered and is billed as completed.
_STATUS = {"interrupted": "completed"}
# The CDR statuses a Twilio status filter reaches (queued, ringing, in-progress: live).
_FILTER = {"completed": ("completed", "interrupted")}
LIVE = {"queued": (), "ringing": ("ringing",), "in-progress": ("in-progress",)}
EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
MAX_TWIML = 64 * 1024
MAX_TIMEOUT = 600


def _direction(direction: str, caller_user_id: str | None) -> str:
    if direction == "inbound":
        return "inbound"
    # Placed from a user's device: dialled; placed by no one's device: by the API.
    return "outbound-dial" if caller_user_id is not None else "outbound-api"


def _common(call_id: str, account_id: str) -> dict[str, Any]:
    uri = f"{account_uri(account_id)}/Calls/{call_id}"
    return {
        "account_sid": account_id,
        "annotation": None,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "queue_time": "0",
        "sid": call_id,
        "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
        "uri": f"{uri}.json",
    }


def record_json(row: CallRecord, cost: RatedLine | None) -> dict[str, Any]:
    """A finished call (its CDR) as Twilio shows a call."""
    return {
        **_common(row.id, row.account_id),
        "date_created": rfc2822(row.started_at),
        "date_updated": rfc2822(row.ended_at),
        "direction": _direction(row.direction, row.caller_user_id),
        "duration": str(int(row.duration)),
        "start_time": rfc2822(row.answered_at or row.started_at),
        "end_time": rfc2822(row.ended_at),
        "from": row.from_number,
        "from_formatted": row.from_number,
        "to": row.to_number,
        "to_formatted": row.to_number,
        "price": price(Decimal(cost.price) + Decimal(cost.penalty)) if cost else None,
        "price_unit": cost.currency if cost else None,
        "status": _STATUS.get(row.status, row.status),
        "trunk_sid": row.trunk_id,
    }


def live_json(call: LiveCall) -> dict[str, Any]:
    """A call in progress (no CDR yet)."""
    return {
        **_common(call.id, call.account_id),
        "date_created": rfc2822(call.started_at),
        "date_updated": rfc2822(call.answered_at or call.started_at),
        "direction": _direction(call.direction, call.caller_user_id),
        "duration": None,
        "start_time": rfc2822(call.answered_at or call.started_at),
        "end_time": None,
        "from": call.from_number,
        "from_formatted": call.from_number,
        "to": call.to_number,
        "to_formatted": call.to_number,
        "price": None,
        "price_unit": None,
        "status": call.status,
        "trunk_sid": call.trunk_id,
    }


def _costs(session: Session, rows: Sequence[CallRecord]) -> dict[str, RatedLine]:
    keys = [f"cdr:{r.id}" for r in rows]
    if not keys:
        return {}
    found = session.scalars(select(RatedLine).where(RatedLine.usage_key.in_(keys)))
    return {line.usage_key.removeprefix("cdr:"): line for line in found}


def _placer(request: Request) -> TwilioCallPlacer:
    placer: TwilioCallPlacer | None = getattr(request.app.state, "twilio_calls", None)
    if placer is None:
        raise DialtoneError(
            "call.engine_unavailable",
            "The call engine is not running here: calls cannot be placed or changed.",
            status=503,
        )
    return placer


def _live_calls(request: Request, account_id: str) -> list[LiveCall]:
    """The account's calls in progress, read on the engine's loop (this handler runs on
    a worker thread); none without an engine here."""
    placer: TwilioCallPlacer | None = getattr(request.app.state, "twilio_calls", None)
    if placer is None:
        return []
    found = anyio.from_thread.run_sync(placer.live_calls, account_id)
    return sorted(found, key=lambda c: (c.started_at, c.id), reverse=True)


def _visible(caller: Caller, call: CallRecord | LiveCall) -> bool:
    user = caller.narrow("calls.read")
    return user is None or user in calls.parties(call)


def _keep(call: LiveCall, to: str | None, sender: str | None, when: Window, states: Any) -> bool:
    return (
        (to is None or call.to_number == to)
        and (sender is None or call.from_number == sender)
        and (when.since is None or call.started_at >= when.since)
        and (when.until is None or call.started_at < when.until)
        and (states is None or call.status in states)
    )


def _number(found: Params, name: str, country: str) -> str | None:
    raw = found.text(R, name)
    if raw is None:
        return None
    try:
        return numbers.to_e164(raw, country)
    except DialtoneError as exc:
        raise as_parameter(exc, R, name) from None


@router.get("/Calls.json", dependencies=[permit("calls.read")])
def list_calls(
    request: Request,
    caller: TwilioCallerDep,
    found: ParamsDep,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The account's calls, newest first, those in progress first: ``To``, ``From``,
    ``Status``, ``StartTime`` (``<=``, ``>=``) filters; Twilio's paging."""
    paging = Paging.of(found, R)
    to = _number(found, "To", settings.default_country)
    sender = _number(found, "From", settings.default_country)
    when = window(found, R, "StartTime")
    wanted = found.get("Status")
    live_states: Any = None
    record_states: tuple[str, ...] | None = None
    if wanted:
        live_states = LIVE.get(wanted, ())
        record_states = () if wanted in LIVE else _FILTER.get(wanted, (wanted,))
    live = [
        c
        for c in _live_calls(request, caller.account.id)
        if _keep(c, to, sender, when, live_states) and _visible(caller, c)
    ]
    items = [live_json(c) for c in live[paging.start : paging.start + paging.size]]
    more = len(live) > paging.start + paging.size
    room = paging.size - len(items)
    if room > 0 and record_states != ():
        rows, more = listings.calls(
            session,
            caller.account.id,
            listings.Slice(max(paging.start - len(live), 0), room),
            to=to,
            caller=sender,
            statuses=record_states,
            started_since=when.since,
            started_until=when.until,
            user_id=caller.narrow("calls.read"),
        )
        costs = _costs(session, rows)
        items.extend(record_json(r, costs.get(r.id)) for r in rows)
    return respond(page_body(request, found, paging=paging, key="calls", rows=items, more=more))


def _fetch(request: Request, caller: Caller, session: Session, call_sid: str) -> dict[str, Any]:
    account_id = caller.account.id
    try:
        row = calls.get_call(session, account_id, call_sid)
    except NotFound:
        live = next((c for c in _live_calls(request, account_id) if c.id == call_sid), None)
        if live is not None:
            caller.check_parties("calls.read", calls.parties(live))
            return live_json(live)
        # Ended (its CDR committed) since this session began: a fresh one looks again.
        with request.app.state.sessions() as fresh:
            row = calls.get_call(fresh, account_id, call_sid)
            caller.check_parties("calls.read", calls.parties(row))
            return record_json(row, _costs(fresh, [row]).get(row.id))
    caller.check_parties("calls.read", calls.parties(row))
    return record_json(row, _costs(session, [row]).get(row.id))


@router.get("/Calls/{CallSid}.json", dependencies=[permit("calls.read")])
def fetch_call(
    CallSid: str,
    request: Request,
    caller: TwilioCallerDep,
    session: SessionDep,
) -> JSONResponse:
    """One call: its CDR once it ended, its live state while in progress."""
    return respond(_fetch(request, caller, session, CallSid))


def _method(found: Params, name: str) -> str:
    method = (found.get(name) or "POST").upper()
    if method not in ("GET", "POST"):
        raise invalid(R, name, "GET or POST.")
    return method


def _twiml_source(found: Params) -> tuple[str | None, str | None]:
    url = found.text(R, "Url")
    twiml = found.get("Twiml")
    if url is not None and not url.startswith(("http://", "https://")):
        raise invalid(R, "Url", "an http or https URL.", twilio_code=21205)
    if twiml is not None and len(twiml) > MAX_TWIML:
        raise invalid(R, "Twiml", f"at most {MAX_TWIML} characters.")
    return url, twiml or None


@router.post("/Calls.json", dependencies=[permit("calls.place")])
async def create_call(
    request: Request, caller: TwilioCallerDep, found: ParamsDep, settings: SettingsDep
) -> JSONResponse:
    """Place a call: ``To``, ``From`` (a number of the account, V10), ``Url`` or
    ``Twiml``, ``Method``, ``StatusCallback``, ``StatusCallbackEvent``,
    ``StatusCallbackMethod``, ``Timeout``, ``Record``. 201, ``queued``."""
    caller.check_parties("calls.place", ())  # no user's call: the account's to place
    if found.get("ApplicationSid"):
        raise DialtoneError("twilio.unsupported", "ApplicationSid is not supported: send Url.")
    to_raw = found.text(R, "To", required=True, most=200)
    sender = _number(found, "From", settings.default_country)
    if sender is None:
        raise invalid(R, "From", "required.", twilio_code=21213)
    assert to_raw is not None
    to = (
        to_raw
        if to_raw.startswith(("sip:", "client:"))
        else _number(found, "To", settings.default_country)
    )
    assert to is not None
    url, twiml = _twiml_source(found)
    if url is None and twiml is None:
        raise invalid(R, "Url", "Url or Twiml is required.", twilio_code=21205)
    events = [e for raw in found.all("StatusCallbackEvent") for e in raw.split()]
    unknown = sorted(set(events) - EVENTS)
    if unknown:
        raise invalid(R, "StatusCallbackEvent", f"one of {sorted(EVENTS)}, not {unknown}.")
    callback = found.text(R, "StatusCallback")
    if callback is not None and not callback.startswith(("http://", "https://")):
        raise invalid(R, "StatusCallback", "an http or https URL.")
    placer = _placer(request)
    now = datetime.now(UTC)
    call_sid = await placer.place(
        caller.account.id,
        to,
        sender,
        twiml=twiml,
        url=url,
        method=_method(found, "Method"),
        status_callback=callback,
        status_callback_method=_method(found, "StatusCallbackMethod"),
        status_callback_events=events or ["completed"],
        timeout=found.integer(R, "Timeout", 60, 1, MAX_TIMEOUT),
        record=found.boolean(R, "Record"),
    )
    placed = LiveCall(
        id=call_sid,
        account_id=caller.account.id,
        direction="outbound",
        from_number=sender,
        to_number=to,
        status="queued",
        started_at=now,
        answered_at=None,
        sip_call_id="",
    )
    return respond(live_json(placed), status.HTTP_201_CREATED)


@router.post("/Calls/{CallSid}.json", dependencies=[permit("calls.place")])
async def update_call(
    CallSid: str,
    request: Request,
    caller: TwilioCallerDep,
    found: ParamsDep,
) -> JSONResponse:
    """End a live call (``Status=completed|canceled``) or redirect it to new TwiML
    (``Url`` or ``Twiml``); answers the call as it is then."""
    caller.check_parties("calls.place", ())
    wanted = found.get("Status")
    if wanted is not None and wanted not in ("completed", "canceled"):
        raise invalid(R, "Status", "completed or canceled.")
    url, twiml = _twiml_source(found)
    if wanted is None and url is None and twiml is None:
        raise invalid(R, "Status", "Status, Url or Twiml is required.")
    placer = _placer(request)
    await placer.update(
        caller.account.id,
        CallSid,
        status=wanted,
        url=url,
        twiml=twiml,
        method=_method(found, "Method"),
    )
    return respond(await anyio.to_thread.run_sync(_after, request, caller, CallSid))


def _after(request: Request, caller: Caller, call_sid: str) -> dict[str, Any]:
    with request.app.state.sessions() as session:
        return _fetch(request, caller, session, call_sid)
