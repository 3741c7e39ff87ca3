"""Twilio's wire conventions (issue 16): form-encoded parameters with Twilio's names,
RFC 2822 dates, prices as strings, ``uri`` and paging (``Page``, ``PageSize``,
``PageToken``; ``next_page_uri``…), and the error that names a parameter.

Parameters Twilio's API does not know are ignored, as Twilio ignores them.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from dialtone.core.errors import DialtoneError

# The parameter error lives with the services: the number settings raise it too.
from dialtone.services.twilio.error_codes import ParameterError, for_parameter, invalid

API_VERSION = "2010-04-01"
PREFIX = f"/{API_VERSION}"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PAGING = frozenset({"Page", "PageSize", "PageToken"})
_TOKEN = re.compile(r"^PA(\d{1,9})$")


def as_parameter(exc: DialtoneError, resource: str, parameter: str) -> DialtoneError:
    """``exc`` raised while reading ``parameter``: a plain invalid number (not a refusal
    by a rule) gets the parameter's Twilio number."""
    number = for_parameter(resource, parameter)
    if exc.rule is not None or number is None or exc.code != "number.invalid":
        return exc
    return ParameterError(exc.code, f"{parameter}: {exc.message}", twilio_code=number)


@dataclass(frozen=True, slots=True)
class Params:
    """A request's parameters: the query string, then a form-encoded body (Twilio's
    SDKs send ``application/x-www-form-urlencoded``; a repeated name keeps each value)."""

    pairs: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (None when absent)."""
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        """Every value of ``name``, in order (``StatusCallbackEvent`` repeats)."""
        return [value for key, value in self.pairs if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.pairs)

    def text(
        self, resource: str, name: str, *, required: bool = False, most: int = 500
    ) -> str | None:
        """A text parameter of at most ``most`` characters, stripped; ``required``
        refuses an absent or empty one."""
        value = self.get(name)
        value = value.strip() if value is not None else None
        if not value:
            if required:
                raise invalid(resource, name, "required.", twilio_code=_REQUIRED.get(name))
            return value
        if len(value) > most:
            raise invalid(resource, name, f"at most {most} characters.")
        return value

    def integer(self, resource: str, name: str, default: int, low: int, high: int) -> int:
        """An integer parameter within [low, high]."""
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(resource, name, f"an integer, not {raw!r}.") from None
        if not low <= value <= high:
            raise invalid(resource, name, f"between {low} and {high}.")
        return value

    def boolean(self, resource: str, name: str, default: bool = False) -> bool:
        """``true``/``false`` (any case)."""
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise invalid(resource, name, f"true or false, not {raw!r}.")

    def filters(self) -> list[tuple[str, str]]:
        """The parameters other than paging, as the page links repeat them."""
        return [(k, v) for k, v in self.pairs if k not in _PAGING]


# The Twilio numbers of a missing parameter.
_REQUIRED: Mapping[str, int] = {"To": 21604, "From": 21603, "Body": 21602}


async def params(request: Request) -> Params:
    """The request's parameters (a route dependency): query string first, then a
    form-encoded body. A JSON body is not Twilio's wire: refused."""
    pairs = list(request.query_params.multi_items())
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if body:
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind not in ("application/x-www-form-urlencoded", ""):
                raise DialtoneError(
                    "http.unsupported_media_type",
                    "This API takes form-encoded parameters "
                    "(Content-Type: application/x-www-form-urlencoded), as Twilio's.",
                    status=415,
                )
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise DialtoneError("request.invalid", "The body is not UTF-8.") from None
            pairs.extend(parse_qsl(text, keep_blank_values=True))
    return Params(tuple(pairs))


def rfc2822(moment: datetime | None) -> str | None:
    """``Mon, 07 Dec 2026 09:00:00 +0000``, Twilio's date format (None stays None)."""
    if moment is None:
        return None
    return email.utils.format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def price(amount: Decimal | None) -> str | None:
    """A price as Twilio writes it: a string, negative for what the account pays."""
    if amount is None:
        return None
    return str(-amount.quantize(Decimal("0.00001")) if amount else Decimal("0.00000"))


def respond(body: Mapping[str, Any], status: int = 200) -> JSONResponse:
    """A JSON answer with Twilio's field names as given."""
    return JSONResponse(dict(body), status_code=status)


# --- dates in filters -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A range of moments a filter allows: ``since`` included, ``until`` excluded."""

    since: datetime | None = None
    until: datetime | None = None


def _moment(resource: str, name: str, raw: str) -> tuple[datetime, bool]:
    """A filter's value: a day (``YYYY-MM-DD``, its midnight UTC, True) or a moment
    (ISO 8601, False)."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), True
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(resource, name, f"YYYY-MM-DD or an ISO 8601 time, not {raw!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, False


def window(found: Params, resource: str, name: str) -> Window:
    """Twilio's date filter ``name`` (``DateSent``, ``StartTime``): ``name=day`` that
    day, ``name<=``/``name<`` on or before, ``name>=``/``name>`` on or after (a day
    counts whole); an exact moment for ``name`` alone."""
    since: datetime | None = None
    until: datetime | None = None
    exact = found.get(name)
    if exact:
        moment, is_day = _moment(resource, name, exact)
        since = moment
        until = moment + (timedelta(days=1) if is_day else timedelta(microseconds=1))
    before = found.get(f"{name}<") or found.get(f"{name}<=")
    if before:
        moment, is_day = _moment(resource, f"{name}<", before)
        end = moment + (timedelta(days=1) if is_day else timedelta(microseconds=1))
        until = end if until is None else min(until, end)
    after = found.get(f"{name}>") or found.get(f"{name}>=")
    if after:
        moment, _ = _moment(resource, f"{name}>", after)
        since = moment if since is None else max(since, moment)
    return Window(since, until)


# --- paging ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paging:
    """Which page: ``Page`` (from 0) of ``PageSize`` (default 50, at most 1000); a
    ``PageToken`` this API gave (``PA<start>``) says where the page starts."""

    page: int
    size: int
    start: int

    @classmethod
    def of(cls, found: Params, resource: str) -> Paging:
        size = found.integer(resource, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = found.integer(resource, "Page", 0, 0, 10_000_000)
        start = page * size
        token = found.get("PageToken")
        if token:
            matched = _TOKEN.match(token)
            if matched is None:
                raise DialtoneError("request.invalid_cursor", "PageToken: not one this API gave.")
            start = int(matched.group(1))
        return cls(page, size, start)


def page_body(
    request: Request,
    found: Params,
    *,
    paging: Paging,
    key: str,
    rows: Sequence[Mapping[str, Any]],
    more: bool,
) -> dict[str, Any]:
    """A list answer: ``key`` holding ``rows`` and Twilio's paging fields (nothing else:
    the SDK reads the one other key as the records)."""
    path = request.url.path
    kept = found.filters()

    def uri(page: int, start: int) -> str:
        query = [*kept, ("PageSize", str(paging.size)), ("Page", str(page))]
        if page > 0:
            query.append(("PageToken", f"PA{start}"))
        return f"{path}?{urlencode(query)}"

    previous_start = max(paging.start - paging.size, 0)
    return {
        "first_page_uri": uri(0, 0),
        "end": paging.start + max(len(rows) - 1, 0),
        "previous_page_uri": (
            uri(paging.page - 1, previous_start) if paging.page > 0 and paging.start > 0 else None
        ),
        key: list(rows),
        "uri": uri(paging.page, paging.start),
        "page_size": paging.size,
        "start": paging.start,
        "next_page_uri": uri(paging.page + 1, paging.start + paging.size) if more else None,
        "page": paging.page,
    }


ParamsDep = Annotated[Params, Depends(params)]
