"""The media relay over real UDP sockets: packets pass both ways, latching follows the
sender, and both directions are recorded to one stereo WAV."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import wave
from pathlib import Path

from dialtone.codecs.g711 import encoder_for
from dialtone.rtp.packet import RtpPacket
from dialtone.runtime.media import RtpPortPool
from dialtone.runtime.relay import open_relay


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    return sock


def packet(seq: int, level: int) -> bytes:
    pcm = level.to_bytes(2, "little", signed=True) * 160
    return bytes(
        RtpPacket(
            payload_type=8,
            sequence_number=seq,
            timestamp=seq * 160,
            ssrc=7,
            payload=encoder_for("PCMA")(pcm),
        )
    )


async def _relay(tmp: Path) -> None:
    pool = RtpPortPool(42000, 42100)
    relay = await open_relay(pool, "127.0.0.1")
    assert pool.in_use == 2
    a, b = udp(), udp()
    # SDP said another port for B: latching onto where B's packets come from wins.
    relay.a.set_remote(a.getsockname())
    relay.b.set_remote(("127.0.0.1", 9))
    relay.start_recording(tmp / "call.wav", "PCMA", 8)
    loop = asyncio.get_running_loop()
    b.sendto(packet(1, -2000), ("127.0.0.1", relay.b.port))
    await asyncio.sleep(0.05)
    got = await loop.run_in_executor(None, a.recv, 2048)
    assert RtpPacket.parse(got).sequence_number == 1
    for seq in range(2, 52):
        a.sendto(packet(seq, 4000), ("127.0.0.1", relay.a.port))
        b.sendto(packet(seq, -2000), ("127.0.0.1", relay.b.port))
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.1)
    received = 0
    b.setblocking(False)
    while True:
        try:
            b.recv(2048)
        except BlockingIOError:
            break
        received += 1
    assert received == 50
    relay.close()
    assert pool.in_use == 0
    with wave.open(str(tmp / "call.wav")) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        frames = wav.readframes(wav.getnframes())
    samples = memoryview(frames).cast("h")
    left, right = samples[0::2], samples[1::2]
    assert len(left) >= 50 * 160
    assert sum(left[160 * 5 : 160 * 45]) > 0  # A said +4000
    assert sum(right[160 * 5 : 160 * 45]) < 0  # B said -2000


def test_relay_passes_both_ways_and_records_stereo(tmp_path: Path) -> None:
    asyncio.run(_relay(tmp_path))


async def _stop(tmp: Path) -> None:
    pool = RtpPortPool(42200, 42300)
    relay = await open_relay(pool, "127.0.0.1")
    a, b = udp(), udp()
    relay.a.set_remote(a.getsockname())
    relay.b.set_remote(b.getsockname())

    async def talk(first: int) -> None:
        for seq in range(first, first + 20):
            a.sendto(packet(seq, 4000), ("127.0.0.1", relay.a.port))
            b.sendto(packet(seq, -2000), ("127.0.0.1", relay.b.port))
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)

    kept, objected = tmp / "kept.wav", tmp / "objected.wav"
    relay.start_recording(kept, "PCMA", 8)
    await talk(1)
    assert relay.stop_recording(discard=False) == kept
    relay.start_recording(objected, "PCMA", 8)
    await talk(21)
    assert objected.exists()
    # TERMS V8: a party objects: nothing more is written and what was is deleted.
    assert relay.stop_recording(discard=True) == objected
    assert not objected.exists()
    assert relay.recorder is None
    assert relay.stop_recording(discard=True) is None  # nothing left to stop
    await talk(41)  # the call goes on: media still passes both ways
    assert min(relay.a.sent, relay.b.sent) >= 60
    relay.close()
    assert not objected.exists()
    with wave.open(str(kept)) as wav:
        assert 15 * 160 <= wav.getnframes() <= 20 * 160  # the first 20 packets only


def test_recording_stops_mid_call_kept_or_discarded(tmp_path: Path) -> None:
    asyncio.run(_stop(tmp_path))


async def _transfer_latching() -> None:
    pool = RtpPortPool(42100, 42200)
    relay = await open_relay(pool, "127.0.0.1")
    alice, bob, carol = udp(), udp(), udp()
    relay.a.set_remote(alice.getsockname())
    relay.b.set_remote(bob.getsockname())
    loop = asyncio.get_running_loop()
    bob.sendto(packet(1, -2000), ("127.0.0.1", relay.b.port))
    await loop.run_in_executor(None, alice.recv, 2048)
    # bob transfers alice to carol: carol's answer puts her on side B. bob goes on
    # sending until our BYE reaches him; his late packets must not take side B back.
    relay.b.set_remote(carol.getsockname(), new_party=True)
    bob.sendto(packet(2, -2000), ("127.0.0.1", relay.b.port))
    await asyncio.sleep(0.05)
    alice.sendto(packet(3, 4000), ("127.0.0.1", relay.a.port))
    got = await loop.run_in_executor(None, carol.recv, 2048)
    assert RtpPacket.parse(got).sequence_number == 3
    carol.sendto(packet(4, 1000), ("127.0.0.1", relay.b.port))
    bob.sendto(packet(5, -2000), ("127.0.0.1", relay.b.port))
    alice.sendto(packet(6, 4000), ("127.0.0.1", relay.a.port))
    got = await loop.run_in_executor(None, carol.recv, 2048)
    assert RtpPacket.parse(got).sequence_number == 6
    # alice hears carol, not bob's late packets.
    heard = [RtpPacket.parse(await loop.run_in_executor(None, alice.recv, 2048))]
    alice.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while True:
            heard.append(RtpPacket.parse(alice.recv(2048)))
    assert [p.sequence_number for p in heard] == [4]
    relay.close()
    for sock in (alice, bob, carol):
        sock.close()


def test_after_a_transfer_the_departed_party_cannot_take_the_side_back() -> None:
    # Found with linphone: a blind transfer whose transferor kept sending for a moment
    # latched the relay back onto it, and the new party heard nothing (issue 13).
    asyncio.run(_transfer_latching())
