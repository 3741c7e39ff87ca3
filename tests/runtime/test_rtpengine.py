"""The rtpengine relay against a real rtpengine (issue 19): its two ports, RTP both ways
once each party is known, a recording sealed into the same stereo WAV the Python relay
writes (pcap deleted), a prompt to both parties, the totals of ``delete``, and a
rtpengine that does not answer."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest

from dialtone.codecs.g711 import decoder_for
from dialtone.rtp.packet import RtpPacket
from dialtone.runtime.ng_client import NgUnavailable
from dialtone.runtime.rtpengine import RtpengineConfig, RtpengineMedia
from dialtone.runtime.rtpengine_recording import pcaps_of
from dialtone.runtime.sealing import CallFacts, facts_path
from dialtone.sip.sdp import NegotiatedAudio
from dialtone.store import sealed
from tests.programs.rtpengine import rtpengine

pytestmark = pytest.mark.interop

AUDIO = NegotiatedAudio(
    remote_address="0.0.0.0",
    remote_port=0,
    codec="PCMA",
    payload_type=8,
    clock_rate=8000,
    ptime=20,
    direction="sendrecv",
    telephone_event_payload_type=101,
)
KEY = bytes(range(32))


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def packet(seq: int, ssrc: int, code: int) -> bytes:
    return bytes(
        RtpPacket(
            payload_type=8,
            sequence_number=seq,
            timestamp=seq * 160,
            ssrc=ssrc,
            payload=bytes([code]) * 160,
        )
    )


def drain(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(2048))
        except BlockingIOError:
            return out


async def talk(
    a: socket.socket, b: socket.socket, ports: tuple[int, int], count: int, start: int = 0
) -> tuple[list[bytes], list[bytes]]:
    heard_a: list[bytes] = []
    heard_b: list[bytes] = []
    for seq in range(start, start + count):
        a.sendto(packet(seq, 0xA, 0x80), ("127.0.0.1", ports[0]))  # loud from the caller
        b.sendto(packet(seq, 0xB, 0xD5), ("127.0.0.1", ports[1]))
        await asyncio.sleep(0.02)
        heard_a += drain(a)
        heard_b += drain(b)
    await asyncio.sleep(0.1)
    return heard_a + drain(a), heard_b + drain(b)


def facts() -> CallFacts:
    from datetime import UTC, datetime

    return CallFacts(
        account_id="AC1",
        direction="inbound",
        from_number="+331",
        to_number="+332",
        started_at=datetime.now(UTC),
        answered_at=None,
        sip_call_id="x",
        sip_local_tag="t",
        record_id="CA1",
    )


def test_a_call_through_rtpengine_both_ways_recorded_and_prompted(tmp_path: Path) -> None:
    with rtpengine(tmp_path) as engine:

        async def run() -> None:
            media = await RtpengineMedia.connect(RtpengineConfig(engine.ng, engine.recording_dir))
            caller, callee = udp(), udp()
            relay = await media.open_relay("CA1", AUDIO)
            ports = (relay.a.port, relay.b.port)
            assert engine.ports[0] <= min(ports)
            assert max(ports) <= engine.ports[1]
            assert ports[0] != ports[1]
            relay.a.set_remote(caller.getsockname())
            relay.b.set_remote(callee.getsockname())
            await asyncio.sleep(0.1)
            # The ports did not move when the parties became known (port-latching).
            assert "moved side" not in engine.log()
            path = tmp_path / "calls" / "CA1.wav.sealed"
            relay.start_recording(path, "PCMA", 8, key=KEY, facts=facts())
            assert facts_path(path).exists()  # the crash note, from the start (D5)
            heard_a, heard_b = await talk(caller, callee, ports, 50)
            assert len(heard_a) >= 45
            assert len(heard_b) >= 45
            assert RtpPacket.parse(heard_b[0]).payload == bytes([0x80]) * 160
            assert RtpPacket.parse(heard_a[0]).payload == bytes([0xD5]) * 160
            live = await relay.query_totals()
            assert live is not None
            assert live.rtp_packets >= 90

            # A prompt to both: each party hears it, and nothing else meanwhile (the
            # parties' audio is blocked, as the Python relay mutes it); then the call
            # goes on. The task ends when it has played.
            prompt = bytes([0x55]) * 8000  # a second: longer than the talk below
            loop = asyncio.get_running_loop()
            started = loop.time()
            playing = relay.play_to_both(prompt, "PCMA", 8)
            during_a, during_b = await talk(caller, callee, ports, 20, start=50)
            await playing
            assert 0.9 <= loop.time() - started < 2.5
            for heard in (during_a, during_b):
                payloads = [RtpPacket.parse(p).payload for p in heard]
                assert len(heard) >= 20
                # From the prompt's first packet on (the block crosses a packet or two).
                payloads = set(payloads[payloads.index(bytes([0x55]) * 160) :])
                assert payloads == {bytes([0x55]) * 160}, payloads
            after_a, after_b = await talk(caller, callee, ports, 10, start=70)
            assert bytes([0x80]) * 160 in {RtpPacket.parse(p).payload for p in after_b}
            assert bytes([0xD5]) * 160 in {RtpPacket.parse(p).payload for p in after_a}

            relay.close()
            assert relay.closing is not None
            await relay.closing
            assert relay.totals is not None
            assert relay.totals.rtp_packets >= 90
            assert media.stats.live == 0
            assert media.stats.opened == 1
            assert media.stats.totals.rtp_packets >= 150
            # The pcap became the sealed stereo WAV, and is gone.
            assert pcaps_of(engine.recording_dir, relay.call_id) == []
            wav = sealed.read_recording(path, KEY)
            assert wav[:4] == b"RIFF"
            assert wav[22] == 2
            frames = list(struct.iter_unpack("<hh", wav[44:]))
            # 80 packets each way over about 2.5 s: the pause while the prompt played
            # (after the talk under it) is silence, placed by capture time.
            assert 75 * 160 <= len(frames) <= 3.5 * 8000
            (left,) = struct.unpack("<h", decoder_for("PCMA")(b"\x80"))
            (right,) = struct.unpack("<h", decoder_for("PCMA")(b"\xd5"))
            assert sum(1 for frame in frames if frame == (left, right)) >= 50 * 160
            await media.aclose()
            caller.close()
            callee.close()

        asyncio.run(run())


def test_recording_objected_to_is_deleted_with_its_pcap(tmp_path: Path) -> None:
    with rtpengine(tmp_path) as engine:

        async def run() -> None:
            media = await RtpengineMedia.connect(RtpengineConfig(engine.ng, engine.recording_dir))
            caller, callee = udp(), udp()
            relay = await media.open_relay("CA2", AUDIO)
            relay.a.set_remote(caller.getsockname())
            relay.b.set_remote(callee.getsockname())
            path = tmp_path / "CA2.wav"
            relay.start_recording(path, "PCMA", 8)
            await talk(caller, callee, (relay.a.port, relay.b.port), 10)
            assert relay.stop_recording(discard=True) == path
            assert not path.exists()
            relay.close()
            assert relay.closing is not None
            await relay.closing
            assert not path.exists()
            assert pcaps_of(engine.recording_dir, relay.call_id) == []
            await media.aclose()

        asyncio.run(run())


def test_rtpengine_down_at_connect_and_at_open(tmp_path: Path) -> None:
    with rtpengine(tmp_path) as engine:
        address = engine.ng

        async def up() -> RtpengineMedia:
            return await RtpengineMedia.connect(RtpengineConfig(address, tmp_path, (0.05, 0.1)))

        async def run() -> None:
            media = await up()
            engine.process.terminate()
            engine.process.wait(5)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(NgUnavailable):
                await media.open_relay("CA3", AUDIO)
            assert loop.time() - started < 1
            assert media.stats.failed == 1
            await media.aclose()
            with pytest.raises(NgUnavailable):
                await up()

        asyncio.run(run())


def test_a_new_party_on_the_callee_side_is_heard_on_the_same_ports(tmp_path: Path) -> None:
    # A transfer: the callee's side gets a new party (a repeated answer with its address);
    # rtpengine keeps its ports (port-latching) and the caller and the new party hear each
    # other. (The party that left is not dropped: docs/scale-out/rtpengine.md.)
    with rtpengine(tmp_path) as engine:

        async def run() -> None:
            media = await RtpengineMedia.connect(RtpengineConfig(engine.ng, engine.recording_dir))
            caller, bob, carol = udp(), udp(), udp()
            relay = await media.open_relay("CA4", AUDIO)
            ports = (relay.a.port, relay.b.port)
            relay.a.set_remote(caller.getsockname())
            relay.b.set_remote(bob.getsockname())
            heard_a, heard_b = await talk(caller, bob, ports, 10)
            assert len(heard_a) >= 8
            assert len(heard_b) >= 8
            relay.b.set_remote(carol.getsockname(), new_party=True)
            await asyncio.sleep(0.1)
            heard_a, heard_c = await talk(caller, carol, ports, 10, start=10)
            assert len(heard_c) >= 8  # carol hears the caller...
            assert len(heard_a) >= 8  # ...and the caller carol (bob is silent now)
            assert (relay.a.port, relay.b.port) == ports
            assert "moved side" not in engine.log()
            relay.close()
            assert relay.closing is not None
            await relay.closing
            await media.aclose()
            for sock in (caller, bob, carol):
                sock.close()

        asyncio.run(run())
