"""Registering with a carrier, sans-I/O (RFC 3261 §10.2, digest RFC 7616).

Most SIP trunk providers for small businesses deliver calls only to a PBX that
REGISTERs with them. :class:`RegistrationClient` is the UAC side of that: it builds each
REGISTER, takes each final response (or a failure: a timeout, a DNS error) with ``now``,
and says when the next REGISTER is due. It never sleeps, sends or reads the clock; the
runtime (``runtime/trunk_registration.py``) drives it with a client transaction.

- One Call-ID and From tag for every REGISTER of a client, CSeq counting up (§10.2.4).
- A 401/407 is answered once with the trunk's credentials; the next refresh answers the
  same challenge again (nonce count + 1) and a refused answer is met with one fresh
  challenge; a second refusal (not ``stale``) is a failure: the credentials are wrong.
- A 200 grants the expiry of our Contact (its ``expires`` parameter, else the Expires
  header, else what we asked); the refresh is due at the later of half of it and one
  ``margin`` before it ends.
- A 423 takes the registrar's Min-Expires and asks again at once.
- Any other failure (4xx-6xx, no answer, DNS) waits ``retry_base`` seconds, doubling with
  each failure in a row up to ``retry_max`` (a ``Retry-After`` asking longer is honoured).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .digest import DigestError, authorization, parse_auth_header
from .errors import SipParseError
from .headers import NameAddress, Via, parse_uint
from .message import Request, Response, make_request, reason_phrase
from .uri import SipUri

State = Literal["registering", "registered", "failed"]

MAX_EXPIRES = 86_400
# A registrar's error text is shown over the API: keep it short and printable.
_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class RegistrationConfig:
    """What one trunk registers: ``aor_user@domain`` with ``contact``, authenticating as
    ``auth_username``."""

    request_uri: SipUri
    domain: str
    aor_user: str
    auth_username: str
    contact: SipUri
    expires: int = 3600
    retry_base: float = 30.0
    retry_max: float = 1800.0
    margin: float = 60.0


def refresh_delay(granted: int, margin: float) -> float:
    """Seconds after a 200 granting ``granted`` seconds when the refresh is due: the later
    of half the expiry and ``margin`` before it ends (3600 → 3540, 120 → 60, 10 → 5)."""
    return max(granted / 2, granted - margin)


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: ``base`` doubled per
    failure after the first, never more than ``cap``."""
    if failures < 1:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - 1, 62))


class RegistrationClient:
    """One trunk's registration: what to send next and when (see the module)."""

    def __init__(self, config: RegistrationConfig, *, call_id: str, from_tag: str) -> None:
        self.config = config
        self.call_id = call_id
        self.from_tag = from_tag
        self.expires = config.expires
        self.state: State = "registering"
        self.expires_at: datetime | None = None
        self.last_error: str | None = None
        self.last_attempt_at: datetime | None = None
        # When the next REGISTER is due; None while one is waiting for its answer.
        self.next_at: datetime | None = None
        self.failures = 0
        self._cseq = 0
        self._challenge: tuple[str, str] | None = None  # (header to answer with, challenge)
        self._nc = 0
        self._answered = False  # the request in flight answered a challenge
        self._fresh = False  # ... a challenge received in answer to the previous request
        self._min_expires_tried = False

    def start(self, now: datetime) -> None:
        """Due at once (at start, or after the trunk's settings changed)."""
        self.next_at = now

    def due(self, now: datetime) -> bool:
        """Whether the next REGISTER should go now."""
        return self.next_at is not None and now >= self.next_at

    def request(
        self, now: datetime, *, via: Via, cnonce: str, secret: Callable[[], str]
    ) -> Request:
        """The next REGISTER. ``secret`` is called only to answer a challenge (the
        trunk's password is opened only then)."""
        self._cseq += 1
        self.last_attempt_at = now
        self.next_at = None
        if self.state != "registered" or self._expired(now):
            self.state = "registering"
        cfg = self.config
        aor = SipUri("sip", host=cfg.domain, user=cfg.aor_user)
        extra: list[tuple[str, str]] = [("Expires", str(self.expires))]
        self._answered = False
        if self._challenge is not None:
            header, challenge = self._challenge
            self._nc += 1
            try:
                value = authorization(
                    challenge,
                    method="REGISTER",
                    uri=str(cfg.request_uri),
                    username=cfg.auth_username,
                    password=secret(),
                    cnonce=cnonce,
                    nc=self._nc,
                )
            except DigestError:
                self._challenge = None
            else:
                extra.append((header, value))
                self._answered = True
        return make_request(
            "REGISTER",
            cfg.request_uri,
            via=via,
            from_=NameAddress(aor, params=(("tag", self.from_tag),)),
            to=NameAddress(aor),
            call_id=self.call_id,
            cseq=self._cseq,
            contact=f"<{cfg.contact}>",
            extra_headers=tuple(extra),
        )

    def on_response(self, response: Response, now: datetime) -> None:
        """The final response to the REGISTER in flight (provisional ones are ignored)."""
        status = response.status
        if status < 200:
            return
        if 200 <= status < 300:
            self._registered(response, now)
            return
        if status in (401, 407):
            self._challenged(response, now)
            return
        self._fresh = False
        if status == 423 and not self._min_expires_tried:
            minimum = _int_header(response, "Min-Expires")
            if minimum is not None and self.expires < minimum <= MAX_EXPIRES:
                self._min_expires_tried = True
                self.expires = minimum
                self.next_at = now
                return
        retry_after = _int_header(response, "Retry-After")
        self.fail(f"{status} {response.reason or reason_phrase(status)}", now, retry_after)

    def fail(self, error: str, now: datetime, retry_after: float | None = None) -> None:
        """A failed attempt (an error response, no answer, a name that does not
        resolve): state ``failed`` and the next attempt after the back-off."""
        self.failures += 1
        self.state = "failed"
        self.last_error = _printable(error)
        self._challenge = None
        self._fresh = False
        delay = backoff_delay(self.failures, self.config.retry_base, self.config.retry_max)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.config.retry_max))
        self.next_at = now + timedelta(seconds=delay)

    # -- internals ------------------------------------------------------------------------

    def _expired(self, now: datetime) -> bool:
        return self.expires_at is None or now >= self.expires_at

    def _registered(self, response: Response, now: datetime) -> None:
        granted = self._granted(response)
        if granted <= 0:
            self.fail("200 OK without our binding (expires 0)", now)
            return
        self.state = "registered"
        self.failures = 0
        self.last_error = None
        self._fresh = False
        self._min_expires_tried = False
        self.expires_at = now + timedelta(seconds=granted)
        self.next_at = now + timedelta(seconds=refresh_delay(granted, self.config.margin))

    def _challenged(self, response: Response, now: datetime) -> None:
        status = response.status
        header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
        challenge = response.headers.get(header)
        stale = False
        if challenge is not None:
            try:
                _, params = parse_auth_header(challenge)
            except SipParseError:
                challenge = None
            else:
                stale = params.get("stale", "").lower() == "true"
        refused = self._answered and self._fresh and not stale
        if challenge is None or refused:
            why = "credentials refused" if challenge is not None else "no digest challenge"
            self.fail(f"{status} {response.reason or reason_phrase(status)} ({why})", now)
            return
        answer_with = "Authorization" if status == 401 else "Proxy-Authorization"
        self._challenge = (answer_with, challenge)
        self._nc = 0
        # A challenge to a request that answered none (or answered an older nonce) is
        # answered once; a second one in a row means the credentials are wrong.
        self._fresh = True
        self.next_at = now

    def _granted(self, response: Response) -> int:
        try:
            contacts = response.contacts or ()
        except SipParseError:
            contacts = ()
        ours = self.config.contact
        header = _int_header(response, "Expires")
        for contact in contacts:
            uri = contact.uri
            if isinstance(uri, SipUri) and uri.user == ours.user:
                value = contact.param("expires")
                if value:
                    try:
                        return parse_uint(value, what="expires", maximum=2**32 - 1)
                    except SipParseError:
                        break
                break
        return header if header is not None else self.expires


def _int_header(response: Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    # Retry-After may carry a comment: "120 (maintenance)".
    text = value.strip().split("(")[0].split(";")[0].strip()
    try:
        return parse_uint(text, what=name, maximum=2**32 - 1)
    except SipParseError:
        return None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)[:_ERROR_CHARS]
