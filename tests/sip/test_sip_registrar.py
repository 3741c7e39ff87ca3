"""Registrar bindings (RFC 3261 §10.3) on a fake clock."""

from __future__ import annotations

import pytest

from dialtone.sip.errors import SipParseError
from dialtone.sip.message import Request, parse_message
from dialtone.sip.registrar import BindingTable, RegistrarSettings

SOURCE = ("198.51.100.7", 40000)


def register(
    *contacts: str,
    expires: int | None = None,
    call_id: str = "reg-1",
    cseq: int = 1,
    user_agent: str = "phone/1",
) -> Request:
    lines = [
        "REGISTER sip:dialtone SIP/2.0",
        "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKr1",
        "From: <sip:alice@dialtone>;tag=a",
        "To: <sip:alice@dialtone>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"User-Agent: {user_agent}",
    ]
    lines += [f"Contact: {c}" for c in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def table(**kw: int) -> BindingTable:
    return BindingTable(RegistrarSettings(**kw))


def apply(t: BindingTable, request: Request, now: float = 1000.0):  # type: ignore[no-untyped-def]
    return t.register("US1", request, source=SOURCE, transport="UDP", now=now)


@pytest.mark.parametrize(
    ("expires", "status", "granted"),
    [
        (59, 423, None),
        (60, 200, 60),
        (61, 200, 61),
        (3599, 200, 3599),
        (3600, 200, 3600),
        (3601, 200, 3600),  # cut down to the maximum
        (0, 200, None),  # un-REGISTER
    ],
)
def test_expiry_bounds(expires: int, status: int, granted: int | None) -> None:
    t = table(min_expires=60, max_expires=3600)
    outcome = apply(t, register("<sip:alice@198.51.100.7:5060>", expires=expires))
    assert outcome.status == status
    if status == 423:
        assert ("Min-Expires", "60") in outcome.headers
        assert t.lookup("US1", 1000.0) == []
    elif granted is None:
        assert outcome.bindings == ()
    else:
        [binding] = outcome.bindings
        assert binding.expires_at == 1000.0 + granted
        assert ("Contact", f"<sip:alice@198.51.100.7:5060>;expires={granted}") in outcome.headers


def test_contact_param_beats_header_and_default_applies() -> None:
    t = table()
    outcome = apply(
        t,
        register("<sip:a@h1>;expires=120", "<sip:a@h2>", expires=300),
    )
    by_contact = {b.contact: b.expires_at - 1000.0 for b in outcome.bindings}
    assert by_contact == {"sip:a@h1": 120, "sip:a@h2": 300}
    outcome = apply(t, register("<sip:a@h3>", call_id="other"))
    assert {b.contact for b in outcome.bindings} == {"sip:a@h1", "sip:a@h2", "sip:a@h3"}
    assert [b.expires_at for b in outcome.bindings if b.contact == "sip:a@h3"] == [1000.0 + 3600]


def test_several_contacts_expire_independently() -> None:
    t = table()
    apply(t, register("<sip:a@h1>;expires=60", "<sip:a@h2>;expires=600"))
    assert {b.contact for b in t.lookup("US1", 1059.9)} == {"sip:a@h1", "sip:a@h2"}
    assert {b.contact for b in t.lookup("US1", 1060.0)} == {"sip:a@h2"}
    assert t.lookup("US1", 1600.0) == []


def test_refresh_and_unregister_one_contact() -> None:
    t = table()
    apply(t, register("<sip:a@h1>", "<sip:a@h2>", cseq=1))
    outcome = apply(t, register("<sip:a@h1>", expires=0, cseq=2))
    assert [b.contact for b in outcome.bindings] == ["sip:a@h2"]
    assert outcome.changed


def test_star_removes_everything_but_only_with_expires_zero() -> None:
    t = table()
    apply(t, register("<sip:a@h1>", "<sip:a@h2>", cseq=1))
    assert apply(t, register("*", expires=60, cseq=2)).status == 400
    assert apply(t, register("*", cseq=2)).status == 400  # no Expires at all
    outcome = apply(t, register("*", expires=0, cseq=3))
    assert (outcome.status, outcome.bindings, outcome.changed) == (200, (), True)


def test_out_of_order_register_is_refused_without_changes() -> None:
    t = table()
    apply(t, register("<sip:a@h1>", cseq=5))
    for cseq in (4, 5):
        outcome = apply(t, register("<sip:a@h1>", expires=0, cseq=cseq))
        assert outcome.status == 500
        assert len(t.lookup("US1", 1000.0)) == 1
    # Another Call-ID (the phone rebooted) may use any CSeq.
    assert apply(t, register("<sip:a@h1>", expires=0, cseq=1, call_id="new")).status == 200


def test_query_without_contact_lists_bindings() -> None:
    t = table()
    apply(t, register("<sip:a@h1>"))
    outcome = apply(t, register(), now=1100.0)
    assert outcome.status == 200
    assert not outcome.changed
    assert outcome.headers == (("Contact", "<sip:a@h1>;expires=3500"),)


@pytest.mark.parametrize(("count", "status"), [(9, 200), (10, 200), (11, 403)])
def test_contact_limit(count: int, status: int) -> None:
    t = table(max_contacts=10)
    contacts = [f"<sip:a@h{n}>" for n in range(count)]
    assert apply(t, register(*contacts)).status == status


def test_uri_matching_ignores_host_case() -> None:
    t = table()
    apply(t, register("<sip:a@Host.Example>", cseq=1))
    outcome = apply(t, register("<sip:a@host.example>", expires=0, cseq=2))
    assert outcome.bindings == ()


@pytest.mark.parametrize("bad", ["<sip:a@h1>;expires=soon", "<sip:a@h1>;expires=-1"])
def test_bad_expiry_is_refused(bad: str) -> None:
    # The parser already answers 400 for these (the registrar never sees them).
    with pytest.raises(SipParseError):
        apply(table(), register(bad))


def test_bindings_remember_source_and_user_agent_and_drop_with_the_connection() -> None:
    t = table()
    [binding] = apply(t, register("<sip:a@10.0.0.5:5060>")).bindings
    assert binding.source == SOURCE
    assert binding.user_agent == "phone/1"
    assert binding.transport == "udp"
    assert t.remove_source("US1", SOURCE, "tcp") is False
    assert t.remove_source("US1", SOURCE, "udp") is True
    assert t.lookup("US1", 1000.0) == []


def test_restore() -> None:
    t = table()
    [binding] = apply(t, register("<sip:a@h1>")).bindings
    fresh = table()
    fresh.restore("US1", binding)
    assert fresh.lookup("US1", 1000.0) == [binding]


@pytest.mark.parametrize(
    ("contact", "transport", "target"),
    [
        ("sip:a@198.51.100.7:5062", "udp", ("198.51.100.7", 5062)),  # same host, own port
        ("sip:a@198.51.100.7", "udp", ("198.51.100.7", 5060)),
        ("sip:a@10.0.0.5:5060", "udp", SOURCE),  # private address behind NAT
        ("sip:a@198.51.100.7:5062", "tcp", SOURCE),  # the connection, always
    ],
)
def test_binding_target(contact: str, transport: str, target: tuple[str, int]) -> None:
    t = table()
    outcome = t.register(
        "US1", register(f"<{contact}>"), source=SOURCE, transport=transport, now=1000.0
    )
    assert outcome.bindings[0].target() == target


@pytest.mark.parametrize(
    ("transport", "flow_bound"),
    [("udp", False), ("tcp", True), ("tls", True), ("TCP", True)],
)
def test_stream_bindings_are_bound_to_their_connection(transport: str, flow_bound: bool) -> None:
    # Reached only over the connection they registered on, they end with it and are not
    # restored at start (issue 13, item 25).
    t = table()
    outcome = t.register(
        "US1",
        register("<sip:a@198.51.100.7:5062>"),
        source=SOURCE,
        transport=transport,
        now=1000.0,
    )
    [binding] = outcome.bindings
    assert binding.flow_bound is flow_bound
    assert (binding.target() == SOURCE) is flow_bound
