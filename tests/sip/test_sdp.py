"""SDP parsing (RFC 4566) and offer/answer (RFC 3264) with the TERMS V1 codec order."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dialtone.sip.errors import SdpParseError
from dialtone.sip.sdp import (
    Bandwidth,
    Connection,
    MediaDescription,
    NegotiatedAudio,
    NoAcceptableMedia,
    Origin,
    RtpMap,
    SessionDescription,
    Timing,
    answer_offer,
    build_offer,
    negotiate_answer,
)


def sdp(*lines: str) -> bytes:
    """CRLF-terminated SDP from its lines."""
    return "".join(f"{line}\r\n" for line in lines).encode()


# What sipp's built-in uac scenario sends.
SIPP_UAC = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
BARESIP = sdp(
    "v=0",
    "o=- 1781318181 2092815208 IN IP4 192.0.2.10",
    "s=-",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "m=audio 10364 RTP/AVP 96 0 8 101",
    "b=AS:128",
    "a=rtpmap:96 opus/48000/2",
    "a=fmtp:96 stereo=1;sprop-stereo=1",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=rtcp-mux",
    "a=ptime:20",
    "a=sendrecv",
    "a=label:1",
    "a=ssrc:2838347446 cname:baresip",
)
LINPHONE_AUDIO_VIDEO = sdp(
    "v=0",
    "o=alice 3394 2405 IN IP4 192.0.2.20",
    "s=Talk",
    "c=IN IP4 192.0.2.20",
    "t=0 0",
    "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
    "m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100",
    "a=rtpmap:96 opus/48000/2",
    "a=fmtp:96 useinbandfec=1",
    "a=rtpmap:97 speex/16000",
    "a=rtpmap:98 speex/8000",
    "a=fmtp:18 annexb=yes",
    "a=rtpmap:101 telephone-event/48000",
    "a=rtpmap:99 telephone-event/16000",
    "a=rtpmap:100 telephone-event/8000",
    "a=rtcp-fb:* trr-int 1000",
    "m=video 9078 RTP/AVP 96 97",
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:97 H264/90000",
    "a=fmtp:97 profile-level-id=42801F",
    "a=rtcp-fb:96 nack pli",
)
VIDEO_FIRST = sdp(
    "v=0",
    "o=alice 1 1 IN IP4 192.0.2.1",
    "s=call",
    "c=IN IP4 192.0.2.1",
    "t=0 0",
    "m=video 51372 RTP/AVP 31",
    "a=rtpmap:31 H261/90000",
    "m=audio 49170 RTP/AVP 0 8",
)
CISCO_G729 = sdp(
    "v=0",
    "o=CiscoSystemsCCM-SIP 2000 1 IN IP4 192.0.2.30",
    "s=SIP Call",
    "c=IN IP4 192.0.2.30",
    "b=TIAS:8000",
    "b=AS:8",
    "t=0 0",
    "m=audio 24580 RTP/AVP 18 101",
    "b=TIAS:8000",
    "a=ptime:20",
    "a=rtpmap:18 G729/8000",
    "a=fmtp:18 annexb=no",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
)
ASTERISK_HOLD = sdp(
    "v=0",
    "o=- 1 2 IN IP4 192.0.2.40",
    "s=Asterisk",
    "c=IN IP4 192.0.2.40",
    "t=0 0",
    "m=audio 14000 RTP/AVP 8 0 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:30",
    "a=maxptime:150",
    "a=sendonly",
)
# RFC 2543 style hold: the connection address zeroed, the direction left alone.
ZERO_HOLD = SIPP_UAC.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0")
IPV6 = sdp(
    "v=0",
    "o=bob 2890844526 2890842807 IN IP6 2001:db8::2",
    "s=-",
    "c=IN IP6 2001:db8::2",
    "t=0 0",
    "m=audio 49170 RTP/AVP 0 8",
)
WEBRTC_SAVPF = sdp(
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
    "c=IN IP4 0.0.0.0",
    "a=rtpmap:111 opus/48000/2",
    "a=fingerprint:sha-256 AA:BB",
    "a=setup:actpass",
)
# RFC 4568 best-effort SRTP: the same audio once secure, once plain.
SRTP_THEN_PLAIN = sdp(
    "v=0",
    "o=- 7 7 IN IP4 192.0.2.50",
    "s=-",
    "c=IN IP4 192.0.2.50",
    "t=0 0",
    "m=audio 5000 RTP/SAVP 0",
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
    "m=audio 5002 RTP/AVP 0",
)
# RFC 4566 §5's own example, plus repeat and time-zone lines from §5.10 and §5.11.
RFC4566_EXAMPLE = sdp(
    "v=0",
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5",
    "s=SDP Seminar",
    "i=A Seminar on the session description protocol",
    "u=http://www.example.com/seminars/sdp.pdf",
    "e=j.doe@example.com (Jane Doe)",
    "p=+1 617 555-6011",
    "c=IN IP4 224.2.17.12/127",
    "b=CT:128",
    "t=2873397496 2873404696",
    "r=604800 3600 0 90000",
    "t=3034423619 3042462419",
    "z=2882844526 -1h 2898848070 0",
    "k=prompt",
    "a=recvonly",
    "m=audio 49170 RTP/AVP 0",
    "i=the voice",
    "c=IN IP4 224.2.17.13/127/3",
    "b=AS:64",
    "k=prompt",
    "a=ptime:40",
    "m=video 51372/2 RTP/AVP 99",
    "a=rtpmap:99 h263-1998/90000",
)
REAL_WORLD = {
    "sipp-uac": SIPP_UAC,
    "baresip": BARESIP,
    "linphone-audio-video": LINPHONE_AUDIO_VIDEO,
    "video-first": VIDEO_FIRST,
    "cisco-g729": CISCO_G729,
    "asterisk-hold": ASTERISK_HOLD,
    "zero-hold": ZERO_HOLD,
    "ipv6": IPV6,
    "webrtc": WEBRTC_SAVPF,
    "srtp-then-plain": SRTP_THEN_PLAIN,
    "rfc4566": RFC4566_EXAMPLE,
}


def answer(offer: bytes | str, **kw: Any) -> tuple[SessionDescription, NegotiatedAudio]:
    options: dict[str, Any] = {
        "local_address": "127.0.0.1",
        "local_port": 20000,
        "session_id": "42",
    }
    options.update(kw)
    return answer_offer(SessionDescription.parse(offer), **options)


# ------------------------------------------------------------------------------ parsing


def test_parse_sipp_uac_field_by_field() -> None:
    parsed = SessionDescription.parse(SIPP_UAC)
    assert parsed.version == 0
    assert parsed.origin == Origin("user1", "53655765", "2353687637", "IN", "IP4", "127.0.0.1")
    assert parsed.session_name == "-"
    assert parsed.connection == Connection("IN", "IP4", "127.0.0.1")
    assert parsed.times == (Timing(0, 0),)
    (audio,) = parsed.media
    assert (audio.media, audio.port, audio.port_count, audio.proto) == (
        "audio",
        6000,
        None,
        "RTP/AVP",
    )
    assert audio.formats == ("0",)
    assert audio.attributes == (("rtpmap", "0 PCMU/8000"),)
    assert audio.rtpmaps() == {0: RtpMap(0, "PCMU", 8000, None)}
    assert (audio.direction, audio.ptime, audio.connection) == ("sendrecv", None, None)


@pytest.mark.parametrize(
    ("name", "media", "formats", "direction", "ptime"),
    [
        ("sipp-uac", ["audio"], [("0",)], ["sendrecv"], [None]),
        ("baresip", ["audio"], [("96", "0", "8", "101")], ["sendrecv"], [20]),
        (
            "linphone-audio-video",
            ["audio", "video"],
            [("96", "97", "98", "0", "8", "18", "101", "99", "100"), ("96", "97")],
            ["sendrecv", "sendrecv"],
            [None, None],
        ),
        ("video-first", ["video", "audio"], [("31",), ("0", "8")], ["sendrecv"] * 2, [None] * 2),
        ("cisco-g729", ["audio"], [("18", "101")], ["sendrecv"], [20]),
        ("asterisk-hold", ["audio"], [("8", "0", "101")], ["sendonly"], [30]),
        ("ipv6", ["audio"], [("0", "8")], ["sendrecv"], [None]),
        ("webrtc", ["audio"], [("111", "0", "8")], ["sendrecv"], [None]),
        ("rfc4566", ["audio", "video"], [("0",), ("99",)], ["sendrecv"] * 2, [40, None]),
    ],
)
def test_parse_real_world(
    name: str,
    media: list[str],
    formats: list[tuple[str, ...]],
    direction: list[str],
    ptime: list[int | None],
) -> None:
    parsed = SessionDescription.parse(REAL_WORLD[name])
    assert [m.media for m in parsed.media] == media
    assert [m.formats for m in parsed.media] == formats
    assert [m.direction for m in parsed.media] == direction
    assert [m.ptime for m in parsed.media] == ptime


def test_parse_baresip_details() -> None:
    (audio,) = SessionDescription.parse(BARESIP).media
    assert audio.bandwidths == (Bandwidth("AS", 128),)
    assert audio.rtpmaps() == {
        96: RtpMap(96, "opus", 48000, 2),
        0: RtpMap(0, "PCMU", 8000),
        8: RtpMap(8, "PCMA", 8000),
        101: RtpMap(101, "telephone-event", 8000),
    }
    assert audio.fmtp(96) == "stereo=1;sprop-stereo=1"
    assert audio.fmtp(101) == "0-15"
    assert audio.fmtp(0) is None
    assert audio.attribute("rtcp-mux") == ""
    assert audio.attribute("ssrc") == "2838347446 cname:baresip"
    assert audio.attribute("nope") is None


def test_parse_rfc4566_example_keeps_every_line() -> None:
    parsed = SessionDescription.parse(RFC4566_EXAMPLE)
    assert parsed.information == "A Seminar on the session description protocol"
    assert parsed.uri == "http://www.example.com/seminars/sdp.pdf"
    assert parsed.emails == ("j.doe@example.com (Jane Doe)",)
    assert parsed.phones == ("+1 617 555-6011",)
    assert parsed.connection == Connection("IN", "IP4", "224.2.17.12/127")
    assert parsed.connection.host == "224.2.17.12"
    assert parsed.bandwidths == (Bandwidth("CT", 128),)
    assert parsed.times == (
        Timing(2873397496, 2873404696, ("604800 3600 0 90000",)),
        Timing(3034423619, 3042462419),
    )
    assert parsed.time_zones == "2882844526 -1h 2898848070 0"
    assert parsed.key == "prompt"
    assert parsed.attributes == (("recvonly", None),)
    audio, video = parsed.media
    assert audio.information == "the voice"
    assert audio.connection == Connection("IN", "IP4", "224.2.17.13/127/3")
    assert (audio.bandwidths, audio.key) == ((Bandwidth("AS", 64),), "prompt")
    assert (video.port, video.port_count) == (51372, 2)
    # The session-level recvonly applies to streams without their own direction.
    assert audio.direction == "sendrecv"
    assert parsed.direction_for(audio) == "recvonly"


@pytest.mark.parametrize(
    ("formats", "lines", "expected"),
    [
        # Static types need no rtpmap (RFC 3551).
        (
            "0 3 8 9 18",
            [],
            {
                0: ("PCMU", 8000),
                3: ("GSM", 8000),
                8: ("PCMA", 8000),
                9: ("G722", 8000),
                18: ("G729", 8000),
            },
        ),
        # An rtpmap line wins over the static table, and encoding names keep their case.
        ("0", ["a=rtpmap:0 pcma/8000"], {0: ("pcma", 8000)}),
        # Dynamic types exist only with an rtpmap line; unlisted rtpmaps are ignored.
        ("97 98", ["a=rtpmap:97 PCMA/8000", "a=rtpmap:99 PCMU/8000"], {97: ("PCMA", 8000)}),
        # Malformed rtpmap lines are skipped, not fatal.
        (
            "96 97 98 99",
            ["a=rtpmap:96", "a=rtpmap:97 x/y", "a=rtpmap:98 /8000", "a=rtpmap:99 L16/8000/0"],
            {},
        ),
        # The first rtpmap for a payload type counts.
        ("96", ["a=rtpmap:96 PCMU/8000", "a=rtpmap:96 PCMA/8000"], {96: ("PCMU", 8000)}),
    ],
)
def test_rtpmaps(formats: str, lines: list[str], expected: dict[int, tuple[str, int]]) -> None:
    parsed = SessionDescription.parse(
        sdp("v=0", "o=a 1 1 IN IP4 192.0.2.1", "s=-", f"m=audio 1 RTP/AVP {formats}", *lines)
    )
    maps = parsed.media[0].rtpmaps()
    assert {pt: (m.encoding, m.clock_rate) for pt, m in maps.items()} == expected


@pytest.mark.parametrize(
    ("line", "ptime"),
    [("a=ptime:20", 20), ("a=ptime: 30 ", 30), ("a=ptime:0", None), ("a=ptime:x", None)],
)
def test_ptime(line: str, ptime: int | None) -> None:
    parsed = SessionDescription.parse(SIPP_UAC + line.encode() + b"\r\n")
    assert parsed.media[0].ptime == ptime


@pytest.mark.parametrize(
    ("text", "check"),
    [
        pytest.param(SIPP_UAC.replace(b"\r\n", b"\n"), "PCMU", id="lf-only"),
        pytest.param(SIPP_UAC.replace(b"\r\n", b"\r"), "PCMU", id="cr-only"),
        pytest.param(SIPP_UAC.replace(b"\r\n", b"\n", 3), "PCMU", id="mixed-endings"),
        pytest.param(SIPP_UAC + b"\r\n \r\n\t\r\n\r\n", "PCMU", id="trailing-blank-lines"),
        pytest.param(b"\r\n" + SIPP_UAC, "PCMU", id="leading-blank-line"),
        pytest.param(SIPP_UAC[:-2], "PCMU", id="no-final-line-break"),
        pytest.param("\ufeff".encode() + SIPP_UAC, "PCMU", id="byte-order-mark"),
        pytest.param(SIPP_UAC.replace(b"t=0 0\r\n", b""), "PCMU", id="no-t-line"),
        pytest.param(SIPP_UAC + b"y=0123456789\r\nf=v/2/25\r\n", "PCMU", id="private-letters"),
        pytest.param(SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP  0  "), "PCMU", id="spaces-m"),
        pytest.param(SIPP_UAC + b"a=sendonly \t\r\n", "recvonly", id="trailing-space-attr"),
        pytest.param(SIPP_UAC.replace(b"PCMU", b"pcmu"), "PCMU", id="lower-case-codec"),
        pytest.param(SIPP_UAC.decode(), "PCMU", id="text-input"),
        pytest.param(bytearray(SIPP_UAC), "PCMU", id="bytearray-input"),
    ],
)
def test_liberal_inputs(text: bytes | str, check: str) -> None:
    _, audio = answer(text)
    assert check in (audio.codec, audio.direction)


def test_empty_session_name_reads_as_dash() -> None:
    parsed = SessionDescription.parse(SIPP_UAC.replace(b"s=-", b"s="))
    assert parsed.session_name == "-"
    assert SessionDescription.parse(SIPP_UAC.replace(b"s=-", b"s= ")).session_name == " "


HEAD = "v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "empty SDP", id="empty"),
        pytest.param("\r\n \r\n\t", "empty SDP", id="blank"),
        pytest.param("o=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", "missing v=", id="no-v"),
        pytest.param("v=0\r\ns=-\r\n", "missing o=", id="no-o"),
        pytest.param("v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\n", "missing s=", id="no-s"),
        pytest.param("v=0\r\n", "missing o=", id="only-v"),
        pytest.param("v=1\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", "version", id="v1"),
        pytest.param("v=0\r\no=a 1 IN IP4 1.2.3.4\r\ns=-\r\n", "6 fields", id="o-5-fields"),
        pytest.param(HEAD + "o=b 2 2 IN IP4 1.2.3.4\r\n", "second o=", id="two-o"),
        pytest.param(HEAD + "v=0\r\n", "second v=", id="two-v"),
        pytest.param(HEAD + "c=IN IP9 x\r\n", "address type", id="c-ip9"),
        pytest.param(HEAD + "c=ATM NSAP 47\r\n", "network type", id="c-atm"),
        pytest.param(HEAD + "c=IN IP4\r\n", "3 fields", id="c-2-fields"),
        pytest.param(HEAD + "c=IN IP4 1.2.3.4 x\r\n", "3 fields", id="c-4-fields"),
        pytest.param(HEAD + "c=IN IP4 999.1.1.1\r\n", "bad IP4 address", id="c-bad-ip4"),
        pytest.param(HEAD + "c=IN IP4 ::1\r\n", "bad IP4 address", id="c-ip6-as-ip4"),
        pytest.param(HEAD + "c=IN IP6 127.0.0.1\r\n", "bad IP6 address", id="c-ip4-as-ip6"),
        pytest.param(HEAD + "c=IN IP6 2001:db8::zz\r\n", "bad IP6 address", id="c-bad-ip6"),
        pytest.param(HEAD + "c=IN IP4 bad_host\r\n", "bad IP4 address", id="c-bad-host"),
        pytest.param(HEAD + "c=IN IP4 1.2.3.4/x\r\n", "multicast", id="c-bad-ttl"),
        pytest.param(HEAD + "c=IN IP6 ff15::1/1/2\r\n", "multicast", id="c-ip6-ttl"),
        pytest.param(HEAD + "c=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n", "second c=", id="two-c"),
        pytest.param(HEAD + "m=audio\r\n", "bad m= line", id="m-1-field"),
        pytest.param(HEAD + "m=audio 6000\r\n", "bad m= line", id="m-2-fields"),
        pytest.param(HEAD + "m=audio x RTP/AVP 0\r\n", "bad port", id="m-port-x"),
        pytest.param(HEAD + "m=audio -1 RTP/AVP 0\r\n", "bad port", id="m-port-negative"),
        pytest.param(HEAD + "m=audio 70000 RTP/AVP 0\r\n", "bad port", id="m-port-big"),
        pytest.param(HEAD + "m=audio ²000 RTP/AVP 0\r\n", "bad port", id="m-port-superscript"),
        pytest.param(HEAD + "m=audio " + "9" * 5000 + " RTP/AVP 0\r\n", "bad port", id="m-huge"),
        pytest.param(HEAD + "m=audio 6000/0 RTP/AVP 0\r\n", "port count", id="m-count-0"),
        pytest.param(HEAD + "m=audio 6000/ RTP/AVP 0\r\n", "port count", id="m-count-empty"),
        pytest.param(HEAD + "m=audio 6000 RTP/AVP PCMU\r\n", "payload type", id="m-pt-name"),
        pytest.param(HEAD + "m=audio 6000 RTP/AVP 128\r\n", "payload type", id="m-pt-128"),
        pytest.param(HEAD + "m=audio 6000 RTP//AVP 0\r\n", "protocol", id="m-bad-proto"),
        pytest.param(HEAD + "m=aud(io 6000 RTP/AVP 0\r\n", "media type", id="m-bad-media"),
        pytest.param(HEAD + "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", "after the first m=", id="t-in-m"),
        pytest.param(
            HEAD + "m=audio 1 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.5\r\n",
            "second c=",
            id="two-c-in-m",
        ),
        pytest.param(HEAD + "t=now 0\r\n", "bad t=", id="t-word"),
        pytest.param(HEAD + "t=0\r\n", "bad t=", id="t-1-field"),
        pytest.param(HEAD + "r=1 2 3\r\nt=0 0\r\n", "r= line before", id="r-first"),
        pytest.param(HEAD + "b=AS\r\n", "bad b=", id="b-no-colon"),
        pytest.param(HEAD + "b=AS:fast\r\n", "bad b=", id="b-word"),
        pytest.param(HEAD + "this is not sdp\r\n", "not an SDP line", id="prose"),
        pytest.param(HEAD + "V=0\r\n", "not an SDP line", id="upper-case"),
        pytest.param(HEAD + "é=0\r\n", "not an SDP line", id="non-ascii-letter"),
        pytest.param(HEAD + "a=\r\n", "attribute name", id="a-empty"),
        pytest.param(HEAD + "a=:x\r\n", "attribute name", id="a-no-name"),
        pytest.param(HEAD + "a=tool:x\x00y\r\n", "forbidden", id="nul"),
        pytest.param(HEAD + "a=tool:\ud800\r\n", "forbidden", id="lone-surrogate"),
    ],
)
def test_malformed(text: str, message: str) -> None:
    with pytest.raises(SdpParseError, match=re.escape(message)):
        SessionDescription.parse(text)


@pytest.mark.parametrize(
    "data",
    [
        b"v=0\r\no=\xff\xfe 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",
        b"\xc3",
        None,
        42,
        ["v=0"],
    ],
)
def test_not_sdp_at_all(data: object) -> None:
    with pytest.raises(SdpParseError):
        SessionDescription.parse(data)  # type: ignore[arg-type]


def test_error_names_the_line() -> None:
    with pytest.raises(SdpParseError, match=r"line 6: bad port"):
        SessionDescription.parse(SIPP_UAC.replace(b"6000", b"60x0"))


# ------------------------------------------------------------------ serialize, round trip


@pytest.mark.parametrize("name", sorted(REAL_WORLD))
def test_round_trip_real_world(name: str) -> None:
    parsed = SessionDescription.parse(REAL_WORLD[name])
    assert SessionDescription.parse(bytes(parsed)) == parsed
    assert SessionDescription.parse(parsed.serialize().decode()) == parsed


@pytest.mark.parametrize("name", ["sipp-uac", "baresip", "linphone-audio-video", "rfc4566"])
def test_canonical_sdp_is_written_back_byte_for_byte(name: str) -> None:
    assert SessionDescription.parse(REAL_WORLD[name]).serialize() == REAL_WORLD[name]


def test_serialize_uses_rfc4566_order() -> None:
    scrambled = (
        "v=0\no=a 1 1 IN IP4 192.0.2.1\nk=clear:x\na=tool:t\nt=0 0\nr=1 2 3\nb=AS:1\n"
        "c=IN IP4 192.0.2.1\np=+1\ne=a@b\nu=http://x\ni=info\ns=name\nz=1 0\n"
        "m=audio 1 RTP/AVP 0\na=sendonly\nk=prompt\nb=AS:2\nc=IN IP4 192.0.2.2\ni=voice\n"
    )
    assert SessionDescription.parse(scrambled).serialize() == sdp(
        "v=0",
        "o=a 1 1 IN IP4 192.0.2.1",
        "s=name",
        "i=info",
        "u=http://x",
        "e=a@b",
        "p=+1",
        "c=IN IP4 192.0.2.1",
        "b=AS:1",
        "t=0 0",
        "r=1 2 3",
        "z=1 0",
        "k=clear:x",
        "a=tool:t",
        "m=audio 1 RTP/AVP 0",
        "i=voice",
        "c=IN IP4 192.0.2.2",
        "b=AS:2",
        "k=prompt",
        "a=sendonly",
    )


BASE = SessionDescription.parse(SIPP_UAC)
AUDIO = BASE.media[0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"session_name": "x\r\na=evil"}, "session name", id="name-injection"),
        pytest.param({"session_name": ""}, "session name", id="empty-name"),
        pytest.param({"version": 1}, "version", id="version"),
        pytest.param({"times": ()}, "t= line", id="no-times"),
        pytest.param({"times": (Timing(-1, 0),)}, "out of range", id="negative-time"),
        pytest.param({"information": "a\nb"}, "information", id="info-newline"),
        pytest.param(
            {"origin": Origin("two words", "1", "1", "IN", "IP4", "192.0.2.1")},
            "o= fields",
            id="origin-space",
        ),
        pytest.param(
            {"connection": Connection("IN", "IP4", "192.0.2.1 6")}, "c= line", id="conn-space"
        ),
        pytest.param({"attributes": (("a:b", None),)}, "attribute name", id="attr-colon"),
        pytest.param({"attributes": ((" x", None),)}, "attribute name", id="attr-space"),
        pytest.param({"attributes": (("x", "1\n2"),)}, "attribute", id="attr-newline"),
        pytest.param({"bandwidths": (Bandwidth("A S", 1),)}, "bandwidth", id="bw-type"),
        pytest.param({"media": (dataclasses.replace(AUDIO, port=70000),)}, "port", id="media-port"),
        pytest.param(
            {"media": (dataclasses.replace(AUDIO, formats=("PCMU",)),)},
            "payload type",
            id="media-format",
        ),
        pytest.param(
            {"media": (dataclasses.replace(AUDIO, attributes=(("x", "\r"),)),)},
            "attribute",
            id="media-attr",
        ),
    ],
)
def test_serialize_refuses_what_it_could_not_read_back(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(BASE, **changes).serialize()


# --------------------------------------------------------------------- answering offers


@pytest.mark.parametrize(
    ("offer", "kw", "expected"),
    [
        pytest.param(
            SIPP_UAC,
            {},
            NegotiatedAudio("127.0.0.1", 6000, "PCMU", 0, 8000, 20, "sendrecv", None),
            id="sipp-only-pcmu",
        ),
        pytest.param(
            BARESIP,
            {},
            NegotiatedAudio("192.0.2.10", 10364, "PCMA", 8, 8000, 20, "sendrecv", 101),
            id="baresip-pcmu-first-we-take-pcma",
        ),
        pytest.param(
            BARESIP,
            {"preference": ("PCMU", "PCMA")},
            NegotiatedAudio("192.0.2.10", 10364, "PCMU", 0, 8000, 20, "sendrecv", 101),
            id="custom-preference",
        ),
        pytest.param(
            BARESIP,
            {"preference": ["pcmu"]},
            NegotiatedAudio("192.0.2.10", 10364, "PCMU", 0, 8000, 20, "sendrecv", 101),
            id="preference-any-case",
        ),
        pytest.param(
            LINPHONE_AUDIO_VIDEO,
            {},
            NegotiatedAudio("192.0.2.20", 7078, "PCMA", 8, 8000, 20, "sendrecv", 100),
            id="linphone-event-at-8k",
        ),
        pytest.param(
            VIDEO_FIRST,
            {},
            NegotiatedAudio("192.0.2.1", 49170, "PCMA", 8, 8000, 20, "sendrecv", None),
            id="video-first",
        ),
        pytest.param(
            ASTERISK_HOLD,
            {},
            NegotiatedAudio("192.0.2.40", 14000, "PCMA", 8, 8000, 30, "recvonly", 101),
            id="hold-sendonly",
        ),
        pytest.param(
            ZERO_HOLD,
            {},
            NegotiatedAudio("0.0.0.0", 6000, "PCMU", 0, 8000, 20, "sendrecv", None),
            id="hold-zero-address",
        ),
        pytest.param(
            IPV6,
            {"local_address": "2001:db8::1"},
            NegotiatedAudio("2001:db8::2", 49170, "PCMA", 8, 8000, 20, "sendrecv", None),
            id="ipv6",
        ),
        pytest.param(
            SRTP_THEN_PLAIN,
            {},
            NegotiatedAudio("192.0.2.50", 5002, "PCMU", 0, 8000, 20, "sendrecv", None),
            id="srtp-skipped-plain-taken",
        ),
        pytest.param(
            SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 97").replace(b":0 PCMU", b":97 PCMA"),
            {},
            NegotiatedAudio("127.0.0.1", 6000, "PCMA", 97, 8000, 20, "sendrecv", None),
            id="dynamic-pt",
        ),
        pytest.param(
            SIPP_UAC.replace(b"RTP/AVP", b"RTP/AVPF"),
            {},
            NegotiatedAudio("127.0.0.1", 6000, "PCMU", 0, 8000, 20, "sendrecv", None),
            id="avpf",
        ),
        pytest.param(
            SIPP_UAC + b"c=IN IP4 192.0.2.99\r\n",
            {},
            NegotiatedAudio("192.0.2.99", 6000, "PCMU", 0, 8000, 20, "sendrecv", None),
            id="media-c-wins",
        ),
        pytest.param(
            SIPP_UAC.replace(b"c=IN IP4 127.0.0.1\r\n", b"") + b"c=IN IP4 192.0.2.99\r\n",
            {},
            NegotiatedAudio("192.0.2.99", 6000, "PCMU", 0, 8000, 20, "sendrecv", None),
            id="media-c-only",
        ),
        pytest.param(
            SIPP_UAC.replace(b"t=0 0\r\n", b"t=0 0\r\na=inactive\r\n"),
            {},
            NegotiatedAudio("127.0.0.1", 6000, "PCMU", 0, 8000, 20, "inactive", None),
            id="session-level-direction",
        ),
    ],
)
def test_answer_offer(offer: bytes, kw: dict[str, Any], expected: NegotiatedAudio) -> None:
    reply, audio = answer(offer, **kw)
    assert audio == expected
    accepted = [m for m in reply.media if m.port != 0]
    assert len(accepted) == 1
    assert accepted[0].port == 20000
    formats = (str(expected.payload_type),)
    if expected.telephone_event_payload_type is not None:
        formats += (str(expected.telephone_event_payload_type),)
    assert accepted[0].formats == formats
    assert accepted[0].rtpmaps()[expected.payload_type].encoding == expected.codec
    assert reply.direction_for(accepted[0]) == expected.direction
    assert SessionDescription.parse(bytes(reply)) == reply


def test_answer_to_sipp_byte_for_byte() -> None:
    reply, _ = answer(SIPP_UAC)
    assert bytes(reply) == sdp(
        "v=0",
        "o=dialtone 42 1 IN IP4 127.0.0.1",
        "s=dialtone",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 20000 RTP/AVP 0",
        "a=rtpmap:0 PCMU/8000",
        "a=sendrecv",
    )


def test_answer_to_baresip_echoes_events_and_ptime() -> None:
    reply, _ = answer(
        BARESIP, session_version="3", username="pbx", session_name="office", local_port=30000
    )
    assert bytes(reply) == sdp(
        "v=0",
        "o=pbx 42 3 IN IP4 127.0.0.1",
        "s=office",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 30000 RTP/AVP 8 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
    )


def test_answer_keeps_every_m_line_in_order() -> None:
    reply, _ = answer(LINPHONE_AUDIO_VIDEO)
    audio, video = reply.media
    assert (audio.media, audio.port, audio.formats) == ("audio", 20000, ("8", "100"))
    assert (video.media, video.port, video.proto, video.formats) == (
        "video",
        0,
        "RTP/AVP",
        ("96",),
    )
    reply, _ = answer(SRTP_THEN_PLAIN)
    assert [(m.port, m.proto, m.formats) for m in reply.media] == [
        (0, "RTP/SAVP", ("0",)),
        (20000, "RTP/AVP", ("0",)),
    ]


def test_second_usable_audio_stream_is_rejected() -> None:
    reply, audio = answer(SIPP_UAC + b"m=audio 6002 RTP/AVP 8\r\n")
    assert audio.remote_port == 6000
    assert [m.port for m in reply.media] == [20000, 0]


def test_ipv6_answer() -> None:
    reply, _ = answer(IPV6, local_address="2001:db8::1")
    assert reply.connection == Connection("IN", "IP6", "2001:db8::1")
    assert reply.origin.addr_type == "IP6"
    assert b"c=IN IP6 2001:db8::1\r\n" in bytes(reply)


@pytest.mark.parametrize(
    ("offer_direction", "our_direction"),
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_direction(offer_direction: str, our_direction: str) -> None:
    reply, audio = answer(SIPP_UAC + f"a={offer_direction}\r\n".encode())
    assert audio.direction == our_direction
    assert reply.media[0].direction == our_direction


@pytest.mark.parametrize(
    ("offer", "reason"),
    [
        pytest.param(CISCO_G729, "no common codec (offered G729/8000", id="g729-only"),
        pytest.param(WEBRTC_SAVPF, "UDP/TLS/RTP/SAVPF is not supported", id="webrtc"),
        pytest.param(SIPP_UAC.replace(b"RTP/AVP", b"RTP/SAVP"), "RTP/SAVP", id="savp"),
        pytest.param(SIPP_UAC.replace(b"m=audio", b"m=video"), "no audio stream", id="video"),
        pytest.param(
            SIPP_UAC.replace(b"m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", b""),
            "no audio stream",
            id="no-media",
        ),
        pytest.param(
            SIPP_UAC.replace(b"c=IN IP4 127.0.0.1\r\n", b""), "no c= line", id="no-address"
        ),
        pytest.param(SIPP_UAC.replace(b"m=audio 6000", b"m=audio 0"), "port 0", id="port-0"),
        pytest.param(SIPP_UAC.replace(b"PCMU/8000", b"PCMU/16000"), "common codec", id="16k"),
        pytest.param(SIPP_UAC.replace(b"PCMU/8000", b"PCMU/8000/2"), "common codec", id="stereo"),
        pytest.param(
            SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 96").replace(b":0 PCMU", b":97 PCMU"),
            "common codec",
            id="rtpmap-for-unlisted-pt",
        ),
    ],
)
def test_unacceptable_offers(offer: bytes, reason: str) -> None:
    with pytest.raises(NoAcceptableMedia) as info:
        answer(offer)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_preference_excluding_the_only_offered_codec() -> None:
    with pytest.raises(NoAcceptableMedia, match="we take PCMA"):
        answer(SIPP_UAC, preference=("PCMA",))


@pytest.mark.parametrize(
    "kw",
    [
        {"preference": ("opus", "PCMA")},
        {"preference": ()},
        {"preference": ("PCMA", "pcma")},
        {"local_port": 0},
        {"local_port": 65536},
        {"local_address": "not an address"},
        {"session_id": "4 2"},
    ],
)
def test_answer_offer_rejects_bad_arguments(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        answer(SIPP_UAC, **kw)


# ------------------------------------------------------------------- making offers


def test_build_offer() -> None:
    offer = build_offer(local_address="192.0.2.5", local_port=20010, session_id="7")
    assert bytes(offer) == sdp(
        "v=0",
        "o=dialtone 7 1 IN IP4 192.0.2.5",
        "s=dialtone",
        "c=IN IP4 192.0.2.5",
        "t=0 0",
        "m=audio 20010 RTP/AVP 8 0 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=sendrecv",
    )


@pytest.mark.parametrize(
    ("kw", "formats", "direction", "addr_type"),
    [
        ({"codecs": ("PCMU",), "telephone_event": None}, ("0",), "sendrecv", "IP4"),
        ({"codecs": ["pcmu", "pcma"], "telephone_event": 96}, ("0", "8", "96"), "sendrecv", "IP4"),
        ({"direction": "sendonly", "local_address": "::1"}, ("8", "0", "101"), "sendonly", "IP6"),
    ],
)
def test_build_offer_options(
    kw: dict[str, Any], formats: tuple[str, ...], direction: str, addr_type: str
) -> None:
    options: dict[str, Any] = {"local_address": "192.0.2.5", "local_port": 20010, "session_id": "7"}
    options.update(kw)
    offer = build_offer(**options)
    assert offer.media[0].formats == formats
    assert offer.media[0].direction == direction
    assert offer.connection is not None
    assert offer.connection.addr_type == addr_type
    assert SessionDescription.parse(bytes(offer)) == offer


@pytest.mark.parametrize(
    "kw",
    [
        {"codecs": ("G729",)},
        {"codecs": ()},
        {"telephone_event": 8},
        {"telephone_event": 128},
        {"direction": "both"},
        {"ptime": 0},
        {"local_port": 0},
        {"session_id": ""},
    ],
)
def test_build_offer_rejects_bad_arguments(kw: dict[str, Any]) -> None:
    options: dict[str, Any] = {"local_address": "192.0.2.5", "local_port": 20010, "session_id": "7"}
    options.update(kw)
    with pytest.raises(ValueError, match=r"."):
        build_offer(**options)


def test_offer_answered_by_our_own_answerer() -> None:
    offer = build_offer(local_address="127.0.0.1", local_port=20010, session_id="7")
    reply, theirs = answer_offer(
        SessionDescription.parse(bytes(offer)),
        local_address="127.0.0.2",
        local_port=30000,
        session_id="9",
    )
    assert (theirs.remote_address, theirs.remote_port, theirs.codec) == ("127.0.0.1", 20010, "PCMA")
    ours = negotiate_answer(offer, SessionDescription.parse(bytes(reply)))
    assert ours == NegotiatedAudio("127.0.0.2", 30000, "PCMA", 8, 8000, 20, "sendrecv", 101)


OUR_OFFER = build_offer(local_address="192.0.2.5", local_port=20010, session_id="7")


def their_answer(*media_lines: str, session_c: str = "c=IN IP4 192.0.2.9") -> SessionDescription:
    head = ["v=0", "o=b 1 1 IN IP4 192.0.2.9", "s=-"] + ([session_c] if session_c else [])
    return SessionDescription.parse(sdp(*head, "t=0 0", *media_lines))


@pytest.mark.parametrize(
    ("answer_lines", "expected"),
    [
        pytest.param(
            ["m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:30"],
            NegotiatedAudio("192.0.2.9", 4000, "PCMU", 0, 8000, 30, "sendrecv", 101),
            id="pcmu-with-events",
        ),
        pytest.param(
            ["m=audio 4000 RTP/AVP 8"],
            NegotiatedAudio("192.0.2.9", 4000, "PCMA", 8, 8000, 20, "sendrecv", None),
            id="pcma-no-events",
        ),
        pytest.param(
            ["m=audio 4000 RTP/AVP 8 0", "a=recvonly"],
            NegotiatedAudio("192.0.2.9", 4000, "PCMA", 8, 8000, 20, "sendonly", None),
            id="they-only-receive",
        ),
        pytest.param(
            ["m=audio 4000 RTP/AVP 0 8", "c=IN IP6 2001:db8::9", "a=inactive"],
            NegotiatedAudio("2001:db8::9", 4000, "PCMU", 0, 8000, 20, "inactive", None),
            id="inactive-ipv6",
        ),
    ],
)
def test_negotiate_answer(answer_lines: list[str], expected: NegotiatedAudio) -> None:
    assert negotiate_answer(OUR_OFFER, their_answer(*answer_lines)) == expected


def test_negotiate_answer_narrows_to_what_we_offered() -> None:
    on_hold = build_offer(
        local_address="192.0.2.5", local_port=20010, session_id="7", direction="sendonly"
    )
    # A sloppy answerer says sendrecv to our sendonly: we still only send.
    audio = negotiate_answer(on_hold, their_answer("m=audio 4000 RTP/AVP 8", "a=sendrecv"))
    assert audio.direction == "sendonly"


@pytest.mark.parametrize(
    ("answer_sdp", "reason"),
    [
        pytest.param(their_answer("m=audio 0 RTP/AVP 8"), "rejected", id="port-0"),
        pytest.param(their_answer("m=audio 4000 RTP/AVP 18"), "no codec we offered", id="g729"),
        pytest.param(
            their_answer("m=audio 4000 RTP/AVP 8", session_c=""), "no c= line", id="no-address"
        ),
        pytest.param(their_answer("m=audio 4000 RTP/SAVP 8"), "answered as", id="other-proto"),
        pytest.param(
            their_answer("m=audio 4000 RTP/AVP 8", "m=video 0 RTP/AVP 31"), "m= lines", id="count"
        ),
        pytest.param(their_answer(), "m= lines", id="no-media"),
    ],
)
def test_negotiate_answer_rejections(answer_sdp: SessionDescription, reason: str) -> None:
    with pytest.raises(NoAcceptableMedia, match=reason):
        negotiate_answer(OUR_OFFER, answer_sdp)


# ------------------------------------------------------------------------- properties

_SDP_LINES = sorted(
    {line for text in REAL_WORLD.values() for line in text.decode().splitlines() if line}
)
_SEPARATORS = st.sampled_from(["\r\n", "\n", "\r", "\r\n\r\n", " \n"])


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=500))
def test_parse_arbitrary_bytes_raises_only_sdp_parse_error(data: bytes) -> None:
    try:
        parsed = SessionDescription.parse(data)
    except SdpParseError:
        return
    # Whatever parses can be written back (serialize raises ValueError otherwise).
    assert SessionDescription.parse(parsed.serialize()) == parsed


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_parse_arbitrary_text_raises_only_sdp_parse_error(text: str) -> None:
    try:
        parsed = SessionDescription.parse(text)
    except SdpParseError:
        return
    assert SessionDescription.parse(parsed.serialize()) == parsed


def _mutated_line() -> st.SearchStrategy[str]:
    letters = st.sampled_from("vosiuepcbtrzkamy")
    return st.one_of(
        st.sampled_from(_SDP_LINES),
        st.builds(lambda k, v: f"{k}={v}", letters, st.text(max_size=30)),
        st.builds(
            lambda line, i, junk: line[:i] + junk + line[i:],
            st.sampled_from(_SDP_LINES),
            st.integers(0, 40),
            st.text(max_size=4),
        ),
    )


@st.composite
def _mutated_sdp(draw: st.DrawFn) -> str:
    """A real-world SDP with a few lines inserted, replaced or dropped."""
    lines = draw(st.sampled_from(sorted(REAL_WORLD.values()))).decode().splitlines()
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["insert", "replace", "drop"]))
        if action == "insert":
            lines.insert(where, draw(_mutated_line()))
        elif lines:
            where = min(where, len(lines) - 1)
            if action == "replace":
                lines[where] = draw(_mutated_line())
            else:
                del lines[where]
    separators = draw(st.lists(_SEPARATORS, min_size=1, max_size=3))
    return "".join(line + separators[i % len(separators)] for i, line in enumerate(lines))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_sdp())
def test_whatever_parses_writes_back_equal_and_answers_cleanly(text: str) -> None:
    try:
        parsed = SessionDescription.parse(text)
    except SdpParseError:
        event("refused")
        return
    written = parsed.serialize()
    assert SessionDescription.parse(written) == parsed
    assert SessionDescription.parse(written).serialize() == written
    try:
        reply, audio = answer_offer(
            parsed, local_address="192.0.2.1", local_port=20000, session_id="1"
        )
    except NoAcceptableMedia as exc:
        reason = exc.reason
    else:
        event("answered")
        assert len(reply.media) == len(parsed.media)
        assert SessionDescription.parse(bytes(reply)) == reply
        assert audio.codec in ("PCMA", "PCMU")
        return
    event("no acceptable media")
    assert reason


_TOKEN_CHARS = "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz{|}~"
_tokens = st.text(_TOKEN_CHARS, min_size=1, max_size=8)
_texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12
)
# Categories Cc, Zs, Zl and Zp hold every character str.split() splits on.
_words = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8
).filter(lambda s: s.split() == [s])
_names = _words.filter(lambda s: ":" not in s)
_uints = st.integers(0, 10**20 - 1)
_attributes = st.lists(
    st.tuples(
        _names | st.builds(lambda a, b: f"{a} {b}", _names, _names),
        st.none() | _texts,
    ),
    max_size=4,
).map(tuple)
_bandwidths = st.lists(st.builds(Bandwidth, _tokens, _uints), max_size=2).map(tuple)
_connections = st.one_of(
    st.ip_addresses(v=4).map(lambda a: Connection("IN", "IP4", str(a))),
    st.ip_addresses(v=6).map(lambda a: Connection("IN", "IP6", str(a))),
    st.sampled_from(
        [
            Connection("IN", "IP4", "224.2.1.1/127/3"),
            Connection("IN", "IP4", "pbx.example.com"),
            Connection("IN", "IP6", "ff15::101/3"),
        ]
    ),
)


@st.composite
def _media(draw: st.DrawFn) -> MediaDescription:
    proto = draw(st.sampled_from(["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "udp", "TCP/MSRP"]))
    if "RTP/" in proto:
        formats = draw(st.lists(st.integers(0, 127).map(str), max_size=5))
    else:
        formats = draw(st.lists(_tokens, max_size=3))
    return MediaDescription(
        media=draw(st.sampled_from(["audio", "video", "application"]) | _tokens),
        port=draw(st.integers(0, 65535)),
        port_count=draw(st.none() | st.integers(1, 65535)),
        proto=proto,
        formats=tuple(formats),
        information=draw(st.none() | _texts),
        connection=draw(st.none() | _connections),
        bandwidths=draw(_bandwidths),
        key=draw(st.none() | _texts),
        attributes=draw(_attributes),
    )


_sessions = st.builds(
    SessionDescription,
    origin=st.builds(Origin, _words, _words, _words, _words, _words, _words),
    session_name=_texts.filter(bool),
    information=st.none() | _texts,
    uri=st.none() | _texts,
    emails=st.lists(_texts, max_size=2).map(tuple),
    phones=st.lists(_texts, max_size=2).map(tuple),
    connection=st.none() | _connections,
    bandwidths=_bandwidths,
    times=st.lists(
        st.builds(Timing, _uints, _uints, st.lists(_texts, max_size=2).map(tuple)),
        min_size=1,
        max_size=3,
    ).map(tuple),
    time_zones=st.none() | _texts,
    key=st.none() | _texts,
    attributes=_attributes,
    media=st.lists(_media(), max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(_sessions)
def test_generated_descriptions_round_trip(description: SessionDescription) -> None:
    written = description.serialize()
    assert SessionDescription.parse(written) == description
    assert SessionDescription.parse(written.decode()) == description
