"""Twilio-style webhook requests: their parameters, form encoding and ``X-Twilio-Signature``
(issue 16), written from Twilio's published description of the signature.

The signature is base64(HMAC-SHA1(auth token, S)) where S is the full URL requested
(with its query string) followed, for a POST, by each form parameter's name and value
with no separator, the parameters sorted by name (then by value, for a name given more
than once). For a GET the parameters are in the URL's query string, so S is the URL
alone. A URL's user and password (HTTP Basic credentials) never reach the receiving
server in its request line, so they are left out of S as they are of the request.

Parameters are kept as a list of (name, value) pairs: a name may repeat. The same pair
twice is sent once: validators that drop repeated pairs (Twilio's Python SDK does) and
those that keep them then sign the same string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
USER_AGENT = "DialtoneProxy/1.1"
API_VERSION = "2010-04-01"
FORM_TYPE = "application/x-www-form-urlencoded"

Params = list[tuple[str, str]]


def as_params(params: Mapping[str, object] | Iterable[tuple[str, object]]) -> Params:
    """``params`` as (name, value) strings, pairs repeated exactly dropped, None values
    left out (Twilio leaves out a parameter it has no value for)."""
    pairs = params.items() if isinstance(params, Mapping) else params
    seen: dict[tuple[str, str], None] = {}
    for name, value in pairs:
        if value is None:
            continue
        seen.setdefault((str(name), _text(value)), None)
    return list(seen)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode(params: Params) -> str:
    """The form body (or query string) of ``params``, UTF-8 percent-encoded."""
    return urlencode(params, doseq=False)


def decode(body: str) -> Params:
    """What :func:`encode` wrote, back as pairs (blank values kept)."""
    return parse_qsl(body, keep_blank_values=True)


def without_credentials(url: str) -> str:
    """``url`` without its user and password, as its server sees it requested."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_query(url: str, params: Params) -> str:
    """``url`` with ``params`` appended to its query string (a GET request's URL)."""
    if not params:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&{encode(params)}" if parts.query else encode(params)
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def signature(token: str, url: str, params: Params) -> str:
    """``X-Twilio-Signature`` of a request to ``url`` carrying the form ``params`` (empty
    for a GET, whose URL already holds them)."""
    data = without_credentials(url) + "".join(name + value for name, value in sorted(params))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def request_of(method: str, url: str, params: Params) -> tuple[str, str | None]:
    """The URL to request and the body to send for ``method``: a POST sends the form,
    a GET puts it in the query string and sends nothing."""
    if method.upper() == "GET":
        return with_query(url, params), None
    return url, encode(params)


def sign_request(token: str, method: str, url: str, params: Params) -> tuple[str, str | None, str]:
    """The URL, body and signature of a Twilio-style request."""
    target, body = request_of(method, url, params)
    signed = signature(token, target, [] if body is None else params)
    return target, body, signed
