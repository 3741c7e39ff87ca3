"""Working behind a SIP edge (issue 19: Kamailio in front of N workers), pure.

Two things come from the edge that a worker must read, and only from the edge:

- ``X-Dialtone-Source: <transport>:<ip>:<port>``: the client's own address. The edge
  writes it on every request it relays from a client (removing any copy the client sent);
  :func:`client_source` believes it only when the packet itself came from a configured
  edge address, so a client talking to a worker directly cannot pick the address its
  failures are counted against or the trunk it is taken for.
- ``Path`` (RFC 3327) on a REGISTER: the proxies a request to that phone must go through.
  :func:`first_hop` is where such a request is sent (loose routing, RFC 3261 §16.12:
  ``Route:`` the Path entries, Request-URI the Contact).
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass

from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import parse_name_address
from dialtone.sip.message import Request
from dialtone.sip.uri import SipUri

SOURCE_HEADER = "X-Dialtone-Source"
TRANSPORTS = frozenset({"udp", "tcp", "tls", "ws", "wss", "sctp"})


@dataclass(frozen=True, slots=True)
class ClientSource:
    """Where a request really came from: the packet's source, or the client behind an
    edge as the edge reported it."""

    transport: str
    host: str
    port: int
    via_edge: bool = False

    @property
    def address(self) -> tuple[str, int]:
        """(host, port), the shape the rest of the runtime keys sources by."""
        return (self.host, self.port)


def _host_port(text: str, *, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what} {text!r}: not IP:port")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare != host and ":" not in bare:
        raise ValueError(f"{what} {text!r}: brackets only around an IPv6 address")
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        raise ValueError(f"{what} {text!r}: the host must be an IP address") from None
    if ip.version == 6 and bare == host:
        raise ValueError(f"{what} {text!r}: write an IPv6 address in brackets")
    return (ip.compressed, int(port))


def parse_edge_address(text: str) -> tuple[str, int]:
    """``IP:port`` of an edge (setting ``edge_addresses``; IPv6 as ``[::1]:5060``), as the
    (host, port) pair a packet's source is compared with. A name is refused: packets carry
    addresses, and a name resolving elsewhere later would trust a stranger."""
    return _host_port(text.strip(), what="edge address")


def parse_source_header(value: str) -> ClientSource:
    """``transport:ip:port`` as the edge writes it (``$proto:$si:$sp``); raises ValueError."""
    transport, sep, rest = value.strip().partition(":")
    if not sep or transport.lower() not in TRANSPORTS:
        raise ValueError(f"{SOURCE_HEADER} {value!r}: no known transport")
    if ":" in rest.rpartition(":")[0] and not rest.startswith("["):
        # Kamailio writes an IPv6 $si bare: 2001:db8::1:5060 -> the last field is the port.
        bare, _, port_text = rest.rpartition(":")
        rest = f"[{bare}]:{port_text}"
    host, port = _host_port(rest, what=SOURCE_HEADER)
    return ClientSource(transport.lower(), host, port, via_edge=True)


def client_source(
    request: Request,
    source: tuple[str, int],
    transport: str,
    edges: frozenset[tuple[str, int]],
) -> ClientSource:
    """The client a request came from (issue 19's trusted-source rule).

    From a configured edge (``source`` in ``edges``, IP and port) with a readable
    ``X-Dialtone-Source``: the address it names. From anyone else, or without a readable
    header: the packet's own ``source`` and ``transport``, the header ignored.
    """
    packet = ClientSource(transport.lower(), *_normalised(source))
    if not edges or packet.address not in edges:
        return packet
    values = request.headers.get_all(SOURCE_HEADER)
    if len(values) != 1:
        # The edge removes the client's copies and adds one: anything else is not its.
        return packet
    try:
        return parse_source_header(values[0])
    except ValueError:
        return packet


def _normalised(source: tuple[str, int]) -> tuple[str, int]:
    host = source[0].strip("[]")
    with contextlib.suppress(ValueError):  # a name stays as it is
        host = ipaddress.ip_address(host).compressed
    return (host, source[1])


def path_of(request: Request) -> tuple[str, ...]:
    """The REGISTER's Path entries (RFC 3327), in order, each one name-addr as written;
    raises SipParseError when one is not an address."""
    entries = tuple(request.headers.values("Path"))
    for entry in entries:
        parse_name_address(entry, what="Path")
    return entries


def first_hop(path: tuple[str, ...]) -> tuple[str, int] | None:
    """Where a request routed over ``path`` is sent: the first entry's host and port
    (5060 when none; 5061 for sips). None for an empty path or one whose first entry is not
    a SIP URI (the binding is then reached as if it had none)."""
    if not path:
        return None
    try:
        uri = parse_name_address(path[0], what="Path").uri
    except SipParseError:
        return None
    if not isinstance(uri, SipUri):
        return None
    default = 5061 if uri.scheme == "sips" else 5060
    return (uri.host.strip("[]"), uri.port or default)
