"""Digest authentication of devices (RFC 3261 §22, RFC 7616, RFC 8760) at the edge.

REGISTER is challenged with 401/WWW-Authenticate, INVITE with 407/Proxy-Authenticate.
Nonces are signed, carry their issue time and expire after ``nonce_lifetime_seconds``
(then the answer says ``stale=true`` so the phone retries without asking its user).
Failed attempts are counted per source address; a source over the limit is refused with
403 for a while (toll-fraud brute force, TERMS D2). A success forgets only the failures
of the username that succeeded.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dialtone.sip.auth_limiter import FailureLimiter
from dialtone.sip.digest import DigestCredentials, DigestError, NonceSigner, challenge, verify
from dialtone.sip.message import Request

from .shared import FailureCounter
from .shared.in_process import LocalFailures

log = logging.getLogger("dialtone.auth")


@dataclass(frozen=True, slots=True)
class SipUser:
    """What the SIP runtime needs to know of a user (read once per request)."""

    id: str
    account_id: str
    sip_username: str
    name: str
    extension: str | None
    ha1_md5: str | None
    ha1_sha256: str | None
    channels: int
    can_take_calls: bool


@dataclass(frozen=True, slots=True)
class AuthOutcome:
    """Either the authenticated user, or the response to send (status and headers)."""

    user: SipUser | None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    reason: str = ""


UserLookup = Callable[[str], Awaitable[SipUser | None]]


class Authenticator:
    """Challenges and checks digest credentials; counts failures per source address."""

    def __init__(
        self,
        *,
        realm: str,
        nonce_lifetime: float,
        limiter: FailureLimiter | FailureCounter,
        lookup: UserLookup,
        clock: Callable[[], float] = time.time,
        secret: bytes | None = None,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
    ) -> None:
        self.algorithms = algorithms
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        # The pure limiter counts this process alone; a ``FailureCounter`` from the shared
        # state counts every worker's failures (issue 19).
        self.limiter: FailureCounter = (
            LocalFailures(limiter) if isinstance(limiter, FailureLimiter) else limiter
        )
        self.lookup = lookup
        self.clock = clock
        self.signer = NonceSigner(secret or secrets.token_bytes(32))
        self.stats = {"challenged": 0, "failed": 0, "blocked": 0, "ok": 0}

    def _challenge(self, *, proxy: bool, stale: bool = False) -> AuthOutcome:
        self.stats["challenged"] += 1
        nonce = self.signer.make(self.clock(), secrets.token_bytes(8))
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        # SHA-256 first, MD5 for the many phones that know nothing else (RFC 8760 §2.4).
        headers = tuple(
            (name, challenge(self.realm, nonce, algorithm=algorithm, stale=stale))
            for algorithm in self.algorithms
        )
        return AuthOutcome(None, 407 if proxy else 401, headers, "challenge")

    def _refuse(self, why: str) -> AuthOutcome:
        self.stats["blocked"] += 1
        warning = f'399 dialtone "auth.rate_limited (D2): {why}"'
        return AuthOutcome(None, 403, (("Warning", warning),), "auth.rate_limited")

    async def authenticate(self, request: Request, source_host: str) -> AuthOutcome:
        """Check ``request``'s credentials; the outcome says who it is or what to answer."""
        proxy = request.method != "REGISTER"
        now = self.clock()
        if await self.limiter.blocked(source_host, now):
            return self._refuse(f"too many failed attempts from {source_host}")
        header = "Proxy-Authorization" if proxy else "Authorization"
        credentials = self._ours(request.headers.get_all(header))
        if credentials is None:
            return self._challenge(proxy=proxy)
        state = self.signer.check(credentials.nonce, now, self.nonce_lifetime)
        if state == "invalid":
            # A nonce from before a restart (or forged): no password was tried, ask again.
            return self._challenge(proxy=proxy)
        user = await self.lookup(credentials.username)
        stored = None
        if user is not None:
            stored = user.ha1_sha256 if credentials.algorithm.startswith("SHA-256") else None
            if credentials.algorithm.upper().startswith("MD5"):
                stored = user.ha1_md5
        if user is None or stored is None or not verify(credentials, request.method, stored):
            self.stats["failed"] += 1
            log.info(
                "digest failure for %r from %s (%s)",
                credentials.username,
                source_host,
                "unknown user" if user is None else "wrong response",
            )
            if await self.limiter.record_failure(source_host, now, username=credentials.username):
                log.warning("source %s blocked after repeated digest failures", source_host)
                return self._refuse(f"too many failed attempts from {source_host}")
            return self._challenge(proxy=proxy)
        if state == "stale":
            return self._challenge(proxy=proxy, stale=True)
        # Only this username's failures are forgotten: the attacker's own phone registering
        # between guesses at another user's password does not reset their count (D2).
        await self.limiter.record_success(source_host, now, username=credentials.username)
        self.stats["ok"] += 1
        return AuthOutcome(user)

    def _ours(self, values: list[str]) -> DigestCredentials | None:
        for value in values:
            try:
                credentials = DigestCredentials.parse(value)
            except DigestError:
                continue
            if credentials.realm == self.realm:
                return credentials
        return None
