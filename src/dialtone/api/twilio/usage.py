"""``…/Usage/Records``: the account's usage by category and period, from rating
(issue 16; :mod:`dialtone.services.twilio.usage`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dialtone.api.deps import SessionDep
from dialtone.api.twilio.accounts import account_uri
from dialtone.api.twilio.auth import TwilioCallerDep, permit
from dialtone.api.twilio.wire import (
    API_VERSION,
    PREFIX,
    Paging,
    Params,
    ParamsDep,
    page_body,
    respond,
)
from dialtone.core.errors import NotFound
from dialtone.services.twilio import usage
from dialtone.services.twilio.error_codes import invalid
from dialtone.services.twilio.usage import UsageRecord

router = APIRouter(prefix=f"{PREFIX}/Accounts/{{AccountSid}}", tags=["twilio"])

R = "Usage"
_RELATIVE = re.compile(r"^([+-]\d{1,5})days$")
# The subresources of Records: a granularity, or a fixed range of today's.
SUBRESOURCES = {
    "Daily": "daily",
    "Monthly": "monthly",
    "Yearly": "yearly",
    "AllTime": "all",
    "Today": "all",
    "Yesterday": "all",
    "ThisMonth": "all",
    "LastMonth": "all",
}


def _day(found: Params, name: str, default: date, today: date) -> date:
    """``YYYY-MM-DD``, or Twilio's relative ``-30days`` / ``+0days``."""
    raw = found.get(name)
    if not raw:
        return default
    relative = _RELATIVE.match(raw)
    if relative is not None:
        return today + timedelta(days=int(relative.group(1)))
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(R, name, f"YYYY-MM-DD or -Ndays, not {raw!r}.") from None


def _range(sub: str | None, found: Params, created: date, today: date) -> tuple[date, date]:
    if sub == "Today":
        return today, today
    if sub == "Yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if sub == "ThisMonth":
        return today.replace(day=1), today
    if sub == "LastMonth":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    return _day(found, "StartDate", created, today), _day(found, "EndDate", today, today)


def record_json(account_id: str, record: UsageRecord, now: datetime) -> dict[str, Any]:
    base = f"{account_uri(account_id)}/Usage/Records"
    query = f"Category={record.category}&StartDate={record.start}&EndDate={record.end}"
    return {
        "account_sid": account_id,
        "api_version": API_VERSION,
        "as_of": now.isoformat(timespec="seconds"),
        "category": record.category,
        "count": str(record.count),
        "count_unit": record.count_unit,
        "description": record.description,
        "end_date": record.end.isoformat(),
        "price": str(record.price.quantize(record.price.__class__("0.00001"))),
        "price_unit": record.price_unit.lower() if record.price_unit else None,
        "start_date": record.start.isoformat(),
        "subresource_uris": {
            name.lower(): f"{base}/{name}.json?{query}"
            for name in ("AllTime", "Daily", "Monthly", "Yearly")
        },
        "uri": f"{base}.json?{query}",
        "usage": str(record.usage),
        "usage_unit": record.usage_unit,
    }


def _records(
    request: Request, caller: TwilioCallerDep, found: Params, session: SessionDep, sub: str | None
) -> JSONResponse:
    paging = Paging.of(found, R)
    now = datetime.now(UTC)
    today = now.date()
    start, end = _range(sub, found, caller.account.created_at.astimezone(UTC).date(), today)
    if end < start:
        raise invalid(R, "EndDate", "on or after StartDate.")
    category = found.get("Category") or None
    if category is not None and category not in usage.CATEGORIES:
        raise invalid(R, "Category", f"one of {', '.join(usage.CATEGORIES)}.")
    granularity = SUBRESOURCES[sub] if sub is not None else "all"
    if granularity == "daily" and (end - start).days > 3660:
        raise invalid(R, "StartDate", "daily records cover at most ten years.")
    found_records = usage.records(
        session, caller.account.id, start=start, end=end, granularity=granularity, category=category
    )
    page = found_records[paging.start : paging.start + paging.size]
    items = [record_json(caller.account.id, r, now) for r in page]
    more = len(found_records) > paging.start + paging.size
    return respond(
        page_body(request, found, paging=paging, key="usage_records", rows=items, more=more)
    )


@router.get("/Usage/Records.json", dependencies=[permit("billing.read")])
def usage_records(
    request: Request, caller: TwilioCallerDep, found: ParamsDep, session: SessionDep
) -> JSONResponse:
    """Usage over ``StartDate``..``EndDate`` (default: since the account began), one
    record per ``Category`` (calls, sms, phonenumbers, totalprice)."""
    return _records(request, caller, found, session, None)


@router.get("/Usage/Records/{Subresource}.json", dependencies=[permit("billing.read")])
def usage_records_by(
    Subresource: str,
    request: Request,
    caller: TwilioCallerDep,
    found: ParamsDep,
    session: SessionDep,
) -> JSONResponse:
    """``Daily``, ``Monthly``, ``Yearly``, ``AllTime``, ``Today``, ``Yesterday``,
    ``ThisMonth``, ``LastMonth``."""
    if Subresource not in SUBRESOURCES:
        raise NotFound("http.not_found", f"No usage records {Subresource}.")
    return _records(request, caller, found, session, Subresource)
