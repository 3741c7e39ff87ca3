"""An application's ``Transfer`` on the real SIP runtime, driven by sipp with RFC 4733
digits: the caller presses 1, the desk application transfers the call to a user, whose
phone (another sipp) rings and answers; the caller's speech reaches the phone's media
address through the relay, and the call record shows the chain to the user. A busy
user's 486 comes back to the application as ``TransferResult``, and the call goes on
with it. The runtime runs in-process so the application can be plugged in for a number."""

from __future__ import annotations

import asyncio
import shutil
import struct
from pathlib import Path

import pytest

from dialtone.call.application import TransferResult
from dialtone.rtp.packet import RtpPacket
from dialtone.services.telephony.greetings import default_greeting_path
from tests.call.apps.desk import Desk
from tests.interop import sippgen
from tests.interop.conftest import (
    InProcess,
    apoll,
    chain,
    claim_ports,
    in_process,
    sipp_errors,
)

pytestmark = pytest.mark.interop

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        shutil.which("sipp") is None or not Path("/usr/share/sip-tester").is_dir(),
        reason="sipp and its pcaps",
    ),
]

PCAPS = Path("/usr/share/sip-tester")
NUMBER = "+33123456789"
PROMPT = str(default_greeting_path())  # about 6 s: the digit is heard when it ends


def pcap_payloads(path: Path) -> set[bytes]:
    """The RTP payloads of a pcap of UDP over IPv4 on Ethernet (sipp's own files)."""
    data = path.read_bytes()
    assert struct.unpack("<I", data[20:24])[0] == 1  # Ethernet
    payloads, offset = set(), 24
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        frame = data[offset + 16 : offset + 16 + length]
        offset += 16 + length
        ip_header = (frame[14] & 0x0F) * 4
        payloads.add(RtpPacket.parse(frame[14 + ip_header + 8 :]).payload)
    return payloads


class Ear(asyncio.DatagramProtocol):
    """The phone's media address: what the relay sends it."""

    def __init__(self) -> None:
        self.heard: list[RtpPacket] = []

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.heard.append(RtpPacket.parse(data))


def seat_desk(platform: InProcess, user_id: str) -> Desk:
    """The desk on the number, transferring to the user."""
    desk = Desk(PROMPT, f"user:{user_id}")
    platform.runtime.handler.applications[NUMBER] = lambda: desk
    return desk


def test_the_desk_transfers_the_caller_to_a_user_whose_phone_answers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with in_process(tmp_path, NUMBER) as platform:
            alice, phone_port = platform.add_phone("alice")
            desk = seat_desk(platform, alice)
            media_port = claim_ports(2)
            transport, ear = await asyncio.get_running_loop().create_datagram_endpoint(
                Ear, local_addr=("127.0.0.1", media_port)
            )
            try:
                # 1 at once; 9 s later (the prompt, the transfer, the ringing) speech,
                # 4 s of it; then the caller hangs up and the platform ends the phone's leg.
                caller = sippgen.call(
                    NUMBER,
                    pcap=str(PCAPS / "dtmf_2833_1.pcap"),
                    then_pcap=(9000, str(PCAPS / "g711a.pcap")),
                    bye_after_ms=4000,
                )
                phone = sippgen.phone(ring_ms=300, media_port=str(media_port))
                codes = await platform.call(tmp_path, caller, phone, phone_port)
            finally:
                transport.close()
            # Both dialogs went as their scenarios say: 180 and 200 to the caller's
            # INVITE, the phone's ringing and answer, each side's BYE answered.
            assert codes == [0, 0], sipp_errors(tmp_path, "caller", "phone") or codes
            assert desk.heard == ["1"]
            assert desk.results == [TransferResult(200)]  # its last event
            # The caller's speech reached the phone unchanged (PCMA both ways).
            speech = [p for p in ear.heard if p.payload_type == 8]
            assert len(speech) >= 100, len(ear.heard)
            sent = pcap_payloads(PCAPS / "g711a.pcap")
            assert sum(p.payload in sent for p in speech) >= 0.9 * len(speech)
            # The call record as the API shows it: answered by the user, the chain to her.
            (record,) = await apoll(platform.calls, timeout=5)
            assert record["status"] == "completed"
            assert record["hangup_cause"] == "caller-bye"
            assert record["user_id"] == alice
            assert chain(record) == [
                ("public", None, None),  # the caller from outside
                ("device", alice, None),  # her phone, connected
            ]
            assert record["legs"][1]["source"] == f"udp:127.0.0.1:{phone_port}"

    asyncio.run(scenario())


def test_a_transfer_to_a_busy_user_comes_back_to_the_desk(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with in_process(tmp_path, NUMBER) as platform:
            bob, phone_port = platform.add_phone("bob")
            desk = seat_desk(platform, bob)
            # The caller waits for the platform's BYE: the desk says goodbye after the 486.
            caller = sippgen.call(NUMBER, pcap=str(PCAPS / "dtmf_2833_1.pcap"), wait_bye=True)
            phone = sippgen.phone(status=486, refuse_after_ms=200)
            codes = await platform.call(tmp_path, caller, phone, phone_port)
            assert codes == [0, 0], sipp_errors(tmp_path, "caller", "phone") or codes
            assert desk.heard == ["1"]
            assert desk.results == [TransferResult(486)]
            (record,) = await apoll(platform.calls, timeout=5)
            assert record["hangup_cause"] == "transfer-486"  # the desk heard it and hung up
            assert record["status"] == "completed"  # the caller was answered by the desk
            assert record["user_id"] is None  # no one took it
            # The chain keeps the attempt: the caller, then the user's phone that was busy.
            assert chain(record) == [
                ("public", None, None),
                ("device", bob, "486"),
            ]

    asyncio.run(scenario())
