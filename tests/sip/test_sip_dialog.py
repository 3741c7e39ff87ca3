"""UAS dialogs (RFC 3261 §12): the BYE the platform sends, and CSeq ordering."""

from __future__ import annotations

from dialtone.sip.dialog import Dialog
from dialtone.sip.headers import Via
from dialtone.sip.message import Request, make_response, parse_message

from .sipfix import request


def _invite() -> Request:
    raw = request(
        "INVITE", cseq=5, extra="Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n"
    )
    message = parse_message(raw)
    assert isinstance(message, Request)
    return message


def test_dialog_from_invite_and_bye() -> None:
    invite = _invite()
    dialog = Dialog.from_invite(invite, make_response(invite, 200, to_tag="ours"), local_seq=100)
    assert dialog.id == ("call-1", "ours", "from1")
    assert str(dialog.remote_target) == "sip:alice@127.0.0.1:5070"
    via = Via("UDP", "127.0.0.1", 5060, (("branch", "z9hG4bKbye"),))
    bye = dialog.create_request("BYE", via=via)
    parsed = parse_message(bye.encode())
    assert isinstance(parsed, Request)
    assert parsed.method == "BYE"
    assert str(parsed.uri) == "sip:alice@127.0.0.1:5070"
    assert parsed.from_.tag == "ours"
    assert parsed.to.tag == "from1"
    assert parsed.call_id == "call-1"
    assert (parsed.cseq.number, parsed.cseq.method) == (101, "BYE")
    assert parsed.headers.values("Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert dialog.create_request("BYE", via=via).cseq.number == 102


def test_out_of_order_cseq_is_refused() -> None:
    invite = _invite()
    dialog = Dialog.from_invite(invite, make_response(invite, 200, to_tag="ours"))
    older = parse_message(request("BYE", cseq=4, to_tag="ours"))
    newer = parse_message(request("BYE", cseq=6, to_tag="ours"))
    assert isinstance(older, Request)
    assert isinstance(newer, Request)
    assert not dialog.accepts(older)
    assert dialog.accepts(newer)
    assert dialog.remote_seq == 6
