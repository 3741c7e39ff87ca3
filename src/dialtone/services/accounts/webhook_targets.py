"""Where a webhook may be sent: the checks against server-side request forgery (issue 16).

A customer names the URLs the platform requests (status callbacks, inbound SMS, TwiML).
Left unchecked, such a URL reaches what only the platform can: its loopback, the
operator's private network, a cloud's metadata service (169.254.169.254). A target must
therefore be http(s), and every address its host resolves to must be a public unicast
address, unless the operator allows private ones (``webhook_allow_private_targets``) or
lists their networks (``webhook_allowed_networks``).

The checks here are pure: a URL or an address in, a refusal or nothing out. They run
when a URL is saved (:func:`check_url`, a 400 ``webhook.target_refused``), and again at
send time on the addresses the host resolves to then, by the runtime that connects to
the address it checked (``dialtone.runtime.guarded_http``), so that a DNS answer
changed between the check and the connection cannot send the request elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from dialtone.core.errors import DialtoneError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL = 500  # the columns that keep webhook URLs
REFUSED = "webhook.target_refused"

# The IPv6 prefix of NAT64 (RFC 6052): 64:ff9b::a.b.c.d reaches the IPv4 a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """The operator's choice: private addresses allowed, or only these networks."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, networks: Iterable[str]) -> TargetPolicy:
        """From the settings' values (CIDR strings; a bad one raises ValueError)."""
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in networks))


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL's parts: where to connect."""

    scheme: str
    host: str  # without brackets for IPv6
    port: int

    @property
    def literal(self) -> IPAddress | None:
        """The host as an address, when the URL names one."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def refused(reason: str) -> DialtoneError:
    """The error of a refused target (HTTP 400, ``webhook.target_refused``)."""
    return DialtoneError(REFUSED, f"Webhook target refused: {reason}.", status=400)


def parse_target(url: str) -> Target:
    """The scheme, host and port of ``url``, or ``webhook.target_refused`` when it is not
    an absolute http(s) URL of at most 500 characters with a host."""
    if len(url) > MAX_URL:
        raise refused(f"a URL of {MAX_URL} characters at most")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refused(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise refused("an http:// or https:// URL")
    host = (parts.hostname or "").rstrip(".")
    if not host or any(c.isspace() for c in url):
        raise refused("a URL with a host and no spaces")
    return Target(scheme, host, port or (443 if scheme == "https" else 80))


def _judged_as(address: IPAddress) -> list[IPAddress]:
    """The addresses ``address`` is judged as: itself, and for an IPv6 address that
    stands for an IPv4 one, that one — alone when the IPv6 form is only a way of writing
    it (``::ffff:a.b.c.d``, NAT64's 64:ff9b::a.b.c.d), both for 6to4 (2002::/16)."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return [address, address.sixtofour]
    return [address]


def _kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None when it is one."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address(
        "255.255.255.255"
    ):
        return "broadcast"
    if address.is_reserved:
        return "reserved"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_private or not address.is_global:
        return "private"
    return None


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def address_refusal(address: str | IPAddress, policy: TargetPolicy) -> str | None:
    """Why a request may not go to ``address`` under ``policy``, or None when it may.

    Unspecified and multicast addresses are never a target. Loopback, link-local,
    private, shared (100.64/10), reserved and other non-global addresses are refused
    unless the operator allows private targets or lists a network holding the address.
    An IPv6 address standing for an IPv4 one (``::ffff:a.b.c.d``, 6to4, NAT64) is judged
    as that IPv4 address too."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    for candidate in _judged_as(ip):
        kind = _kind(candidate)
        if kind is None:
            continue
        if kind in ("unspecified", "multicast", "broadcast"):
            return f"{ip} is {_a(kind)} address"
        if policy.allow_private or any(
            candidate.version == net.version and candidate in net for net in policy.allowed_networks
        ):
            continue
        return f"{ip} is {_a(kind)} address, not allowed as a webhook target"
    return None


def check_addresses(addresses: Iterable[str], policy: TargetPolicy, host: str) -> list[str]:
    """Every address ``host`` resolved to, if all may be requested; else the refusal of
    the first that may not (one bad address is enough: which one a connection would
    use is not ours to choose)."""
    found = list(dict.fromkeys(addresses))
    if not found:
        raise refused(f"{host} has no address")
    for address in found:
        why = address_refusal(address, policy)
        if why is not None:
            raise refused(f"{host}: {why}")
    return found


def check_url(url: str, policy: TargetPolicy, resolve: Resolver | None = None) -> Target:
    """``url`` checked as it is saved: http(s), and its host's addresses allowed — a
    literal address at once, a name through ``resolve`` when given. A name that does not
    resolve now is accepted: it is checked again, resolved, each time it is requested."""
    target = parse_target(url)
    literal = target.literal
    if literal is not None:
        check_addresses([str(literal)], policy, target.host)
    elif target.host.lower() == "localhost" or target.host.lower().endswith(".localhost"):
        check_addresses(["127.0.0.1", "::1"], policy, target.host)  # RFC 6761
    elif resolve is not None:
        try:
            addresses = resolve(target.host, target.port)
        except OSError:
            return target
        check_addresses(addresses, policy, target.host)
    return target


def resolve_blocking(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system's resolver (for a save-time check in a
    worker thread; the runtime resolves on its loop)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]
