"""Requests for TwiML (issue 16): a call's or a message's URL asked for what to do next,
as Twilio asks it, and the answer handed back as it came, for the TwiML interpreter to
judge.

Each request is signed like the webhooks (``X-Twilio-Signature`` with the account's auth
token), carries Twilio's ``I-Twilio-Idempotency-Token`` and a ``User-Agent`` in its
style, and goes through the SSRF guard (:mod:`dialtone.runtime.guarded_http`). It fails
as Twilio's does, with Twilio's error code:

- 11205 connection failure: refused target, no connection, or no complete answer within
  the timeout (15 s by default, connection included, like Twilio's);
- 11210 the host does not resolve; 11220 TLS failed; 11206 not HTTP;
- 11200 an answer other than 2xx; 11216 a 3xx other than 301, 302, 303 and 307, or one
  without ``Location``; 11215 more than ``MAX_REDIRECTS`` in a row;
- 11750 a body larger than the limit (64 kB by default); 11100 a URL that is not http(s).

Twilio follows 301, 302, 303 and 307: so does this, each hop checked by the guard and
signed for its own URL; 307 keeps the method and its form, the others become a GET with
the parameters in the query string (what HTTP clients do with a POST redirected so).

On a failure with a fallback URL, the fallback is requested by its own method with the
same parameters plus ``ErrorCode`` and ``ErrorUrl``, as Twilio does; what it answers
(or how it failed) is the result, marked ``fallback``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urljoin

import httpx

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import twilio_signing as signing
from dialtone.services.accounts.webhook_targets import TargetPolicy, parse_target
from dialtone.settings import WebhooksSection

from .guarded_http import CONNECTION_FAILED, Resolve, TargetError, guarded_client, resolve_on_loop

log = logging.getLogger("dialtone.twiml_fetch")

INVALID_URL = 11100
RETRIEVAL_FAILED = 11200  # an answer, not 2xx
PROTOCOL_VIOLATION = 11206
TOO_MANY_REDIRECTS = 11215
INVALID_REDIRECT = 11216
TLS_FAILED = 11220
TOO_LARGE = 11750

FOLLOWED = (301, 302, 303, 307)
MAX_REDIRECTS = 10

TokenOf = Callable[[str], Awaitable[str | None] | str | None]
Params = Mapping[str, object] | Iterable[tuple[str, object]]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a TwiML request came to: the URL last requested, its answer's status, type
    and body (empty on a failure), and Twilio's code and our words for a failure
    (``error_code`` None: a 2xx answer within the limits)."""

    url: str
    status: int | None
    content_type: str | None
    body: bytes
    error_code: int | None = None
    error: str | None = None
    fallback: bool = False  # the fallback URL's result

    @property
    def ok(self) -> bool:
        """A 2xx answer, whole."""
        return self.error_code is None


class TwimlFetcher:
    """Requests TwiML for accounts; one connection pool for all."""

    def __init__(
        self,
        token_of: TokenOf,
        policy: TargetPolicy,
        *,
        timeout: float = 15.0,
        max_bytes: int = 64 * 1024,
        resolve: Resolve = resolve_on_loop,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.token_of = token_of
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = guarded_client(policy, timeout=timeout, resolve=resolve, verify=verify)

    @classmethod
    def from_settings(cls, settings: WebhooksSection, token_of: TokenOf) -> TwimlFetcher:
        """The fetcher the settings describe: their SSRF policy, timeout and size limit."""
        return cls(
            token_of,
            settings.webhook_target_policy,
            timeout=settings.twiml_fetch_timeout_seconds,
            max_bytes=settings.twiml_max_bytes,
        )

    async def close(self) -> None:
        """Close the pool's connections."""
        await self._client.aclose()

    async def fetch(
        self,
        account_id: str,
        url: str,
        method: str,
        params: Params,
        *,
        fallback_url: str | None = None,
        fallback_method: str = "POST",
        timeout: float | None = None,
    ) -> Fetched:
        """Request ``url`` by ``method`` with ``params`` for ``account_id``, and its
        fallback should that fail."""
        pairs = signing.as_params(params)
        token = await self._token(account_id)
        first = await self._request(token, url, method, pairs, timeout or self.timeout)
        if first.ok or not fallback_url:
            return first
        log.info("TwiML from %s failed (%s %s): fallback", url, first.error_code, first.error)
        told = [*pairs, ("ErrorCode", str(first.error_code)), ("ErrorUrl", url)]
        second = await self._request(
            token, fallback_url, fallback_method, signing.as_params(told), timeout or self.timeout
        )
        return replace(second, fallback=True)

    async def _token(self, account_id: str) -> str | None:
        token = self.token_of(account_id)
        if inspect.isawaitable(token):
            return await token
        return token

    async def _request(
        self, token: str | None, url: str, method: str, params: signing.Params, timeout: float
    ) -> Fetched:
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(token, url, method.upper(), params)
        except TimeoutError:
            return _failed(url, CONNECTION_FAILED, f"no answer within {timeout:g} s")

    async def _follow(
        self, token: str | None, url: str, method: str, params: signing.Params
    ) -> Fetched:
        idempotency = _token_id()
        for _ in range(MAX_REDIRECTS + 1):
            try:
                parse_target(url)
            except DialtoneError as exc:
                return _failed(url, INVALID_URL, exc.message)
            if token is None:
                return _failed(url, RETRIEVAL_FAILED, "the account has no auth token to sign with")
            target, body = signing.request_of(method, url, params)
            wire_url = str(httpx.URL(target))
            headers = {
                "User-Agent": signing.USER_AGENT,
                "Accept": "*/*",
                signing.IDEMPOTENCY_HEADER: idempotency,
                signing.SIGNATURE_HEADER: signing.signature(
                    token, wire_url, params if body is not None else []
                ),
            }
            if body is not None:
                headers["Content-Type"] = signing.FORM_TYPE
            try:
                async with self._client.stream(
                    method, wire_url, content=body, headers=headers
                ) as answer:
                    status = answer.status_code
                    if 300 <= status < 400:
                        location = answer.headers.get("Location")
                        if status not in FOLLOWED or not location:
                            return _failed(url, INVALID_REDIRECT, f"HTTP {status}", status)
                        url = urljoin(wire_url, location)
                        if status != 307:
                            method = "GET"
                        continue
                    if not 200 <= status < 300:
                        return _failed(url, RETRIEVAL_FAILED, f"HTTP {status}", status)
                    content = bytearray()
                    async for chunk in answer.aiter_bytes():
                        content += chunk
                        if len(content) > self.max_bytes:
                            return _failed(
                                url, TOO_LARGE, f"more than {self.max_bytes} bytes", status
                            )
                    return Fetched(url, status, answer.headers.get("Content-Type"), bytes(content))
            except TargetError as exc:
                return _failed(url, exc.code, exc.reason)
            except httpx.TimeoutException:
                return _failed(url, CONNECTION_FAILED, "timed out")
            except httpx.ConnectError as exc:
                tls = isinstance(exc.__cause__, ssl.SSLError) or "SSL" in str(exc)
                return _failed(url, TLS_FAILED if tls else CONNECTION_FAILED, str(exc))
            except httpx.HTTPError as exc:
                return _failed(url, PROTOCOL_VIOLATION, f"{type(exc).__name__}: {exc}")
        return _failed(url, TOO_MANY_REDIRECTS, f"more than {MAX_REDIRECTS} redirects")


def _failed(url: str, code: int, why: str, status: int | None = None) -> Fetched:
    return Fetched(url, status, None, b"", code, why[:300])


def _token_id() -> str:
    """A fresh ``I-Twilio-Idempotency-Token`` (UUID-shaped, 128 random bits)."""
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
