"""The registrar's bindings (RFC 3261 §10.3): which contacts a user can be reached at.

Pure state: the REGISTER request, the source it came from and ``now`` (seconds since the
epoch, so bindings survive a restart through the store) come in; the status, the headers
of the answer and the user's bindings after the request go out. Authentication happens
before this (the registrar only sees authorised requests).
"""

from __future__ import annotations

from dataclasses import dataclass

from dialtone.sip.edge import first_hop, path_of
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import NameAddress, parse_uint
from dialtone.sip.message import Request
from dialtone.sip.uri import SipUri, Uri, parse_uri

DEFAULT_EXPIRES = 3600


@dataclass(frozen=True, slots=True)
class Binding:
    """One contact of a user, with where its REGISTER came from (for NAT traversal the
    platform sends requests back to that source, not to the Contact's host) and the
    REGISTER's Path (RFC 3327: the edge proxies a request to the contact goes through)."""

    contact: str
    source: tuple[str, int]
    transport: str
    expires_at: float
    call_id: str
    cseq: int
    user_agent: str | None = None
    path: tuple[str, ...] = ()

    @property
    def flow_bound(self) -> bool:
        """Whether this binding is reached only over the connection it registered on
        (TCP/TLS: see :meth:`target`), and so ends with that connection (RFC 5626's flow
        idea): it is dropped when the connection closes and never restored at start."""
        return self.transport != "udp"

    def target(self) -> tuple[str, int]:
        """Where requests for this contact go.

        With a Path (registered through an edge, RFC 3327): the Path's first hop, the
        request carrying the Path as its Route (:meth:`route`), so any worker reaches a
        phone registered through any other. Over TCP/TLS: the connection it registered on
        (nothing else reaches a phone behind NAT). Over UDP: the Contact's address when
        the phone registered from that address (it may listen on another port than it
        sent from), else the source, because a Contact naming another host is a private
        address behind NAT (the nathelper rule).
        """
        hop = first_hop(self.path)
        if hop is not None:
            return hop
        if self.flow_bound:
            return self.source
        try:
            uri = parse_uri(self.contact)
        except SipParseError:
            return self.source
        if isinstance(uri, SipUri) and uri.host.strip("[]") == self.source[0]:
            return (self.source[0], uri.port or 5060)
        return self.source

    def route(self) -> tuple[tuple[str, str], ...]:
        """The Route headers of a request to this contact: the Path entries, in order
        (RFC 3327 §5.3, loose routing: the Request-URI stays the Contact)."""
        return tuple(("Route", entry) for entry in self.path) if first_hop(self.path) else ()

    def remaining(self, now: float) -> int:
        """Whole seconds left, as the ``expires`` parameter of the 200 shows them."""
        return max(0, int(self.expires_at - now + 0.5))


@dataclass(frozen=True, slots=True)
class RegisterOutcome:
    """What the registrar decided: the status, extra headers, the bindings afterwards,
    and whether anything changed (then the store must be updated before answering)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    bindings: tuple[Binding, ...]
    changed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RegistrarSettings:
    """Expiry bounds (settings ``register_min_expires``, ``register_max_expires``)."""

    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = DEFAULT_EXPIRES
    max_contacts: int = 10


def contact_key(uri: Uri) -> str:
    """The part of a contact URI compared when matching bindings (§10.3 step 7, §19.1.4:
    scheme and host case-insensitive, user case-sensitive)."""
    if isinstance(uri, SipUri):
        user = f"{uri.user}@" if uri.user is not None else ""
        transport = (uri.param("transport") or "").lower()
        return f"{uri.scheme.lower()}:{user}{uri.host.lower()}:{uri.port or ''};{transport}"
    return str(uri)


class BindingTable:
    """Every user's bindings, in memory; the store holds a copy for restarts and the API."""

    def __init__(self, settings: RegistrarSettings | None = None) -> None:
        self.settings = settings or RegistrarSettings()
        self._by_user: dict[str, dict[str, Binding]] = {}

    def restore(self, user_id: str, binding: Binding) -> None:
        """Put back a binding read from the store at start."""
        key = contact_key(parse_uri(binding.contact))
        self._by_user.setdefault(user_id, {})[key] = binding

    def replace(self, user_id: str, bindings: list[Binding]) -> None:
        """Make the user's bindings exactly ``bindings`` (read back from a store that other
        registrars share)."""
        self._by_user[user_id] = {contact_key(parse_uri(b.contact)): b for b in bindings}

    def lookup(self, user_id: str, now: float) -> list[Binding]:
        """The user's live bindings (expired ones are dropped)."""
        table = self._by_user.get(user_id)
        if not table:
            return []
        for key in [k for k, b in table.items() if b.expires_at <= now]:
            del table[key]
        return sorted(table.values(), key=lambda b: -b.expires_at)

    def remove_source(self, user_id: str, source: tuple[str, int], transport: str) -> bool:
        """Forget bindings reached through a closed connection (TCP/TLS flows die with
        their connection: nothing can reach the device through it any more)."""
        table = self._by_user.get(user_id, {})
        gone = [k for k, b in table.items() if b.source == source and b.transport == transport]
        for key in gone:
            del table[key]
        return bool(gone)

    def users(self) -> list[str]:
        """Users that have (or recently had) bindings."""
        return list(self._by_user)

    def live_count(self, now: float) -> int:
        """How many bindings of all users are live at ``now`` (nothing is dropped)."""
        return sum(
            1 for table in self._by_user.values() for b in table.values() if b.expires_at > now
        )

    def register(
        self,
        user_id: str,
        request: Request,
        *,
        source: tuple[str, int],
        transport: str,
        now: float,
    ) -> RegisterOutcome:
        """Apply one authorised REGISTER (§10.3 steps 6–8)."""
        settings = self.settings
        table = self._by_user.setdefault(user_id, {})
        current = self.lookup(user_id, now)
        try:
            header_expires = _expires_header(request)
            contacts = request.contacts
        except SipParseError as exc:
            return self._answer(400, now, table, reason=str(exc))
        call_id, cseq = request.call_id, request.cseq.number
        if contacts is None:  # "Contact: *"
            if header_expires != 0 or len(request.headers.values("Contact")) != 1:
                return self._answer(400, now, table, reason="'*' needs Expires: 0 alone")
            if any(b.call_id == call_id and cseq <= b.cseq for b in table.values()):
                return self._answer(500, now, table, reason="out-of-order REGISTER")
            table.clear()
            return self._answer(200, now, table, changed=bool(current))
        if not contacts:
            # A query: the bindings are returned unchanged (§10.2.3).
            return self._answer(200, now, table)
        updates: list[tuple[str, int, NameAddress]] = []
        for contact in contacts:
            try:
                expires = _contact_expires(contact, header_expires, settings.default_expires)
            except SipParseError as exc:
                return self._answer(400, now, table, reason=str(exc))
            if 0 < expires < settings.min_expires:
                return self._answer(
                    423,
                    now,
                    table,
                    headers=(("Min-Expires", str(settings.min_expires)),),
                    reason=f"expiry {expires}s is under {settings.min_expires}s",
                )
            updates.append((contact_key(contact.uri), min(expires, settings.max_expires), contact))
        for key, _, _ in updates:
            existing = table.get(key)
            if existing is not None and existing.call_id == call_id and cseq <= existing.cseq:
                return self._answer(500, now, table, reason="out-of-order REGISTER")
        try:
            # Accepted whether or not the phone said ``Supported: path``: the edge adds it
            # for the phone, which may know nothing of it (Kamailio's registrar does so).
            path = path_of(request)
        except SipParseError as exc:
            return self._answer(400, now, table, reason=str(exc))
        staged = dict(table)
        user_agent = request.headers.get("User-Agent")
        for key, expires, contact in updates:
            if expires == 0:
                staged.pop(key, None)
                continue
            staged[key] = Binding(
                contact=str(contact.uri),
                source=source,
                transport=transport.lower(),
                expires_at=now + expires,
                call_id=call_id,
                cseq=cseq,
                user_agent=user_agent,
                path=path,
            )
        if len(staged) > settings.max_contacts:
            return self._answer(
                403, now, table, reason=f"more than {settings.max_contacts} contacts"
            )
        table.clear()
        table.update(staged)
        return self._answer(200, now, table, changed=True, path=path)

    def _answer(
        self,
        status: int,
        now: float,
        table: dict[str, Binding],
        *,
        headers: tuple[tuple[str, str], ...] = (),
        changed: bool = False,
        reason: str = "",
        path: tuple[str, ...] = (),
    ) -> RegisterOutcome:
        bindings = tuple(sorted(table.values(), key=lambda b: b.contact))
        if status == 200:
            contact_headers = tuple(
                ("Contact", f"<{b.contact}>;expires={b.remaining(now)}") for b in bindings
            )
            # RFC 3327 §5.3: the Path stored is echoed, so the phone may learn it.
            path_headers = tuple(("Path", entry) for entry in path)
            headers = (*headers, *path_headers, *contact_headers)
        return RegisterOutcome(status, headers, bindings, changed, reason)


def _expires_header(request: Request) -> int | None:
    value = request.headers.get("Expires")
    if value is None:
        return None
    return parse_uint(value.strip(), what="Expires", maximum=2**32 - 1)


def _contact_expires(contact: NameAddress, header: int | None, default: int) -> int:
    value = contact.param("expires")
    if value is not None:
        return parse_uint(value, what="expires parameter", maximum=2**32 - 1)
    return header if header is not None else default
