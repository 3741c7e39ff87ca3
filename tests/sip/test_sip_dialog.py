"""UAS dialogs (RFC 3261 §12): dialog state from an INVITE, requests inside the dialog
(the BYE the platform sends) and CSeq ordering of requests received in it."""

from __future__ import annotations

import pytest

from dialtone.sip.dialog import Dialog
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import Via
from dialtone.sip.message import Request, make_response, parse_message
from dialtone.sip.uri import SipUri

RECORD_ROUTES = [
    "<sip:p1.example.com;lr>",
    "<sip:p2.example.com;lr;transport=tcp>",
    '"Edge" <sip:192.0.2.50:5080;lr;maddr=192.0.2.51>',
]
VIA = Via("UDP", "192.0.2.1", 5060, (("branch", "z9hG4bKbye1"), ("rport", None)))


def invite(
    *,
    record_route: list[str] | None = None,
    rr_lines: int = 1,
    cseq: int = 5,
    uri: str = "sip:+15551230000@192.0.2.1",
    contact: str | None = "<sip:alice@192.0.2.7:5070;transport=udp;ob>",
    from_tag: str | None = "from1",
) -> Request:
    routes = RECORD_ROUTES if record_route is None else record_route
    if rr_lines == 1 and routes:
        rr = f"Record-Route: {', '.join(routes)}\r\n"
    else:
        rr = "".join(f"Record-Route: {r}\r\n" for r in routes)
    raw = (
        f"INVITE {uri} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.50:5080;branch=z9hG4bKp1\r\n"
        "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKa1\r\n"
        f"{rr}"
        "Max-Forwards: 69\r\n"
        'From: "Alice A." <sip:alice@atlanta.example.com>'
        + (f";tag={from_tag}" if from_tag else "")
        + "\r\n"
        "To: Bob <sip:+15551230000@biloxi.example.com>\r\n"
        "Call-ID: dlg-call-1@192.0.2.7\r\n"
        f"CSeq: {cseq} INVITE\r\n"
        + (f"Contact: {contact}\r\n" if contact else "")
        + "Content-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(raw)
    assert isinstance(message, Request)
    return message


def in_dialog(method: str, cseq: int, *, contact: str | None = None) -> Request:
    raw = (
        f"{method} sip:+15551230000@192.0.2.1 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bKx" + f"{method}{cseq}\r\n"
        'From: "Alice A." <sip:alice@atlanta.example.com>;tag=from1\r\n'
        "To: Bob <sip:+15551230000@biloxi.example.com>;tag=ours\r\n"
        "Call-ID: dlg-call-1@192.0.2.7\r\n"
        f"CSeq: {cseq} {method}\r\n"
        + (f"Contact: {contact}\r\n" if contact else "")
        + "Content-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(raw)
    assert isinstance(message, Request)
    return message


def dialog(**kw: object) -> Dialog:
    inv = invite(**kw)  # type: ignore[arg-type]
    return Dialog.from_invite(inv, make_response(inv, 200, to_tag="ours"), local_seq=100)


# -- from_invite -------------------------------------------------------------------------------


@pytest.mark.parametrize("rr_lines", [1, 3], ids=["one-line", "several-lines"])
def test_from_invite_takes_the_record_route_in_order(rr_lines: int) -> None:
    inv = invite(rr_lines=rr_lines)
    d = Dialog.from_invite(inv, make_response(inv, 200, to_tag="ours"), local_seq=100)
    assert d.id == ("dlg-call-1@192.0.2.7", "ours", "from1")
    assert (d.call_id, d.local_tag, d.remote_tag) == d.id
    # UAS: the route set is the Record-Route list as received, URI parameters kept (§12.1.1).
    assert [str(r.uri) for r in d.route_set] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr;transport=tcp",
        "sip:192.0.2.50:5080;lr;maddr=192.0.2.51",
    ]
    assert str(d.remote_target) == "sip:alice@192.0.2.7:5070;transport=udp;ob"
    assert d.remote_seq == 5
    assert d.local_seq == 100
    assert d.confirmed
    assert not d.secure
    assert d.local_uri.tag == "ours"
    assert d.remote_uri.tag == "from1"
    assert d.remote_uri.display_name == "Alice A."


def test_from_invite_without_record_route_has_an_empty_route_set() -> None:
    assert dialog(record_route=[]).route_set == ()


def test_early_dialog_from_a_tagged_provisional() -> None:
    inv = invite()
    d = Dialog.from_invite(inv, make_response(inv, 180, to_tag="early"))
    assert d.local_tag == "early"
    assert not d.confirmed


def test_sips_request_uri_makes_a_secure_dialog() -> None:
    assert dialog(uri="sips:+15551230000@192.0.2.1").secure


def test_from_invite_needs_a_to_tag() -> None:
    inv = invite()
    with pytest.raises(ValueError, match="To tag"):
        Dialog.from_invite(inv, make_response(inv, 200))


def test_from_invite_needs_a_contact() -> None:
    inv = invite(contact=None)
    with pytest.raises(SipParseError, match="Contact"):
        Dialog.from_invite(inv, make_response(inv, 200, to_tag="ours"))


# -- create_request ----------------------------------------------------------------------------


def test_bye_fields() -> None:
    d = dialog()
    bye = d.create_request(
        "BYE", via=VIA, contact="<sip:dialtone@192.0.2.1:5060>", user_agent="ua/1"
    )
    parsed = parse_message(bye.encode())
    assert isinstance(parsed, Request)
    assert parsed.method == "BYE"
    # Request-URI = remote target (the caller's Contact), the routes being loose (;lr).
    assert isinstance(parsed.uri, SipUri)
    assert str(parsed.uri) == "sip:alice@192.0.2.7:5070;transport=udp;ob"
    # From is our side (the INVITE's To) with our tag; To is theirs with their tag.
    assert parsed.from_.tag == "ours"
    assert str(parsed.from_.uri) == "sip:+15551230000@biloxi.example.com"
    assert parsed.from_.display_name == "Bob"
    assert parsed.to.tag == "from1"
    assert str(parsed.to.uri) == "sip:alice@atlanta.example.com"
    assert parsed.to.display_name == "Alice A."
    assert parsed.call_id == "dlg-call-1@192.0.2.7"
    assert (parsed.cseq.number, parsed.cseq.method) == (101, "BYE")
    assert parsed.headers.values("Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr;transport=tcp>",
        '"Edge" <sip:192.0.2.50:5080;lr;maddr=192.0.2.51>',
    ]
    assert parsed.vias == (VIA,)
    assert parsed.headers.get("Max-Forwards") == "70"
    assert parsed.headers.get("Contact") == "<sip:dialtone@192.0.2.1:5060>"
    assert parsed.headers.get("User-Agent") == "ua/1"
    assert parsed.body == b""


def test_cseq_increments_with_every_request() -> None:
    d = dialog()
    numbers = [d.create_request(m, via=VIA).cseq for m in ("INFO", "BYE", "BYE", "UPDATE")]
    assert [(c.number, c.method) for c in numbers] == [
        (101, "INFO"),
        (102, "BYE"),
        (103, "BYE"),
        (104, "UPDATE"),
    ]
    assert d.local_seq == 104
    # The remote sequence space is separate.
    assert d.remote_seq == 5


def test_no_route_header_without_a_route_set() -> None:
    bye = dialog(record_route=[]).create_request("BYE", via=VIA)
    assert "Route" not in bye.headers
    assert str(bye.uri) == "sip:alice@192.0.2.7:5070;transport=udp;ob"


def test_request_with_a_body() -> None:
    d = dialog()
    info = d.create_request(
        "INFO", via=VIA, body=b"Signal=5\r\n", content_type="application/dtmf-relay"
    )
    parsed = parse_message(info.encode())
    assert parsed.body == b"Signal=5\r\n"
    assert parsed.headers.get("Content-Type") == "application/dtmf-relay"
    assert parsed.headers.get("Content-Length") == "10"


def test_remote_without_tag() -> None:
    # An RFC 2543 caller may send no From tag: the To of our requests then has none.
    d = dialog(from_tag=None)
    assert d.remote_tag == ""
    bye = d.create_request("BYE", via=VIA)
    assert parse_message(bye.encode()).to.tag is None


# -- accepts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "cseq", "accepted", "remote_seq_after"),
    [
        ("BYE", 4, False, 5),  # lower: out of order, the caller answers 500 (§12.2.2)
        ("BYE", 1, False, 5),
        ("BYE", 5, True, 5),
        ("BYE", 6, True, 6),
        ("INFO", 1000, True, 1000),
        ("ACK", 1, True, 5),  # ACK and CANCEL carry the INVITE's number
        ("CANCEL", 1, True, 5),
    ],
)
def test_accepts_checks_the_cseq_order(
    method: str, cseq: int, accepted: bool, remote_seq_after: int
) -> None:
    d = dialog()
    assert d.accepts(in_dialog(method, cseq)) is accepted
    assert d.remote_seq == remote_seq_after


def test_accepts_sequence() -> None:
    d = dialog()
    results = [d.accepts(in_dialog("INFO", n)) for n in (6, 8, 7, 8, 9, 2)]
    assert results == [True, True, False, True, True, False]
    assert d.remote_seq == 9


def test_reinvite_refreshes_the_remote_target() -> None:
    d = dialog()
    assert d.accepts(in_dialog("INVITE", 6, contact="<sip:alice@198.51.100.9:5999>"))
    assert str(d.remote_target) == "sip:alice@198.51.100.9:5999"
    assert str(d.create_request("BYE", via=VIA).uri) == "sip:alice@198.51.100.9:5999"


def test_refused_or_non_refreshing_requests_keep_the_target() -> None:
    d = dialog()
    before = d.remote_target
    assert not d.accepts(in_dialog("INVITE", 4, contact="<sip:evil@203.0.113.1>"))
    assert d.remote_target == before
    assert d.accepts(in_dialog("INFO", 7, contact="<sip:other@203.0.113.1>"))
    assert d.remote_target == before
