"""SDP parsing (RFC 4566) and offer/answer (RFC 3264) with the TERMS V1 codec order."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.sip.errors import SdpParseError
from dialtone.sip.sdp import (
    NoAcceptableMedia,
    SessionDescription,
    answer_offer,
    build_offer,
    negotiate_answer,
)

SIPP_UAC = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
BARESIP = (
    "v=0\r\no=- 1781318181 2092815208 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\nm=audio 10364 RTP/AVP 96 0 8 101\r\nb=AS:128\r\na=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp-mux\r\na=ptime:20\r\n"
    "a=sendrecv\r\n"
)
AUDIO_VIDEO = (
    "v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=call\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    "m=video 51372 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n"
    "m=audio 49170 RTP/AVP 0 8\r\n"
)


def answer(offer: str | bytes, **kw: object) -> tuple[SessionDescription, object]:
    return answer_offer(
        SessionDescription.parse(offer),
        local_address="127.0.0.1",
        local_port=20000,
        session_id="42",
        **kw,  # type: ignore[arg-type]
    )


def test_sipp_offer_gets_pcmu() -> None:
    sdp, audio = answer(SIPP_UAC)
    assert audio.codec == "PCMU"
    assert (audio.remote_address, audio.remote_port, audio.payload_type) == ("127.0.0.1", 6000, 0)
    assert audio.ptime == 20
    assert sdp.media[0].formats == ("0",)
    assert sdp.media[0].port == 20000
    assert sdp.connection is not None
    assert sdp.connection.address == "127.0.0.1"


def test_baresip_offer_gets_pcma_first_and_dtmf() -> None:
    sdp, audio = answer(BARESIP)
    # TERMS V1 order: G.711 A-law before µ-law, whatever the offer's order.
    assert (audio.codec, audio.payload_type) == ("PCMA", 8)
    assert audio.telephone_event_payload_type == 101
    media = sdp.media[0]
    assert media.formats == ("8", "101")
    assert media.fmtp(101) == "0-15"
    assert media.direction == "sendrecv"
    assert media.ptime == 20


@pytest.mark.parametrize(
    ("preference", "codec"),
    [(("PCMA", "PCMU"), "PCMA"), (("PCMU", "PCMA"), "PCMU"), (("PCMU",), "PCMU")],
)
def test_preference_is_configurable(preference: tuple[str, ...], codec: str) -> None:
    _, audio = answer(BARESIP, preference=preference)
    assert audio.codec == codec


def test_rejected_streams_keep_the_m_line_count() -> None:
    sdp, audio = answer(AUDIO_VIDEO)
    assert [m.media for m in sdp.media] == ["video", "audio"]
    assert sdp.media[0].port == 0
    assert sdp.media[1].port == 20000
    assert audio.remote_port == 49170


def test_dynamic_payload_type_is_echoed() -> None:
    offer = SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 97").replace(
        b"a=rtpmap:0 PCMU/8000", b"a=rtpmap:97 PCMA/8000"
    )
    sdp, audio = answer(offer)
    assert (audio.codec, audio.payload_type) == ("PCMA", 97)
    assert sdp.media[0].formats == ("97",)


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
    sdp, audio = answer(SIPP_UAC + f"a={offer_direction}\r\n".encode())
    assert audio.direction == our_direction
    assert sdp.media[0].direction == our_direction


def test_hold_with_zero_address_is_accepted() -> None:
    _, audio = answer(SIPP_UAC.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0"))
    assert audio.remote_address == "0.0.0.0"


def test_ipv6() -> None:
    offer = SIPP_UAC.replace(b"IN IP4 127.0.0.1", b"IN IP6 ::1")
    sdp, audio = answer_offer(
        SessionDescription.parse(offer), local_address="::1", local_port=20002, session_id="1"
    )
    assert audio.remote_address == "::1"
    assert sdp.connection is not None
    assert sdp.connection.addr_type == "IP6"


def test_lf_only_line_endings() -> None:
    _, audio = answer(SIPP_UAC.replace(b"\r\n", b"\n"))
    assert audio.codec == "PCMU"


@pytest.mark.parametrize(
    "offer",
    [
        SIPP_UAC.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(
            b"a=rtpmap:0 PCMU/8000", b"a=rtpmap:18 G729/8000"
        ),
        SIPP_UAC.replace(b"RTP/AVP", b"RTP/SAVP"),
        SIPP_UAC.replace(b"m=audio", b"m=video"),
        SIPP_UAC.replace(b"c=IN IP4 127.0.0.1\r\n", b""),
        SIPP_UAC.replace(b"m=audio 6000", b"m=audio 0"),
        SIPP_UAC.replace(b"a=rtpmap:0 PCMU/8000", b"a=rtpmap:0 PCMU/16000"),
    ],
)
def test_unacceptable_offers(offer: bytes) -> None:
    with pytest.raises(NoAcceptableMedia) as info:
        answer(offer)
    assert info.value.reason


def test_round_trip() -> None:
    for text in (SIPP_UAC.decode(), BARESIP, AUDIO_VIDEO):
        parsed = SessionDescription.parse(text)
        assert SessionDescription.parse(parsed.serialize()) == parsed
    sdp, _ = answer(BARESIP)
    assert SessionDescription.parse(bytes(sdp)) == sdp


def test_offer_and_negotiated_answer() -> None:
    offer = build_offer(local_address="127.0.0.1", local_port=20010, session_id="7")
    assert offer.media[0].formats == ("8", "0", "101")
    reply, _ = answer_offer(offer, local_address="127.0.0.2", local_port=30000, session_id="9")
    audio = negotiate_answer(offer, reply)
    assert (audio.codec, audio.remote_address, audio.remote_port) == ("PCMA", "127.0.0.2", 30000)
    rejected = SessionDescription.parse(bytes(reply).replace(b"m=audio 30000", b"m=audio 0"))
    with pytest.raises(NoAcceptableMedia):
        negotiate_answer(offer, rejected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=0\r\n",
        "o=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",  # no v=
        "v=0\r\ns=-\r\n",  # no o=
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\n",  # no s=
        "v=1\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",
        "v=0\r\no=a 1 IN IP4 1.2.3.4\r\ns=-\r\n",
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP9 x\r\n",
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio\r\n",
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio x RTP/AVP 0\r\n",
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n",
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nthis is not sdp\r\n",
        "v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(SdpParseError):
        SessionDescription.parse(text)


def test_not_utf8() -> None:
    with pytest.raises(SdpParseError):
        SessionDescription.parse(b"v=0\r\no=\xff\xfe 1 1 IN IP4 1.2.3.4\r\ns=-\r\n")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(SdpParseError):
        SessionDescription.parse(data)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(SIPP_UAC.decode().splitlines() + BARESIP.splitlines())
        | st.text(max_size=30),
        max_size=20,
    )
)
def test_fuzz_shuffled_lines(lines: list[str]) -> None:
    try:
        parsed = SessionDescription.parse("\r\n".join(lines))
    except SdpParseError:
        return
    assert SessionDescription.parse(parsed.serialize()) == parsed
