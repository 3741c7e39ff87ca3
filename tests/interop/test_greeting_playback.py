"""The caller hears the greeting: a UDP socket plays the phone, byte for byte.

The phone here is a plain socket speaking SIP text and reading RTP, so what it checks is
what went over the wire: the payloads must be the greeting encoded in the negotiated codec.
"""

from __future__ import annotations

import io
import itertools
import math
import socket
import struct
import time
import wave

import pytest

from dialtone.codecs.g711 import alaw_encode, ulaw_encode
from dialtone.rtp.packet import RtpPacket
from dialtone.services.telephony.greetings import default_greeting_path, wav_to_pcm8k

from .conftest import Platform, free_port

pytestmark = pytest.mark.interop


def _invite(
    platform: Platform, sip: socket.socket, rtp_port: int, codec_pt: int, call_id: str
) -> bytes:
    port = sip.getsockname()[1]
    sdp = (
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP {codec_pt}\r\n"
    ).encode()
    return (
        f"INVITE sip:+33123456789@127.0.0.1:{platform.sip_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:+14155550100@127.0.0.1>;tag=phone\r\n"
        "To: <sip:+33123456789@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:phone@127.0.0.1:{port}>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n"
    ).encode() + sdp


def _in_dialog(
    method: str, platform: Platform, sip: socket.socket, *, call_id: str, to_tag: str, cseq: int
) -> bytes:
    port = sip.getsockname()[1]
    return (
        f"{method} sip:dialtone@127.0.0.1:{platform.sip_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{method}{call_id}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:+14155550100@127.0.0.1>;tag=phone\r\n"
        f"To: <sip:+33123456789@127.0.0.1>;tag={to_tag}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _listen_to_greeting(
    platform: Platform, codec_pt: int, call_id: str, seconds: float = 1.0
) -> list[RtpPacket]:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
    ):
        sip.bind(("127.0.0.1", free_port()))
        rtp.bind(("127.0.0.1", 0))
        sip.settimeout(5)
        rtp.settimeout(2)
        sip.sendto(
            _invite(platform, sip, rtp.getsockname()[1], codec_pt, call_id),
            ("127.0.0.1", platform.sip_port),
        )
        to_tag = ""
        while True:
            reply = sip.recv(65535)
            status = int(reply.split(b" ", 2)[1])
            if status == 200:
                to_line = next(ln for ln in reply.split(b"\r\n") if ln.lower().startswith(b"to:"))
                to_tag = to_line.split(b"tag=")[1].split(b";")[0].decode()
                break
            assert status < 200, reply[:200]
        sip.sendto(
            _in_dialog("ACK", platform, sip, call_id=call_id, to_tag=to_tag, cseq=1),
            ("127.0.0.1", platform.sip_port),
        )
        packets: list[RtpPacket] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            packets.append(RtpPacket.parse(rtp.recv(2048)))
        sip.sendto(
            _in_dialog("BYE", platform, sip, call_id=call_id, to_tag=to_tag, cseq=2),
            ("127.0.0.1", platform.sip_port),
        )
        while True:
            reply = sip.recv(65535)
            if b"CSeq: 2 BYE" in reply:
                assert reply.startswith(b"SIP/2.0 200 ")
                break
    return packets


def _check_stream(packets: list[RtpPacket], expected_pcm: bytes, pt: int, encode) -> None:  # type: ignore[no-untyped-def]
    # ~50 packets a second, in sequence, 20 ms each, one SSRC.
    assert 40 <= len(packets) <= 60, len(packets)
    assert {p.payload_type for p in packets} == {pt}
    assert len({p.ssrc for p in packets}) == 1
    assert packets[0].marker
    for a, b in itertools.pairwise(packets):
        assert (b.sequence_number - a.sequence_number) % 65536 == 1
        assert (b.timestamp - a.timestamp) % 2**32 == 160
    heard = b"".join(p.payload for p in packets)
    assert heard == encode(expected_pcm[: 2 * len(heard)])


def test_default_greeting_reaches_the_caller(platform: Platform) -> None:
    greeting = wav_to_pcm8k(default_greeting_path().read_bytes())
    packets = _listen_to_greeting(platform, 8, "greet-a")  # PCMA
    _check_stream(packets, greeting, 8, alaw_encode)


def test_a_numbers_own_greeting_is_played(platform: Platform) -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(9000 * math.sin(2 * math.pi * 1000 * i / 16000)))
                for i in range(32000)
            )
        )
    with platform.http() as http:
        response = http.put(
            f"/v1/numbers/{platform.number}/greeting",
            content=out.getvalue(),
            headers={"Content-Type": "audio/wav"},
        )
    assert response.status_code == 200, response.text
    expected = wav_to_pcm8k(out.getvalue())
    packets = _listen_to_greeting(platform, 0, "greet-u")  # PCMU
    _check_stream(packets, expected, 0, ulaw_encode)
