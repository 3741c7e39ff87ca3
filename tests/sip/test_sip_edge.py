"""Behind a SIP edge (issue 19): the trusted-source rule, edge addresses, the Path's first
hop, and a registrar keeping the REGISTER's Path (RFC 3327)."""

from __future__ import annotations

import pytest

from dialtone.sip.edge import (
    ClientSource,
    client_source,
    first_hop,
    parse_edge_address,
    parse_source_header,
)
from dialtone.sip.message import Request, make_response, parse_message
from dialtone.sip.registrar import Binding, BindingTable

EDGE = ("192.0.2.1", 5060)
EDGES = frozenset({EDGE, ("2001:db8::1", 5070)})


def request(*extra: str, method: str = "INVITE", contact: str | None = None) -> Request:
    lines = [
        f"{method} sip:bob@192.0.2.1 SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKe1",
        "From: <sip:alice@192.0.2.1>;tag=a",
        "To: <sip:alice@192.0.2.1>",
        "Call-ID: c1",
        f"CSeq: 1 {method}",
        *extra,
    ]
    if contact is not None:
        lines.append(f"Contact: {contact}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


# -- the trusted-source rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "headers", "expected"),
    [
        # From the edge: the header is the client.
        (EDGE, ("X-Dialtone-Source: udp:203.0.113.7:5062",), ("udp", "203.0.113.7", 5062, True)),
        (EDGE, ("X-Dialtone-Source: TCP:203.0.113.7:40000",), ("tcp", "203.0.113.7", 40000, True)),
        (EDGE, ("x-dialtone-source: tls:203.0.113.7:5061",), ("tls", "203.0.113.7", 5061, True)),
        (
            ("2001:db8::1", 5070),
            ("X-Dialtone-Source: udp:2001:db8::7:5060",),  # Kamailio writes IPv6 bare
            ("udp", "2001:db8::7", 5060, True),
        ),
        # From the edge but no (or no readable, or two) header: the packet's own source.
        (EDGE, (), ("udp", "192.0.2.1", 5060, False)),
        (EDGE, ("X-Dialtone-Source: udp:phone.example:5060",), ("udp", "192.0.2.1", 5060, False)),
        (EDGE, ("X-Dialtone-Source: carrier-pigeon:1.2.3.4:5",), ("udp", "192.0.2.1", 5060, False)),
        (EDGE, ("X-Dialtone-Source: udp:1.2.3.4:70000",), ("udp", "192.0.2.1", 5060, False)),
        (
            EDGE,
            ("X-Dialtone-Source: udp:1.2.3.4:5060", "X-Dialtone-Source: udp:5.6.7.8:5060"),
            ("udp", "192.0.2.1", 5060, False),
        ),
        # The edge's address on another port, or anyone else: the header is ignored.
        (
            ("192.0.2.1", 5061),
            ("X-Dialtone-Source: udp:203.0.113.7:5062",),
            ("udp", "192.0.2.1", 5061, False),
        ),
        (
            ("198.51.100.66", 5060),
            ("X-Dialtone-Source: udp:192.0.2.250:5060",),
            ("udp", "198.51.100.66", 5060, False),
        ),
    ],
)
def test_the_source_header_is_believed_only_from_an_edge(
    source: tuple[str, int], headers: tuple[str, ...], expected: tuple[str, str, int, bool]
) -> None:
    got = client_source(request(*headers), source, "udp", EDGES)
    assert (got.transport, got.host, got.port, got.via_edge) == expected


def test_without_edges_the_header_is_ignored_even_from_that_address() -> None:
    got = client_source(
        request("X-Dialtone-Source: udp:203.0.113.7:5062"), EDGE, "udp", frozenset()
    )
    assert got == ClientSource("udp", "192.0.2.1", 5060)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5:5060", ("10.0.0.5", 5060)),
        (" 10.0.0.5:5070 ", ("10.0.0.5", 5070)),
        ("[2001:DB8::1]:5060", ("2001:db8::1", 5060)),
        ("edge.example:5060", None),  # a name could resolve elsewhere later
        ("10.0.0.5", None),
        ("10.0.0.5:0", None),
        ("10.0.0.5:65536", None),
        ("2001:db8::1:5060", None),  # IPv6 needs brackets here
        ("[10.0.0.5]:5060", None),
    ],
)
def test_edge_addresses(text: str, expected: tuple[str, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="edge address"):
            parse_edge_address(text)
    else:
        assert parse_edge_address(text) == expected


def test_a_source_header_reads_as_the_edge_writes_it() -> None:
    assert parse_source_header("ws:198.51.100.2:8080").address == ("198.51.100.2", 8080)


@pytest.mark.parametrize(
    ("path", "hop"),
    [
        ((), None),
        (("<sip:edge@192.0.2.1:5070;lr;received=sip:203.0.113.7:5062>",), ("192.0.2.1", 5070)),
        (("<sip:192.0.2.1;lr>", "<sip:192.0.2.2:6000;lr>"), ("192.0.2.1", 5060)),
        (("<sips:edge.example;lr>",), ("edge.example", 5061)),
        (("<sip:[2001:db8::1]:5070;lr>",), ("2001:db8::1", 5070)),
        (("<tel:+33123456789>",), None),
        (("not an address <",), None),
    ],
)
def test_first_hop(path: tuple[str, ...], hop: tuple[str, int] | None) -> None:
    assert first_hop(path) == hop


# -- the registrar keeps the Path -----------------------------------------------------------

PATH = "<sip:edge@192.0.2.1:5060;lr;received=sip:203.0.113.7:5062>"
CONTACT = "<sip:alice@10.1.1.1:5060>"  # a private address behind NAT


@pytest.mark.parametrize(
    ("headers", "path", "target"),
    [
        # No Path: as before (the source, the Contact naming another host).
        ((), (), ("192.0.2.1", 5060)),
        # Path with or without Supported: path (Kamailio's registrar accepts both).
        ((f"Path: {PATH}",), (PATH,), ("192.0.2.1", 5060)),
        ((f"Path: {PATH}", "Supported: path"), (PATH,), ("192.0.2.1", 5060)),
        # Two proxies, in one header or two: kept in order, the first is the next hop.
        (
            (f"Path: {PATH}, <sip:192.0.2.9:5080;lr>",),
            (PATH, "<sip:192.0.2.9:5080;lr>"),
            ("192.0.2.1", 5060),
        ),
        (
            ("Path: <sip:192.0.2.9:5080;lr>", f"Path: {PATH}"),
            ("<sip:192.0.2.9:5080;lr>", PATH),
            ("192.0.2.9", 5080),
        ),
    ],
)
def test_the_registrar_keeps_and_echoes_the_path(
    headers: tuple[str, ...], path: tuple[str, ...], target: tuple[str, int]
) -> None:
    table = BindingTable()
    outcome = table.register(
        "US1",
        request(*headers, "Expires: 600", method="REGISTER", contact=CONTACT),
        source=("203.0.113.7", 5062) if path else EDGE,
        transport="udp",
        now=1000.0,
    )
    assert outcome.status == 200
    [binding] = outcome.bindings
    assert binding.path == path
    assert binding.target() == target
    assert binding.route() == tuple(("Route", p) for p in path)
    assert [v for n, v in outcome.headers if n == "Path"] == list(path)
    assert table.lookup("US1", 1001.0) == [binding]


def test_a_refresh_without_path_forgets_it() -> None:
    table = BindingTable()
    via_edge = request(f"Path: {PATH}", "Expires: 600", method="REGISTER", contact=CONTACT)
    table.register("US1", via_edge, source=("203.0.113.7", 5062), transport="udp", now=1000.0)
    direct = request("Expires: 600", method="REGISTER", contact=CONTACT)
    direct.set_header("CSeq", "2 REGISTER")
    outcome = table.register("US1", direct, source=EDGE, transport="udp", now=1001.0)
    [binding] = outcome.bindings
    assert binding.path == ()
    assert "Path" not in dict(outcome.headers)


def test_a_bad_path_is_refused() -> None:
    bad = request("Path: <sip:edge@192.0.2.1;lr", method="REGISTER", contact=CONTACT)
    outcome = BindingTable().register("US1", bad, source=EDGE, transport="udp", now=1.0)
    assert outcome.status == 400
    assert not outcome.changed


def test_replace_puts_the_stores_bindings_in_place() -> None:
    table = BindingTable()
    mine = Binding("sip:a@10.1.1.1", ("203.0.113.7", 5062), "udp", 2000.0, "c1", 1, None, (PATH,))
    table.replace("US1", [mine])
    assert table.lookup("US1", 1000.0) == [mine]
    table.replace("US1", [])
    assert table.lookup("US1", 1000.0) == []


@pytest.mark.parametrize(
    ("method", "status", "copied"),
    [
        ("INVITE", 180, True),
        ("INVITE", 200, True),
        ("INVITE", 100, False),  # no dialog from a 100
        ("INVITE", 486, False),
        ("SUBSCRIBE", 202, True),
        ("OPTIONS", 200, False),
        ("REGISTER", 200, False),
    ],
)
def test_a_dialog_creating_answer_carries_the_record_route(
    method: str, status: int, copied: bool
) -> None:
    # RFC 3261 §12.1.1: the caller's requests in the dialog then go through the edge.
    rr = ("Record-Route: <sip:192.0.2.1:5060;lr;ftag=a>", "Record-Route: <sip:192.0.2.2;lr>")
    response = make_response(request(*rr, method=method), status, to_tag="t1")
    expected = ["<sip:192.0.2.1:5060;lr;ftag=a>", "<sip:192.0.2.2;lr>"] if copied else []
    assert response.headers.get_all("Record-Route") == expected
