"""The NG protocol sans-I/O: requests on the wire, replies matched by cookie, the
retransmission schedule (same cookie, then given up), the commands and their replies."""

from __future__ import annotations

import pytest

from dialtone.rtp import ng
from dialtone.rtp.bencode import decode, encode


def test_request_on_the_wire_has_cookie_space_and_sorted_dict() -> None:
    wire = ng.datagram("c1", *ng.ping())
    assert wire == b"c1 d7:command4:pinge"


@pytest.mark.parametrize("cookie", ["", "a b"])
def test_bad_cookies_are_refused(cookie: str) -> None:
    with pytest.raises(ValueError, match="cookie"):
        ng.datagram(cookie, "ping", {})


def test_a_message_too_long_for_a_datagram_is_refused() -> None:
    with pytest.raises(ValueError, match="datagram"):
        ng.datagram("c", *ng.play_media("x", blob=b"\0" * ng.MAX_DATAGRAM))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"d6:result2:oke", "no cookie"),
        (b" d6:result2:oke", "no cookie"),
        (b"c1 d6:result2:ok", "bad bencode"),
        (b"c1 l2:oke", "not a dict"),
        (b"\xff d6:result2:oke", "ASCII"),
    ],
)
def test_bad_replies_are_ng_errors(data: bytes, why: str) -> None:
    with pytest.raises(ng.NgError, match=why):
        ng.parse_reply(data)


def test_error_reply_is_read() -> None:
    reply = ng.parse_reply(b"k d6:result5:error12:error-reason15:Unknown call-ide")
    assert (reply.cookie, reply.ok, reply.result, reply.error) == (
        "k",
        False,
        "error",
        "Unknown call-id",
    )


def test_requests_get_new_cookies_and_replies_match_by_cookie() -> None:
    requests = ng.Requests("p")
    first = requests.new("ping", {}, now=0.0)
    second = requests.new("ping", {}, now=0.0)
    assert first.cookie != second.cookie
    assert first.cookie.startswith("p")
    assert len(requests) == 2
    reply = requests.received(second.cookie.encode() + b" d6:result4:ponge")
    assert reply is not None
    assert reply.cookie == second.cookie
    assert reply.result == "pong"
    # A late duplicate of the same reply, and a stranger's cookie: nothing.
    assert requests.received(second.cookie.encode() + b" d6:result4:ponge") is None
    assert requests.received(b"zzz d6:result4:ponge") is None
    assert len(requests) == 1


def test_retransmission_schedule_reuses_the_cookie_then_gives_up() -> None:
    requests = ng.Requests("p", schedule=(0.5, 1.0, 2.0))
    sent = requests.new("query", {"call-id": "c"}, now=10.0)
    assert requests.next_deadline() == 10.5
    assert requests.due(10.4) == []
    assert requests.due(10.5) == [ng.Resend(sent.cookie, sent.data)]
    assert requests.next_deadline() == 11.5
    assert requests.due(11.5) == [ng.Resend(sent.cookie, sent.data)]
    assert requests.next_deadline() == 13.5
    assert requests.due(13.49) == []
    assert requests.due(13.5) == [ng.Expired(sent.cookie)]
    assert requests.next_deadline() is None
    assert len(requests) == 0
    # A reply after it was given up is not taken for it.
    assert requests.received(sent.cookie.encode() + b" d6:result2:oke") is None


def test_answered_and_forgotten_requests_leave_the_schedule() -> None:
    requests = ng.Requests("p", schedule=(1.0,))
    a = requests.new("ping", {}, now=0.0)
    b = requests.new("ping", {}, now=0.5)
    requests.received(a.cookie.encode() + b" d6:result4:ponge")
    requests.forget(b.cookie)
    assert requests.next_deadline() is None
    assert requests.due(100.0) == []


@pytest.mark.parametrize("schedule", [(), (0.0,), (1.0, -1.0)])
def test_schedule_must_wait(schedule: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="schedule"):
        ng.Requests("p", schedule=schedule)


def test_offer_and_answer_carry_the_media_flags_with_hyphenated_keys() -> None:
    sdp = ng.party_sdp(
        "10.0.0.1", 4000, payload_type=8, codec="PCMA", telephone_event=101, version=2
    )
    command, params = ng.answer("call", "caller", "callee", sdp)
    body = decode(ng.datagram("c", command, params).split(b" ", 1)[1])
    assert isinstance(body, dict)
    assert body[b"command"] == b"answer"
    assert body[b"call-id"] == b"call"
    assert body[b"from-tag"] == b"caller"
    assert body[b"to-tag"] == b"callee"
    assert body[b"flags"] == [b"trust-address", b"port-latching"]
    assert body[b"ICE"] == b"remove"
    assert "m=audio 4000 RTP/AVP 8 101\r\n" in sdp
    assert "c=IN IP4 10.0.0.1\r\n" in sdp
    assert "a=rtpmap:101 telephone-event/8000" in sdp


def test_party_sdp_ipv6_and_without_events() -> None:
    sdp = ng.party_sdp("::1", 9, payload_type=0, codec="PCMU", telephone_event=None, version=1)
    assert "c=IN IP6 ::1\r\n" in sdp
    assert "m=audio 9 RTP/AVP 0\r\n" in sdp
    assert "telephone-event" not in sdp


def test_play_media_names_the_listener_or_everyone() -> None:
    assert ng.play_media("c", file="/p.wav", listener="callee")[1] == {
        "call-id": "c",
        "file": "/p.wav",
        "from-tag": "callee",
    }
    assert ng.play_media("c", blob=b"RIFF")[1]["flags"] == ["all"]
    with pytest.raises(ValueError, match="blob or a file"):
        ng.play_media("c")
    with pytest.raises(ValueError, match="blob or a file"):
        ng.play_media("c", blob=b"x", file="/y")


def test_answered_port_from_the_reply_sdp() -> None:
    sdp = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 31020 RTP/AVP 0\r\n"
    reply = ng.parse_reply(b"k " + encode({"sdp": sdp, "result": "ok"}))
    assert ng.answered_port(reply) == 31020
    with pytest.raises(ng.NgError, match="Unknown"):
        ng.answered_port(ng.parse_reply(b"k d6:result5:error12:error-reason7:Unknowne"))


def test_media_totals_from_a_delete_reply() -> None:
    reply = ng.parse_reply(
        b"k d6:result2:ok6:totalsd3:RTPd7:packetsi100e5:bytesi17200e6:errorsi1ee"
        b"4:RTCPd7:packetsi4eeee"
    )
    assert ng.media_totals(reply) == ng.MediaTotals(100, 17200, 1, 4, 0, 0)
    assert ng.media_totals(ng.parse_reply(b"k d6:result2:oke")) is None
    assert ng.MediaTotals(1, 2, 3, 4, 5, 6) + ng.MediaTotals(1, 1, 1, 1, 1, 1) == ng.MediaTotals(
        2, 3, 4, 5, 6, 7
    )


@pytest.mark.parametrize(
    ("first", "total", "waits"),
    [
        (0.5, 3.0, (0.5, 1.0, 1.5)),
        (0.5, 3.5, (0.5, 1.0, 2.0)),
        (0.5, 0.2, (0.2,)),
        (1.0, 1.0, (1.0,)),
    ],
)
def test_schedule_doubles_and_lands_on_the_total(
    first: float, total: float, waits: tuple[float, ...]
) -> None:
    assert ng.schedule(first, total) == waits


def test_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        ng.schedule(0, 3)


@pytest.mark.parametrize(
    ("request_", "command", "params"),
    [
        (ng.block_media("c"), "block media", {"call-id": "c", "flags": ["all"]}),
        (ng.unblock_media("c"), "unblock media", {"call-id": "c", "flags": ["all"]}),
        (ng.stop_media("c"), "stop media", {"call-id": "c", "flags": ["all"]}),
        (ng.stop_media("c", "callee"), "stop media", {"call-id": "c", "from-tag": "callee"}),
        (ng.delete("c", "caller"), "delete", {"call-id": "c", "from-tag": "caller"}),
        (ng.start_recording("c"), "start recording", {"call-id": "c"}),
        (ng.stop_recording("c"), "stop recording", {"call-id": "c"}),
        (ng.query("c"), "query", {"call-id": "c"}),
    ],
)
def test_commands_and_their_keys(
    request_: tuple[str, dict[str, object]], command: str, params: dict[str, object]
) -> None:
    assert request_ == (command, params)
