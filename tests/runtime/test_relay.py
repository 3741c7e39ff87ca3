"""The media relay over real UDP sockets: packets pass both ways, latching follows the
sender, both directions are recorded to one stereo WAV, each side can be tapped and spoken
to."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import wave
from pathlib import Path

import pytest

from dialtone.codecs.g711 import decoder_for, encoder_for
from dialtone.rtp.packet import RtpPacket
from dialtone.runtime.media import RtpPortPool
from dialtone.runtime.relay import MediaRelay, open_relay
from dialtone.sip.sdp import NegotiatedAudio


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


def pcmu(seq: int, level: int) -> bytes:
    pcm = level.to_bytes(2, "little", signed=True) * 160
    return bytes(
        RtpPacket(
            payload_type=0,
            sequence_number=seq,
            timestamp=seq * 160,
            ssrc=9,
            payload=encoder_for("PCMU")(pcm),
        )
    )


def pcmu_audio() -> NegotiatedAudio:
    return NegotiatedAudio("127.0.0.1", 9, "PCMU", 0, 8000, 20, "sendrecv", 101)


def pending(sock: socket.socket) -> list[RtpPacket]:
    sock.setblocking(False)
    out = []
    with contextlib.suppress(BlockingIOError):
        while True:
            out.append(RtpPacket.parse(sock.recv(2048)))
    return out


async def _taps() -> None:
    pool = RtpPortPool(42300, 42400)
    relay = await open_relay(pool, "127.0.0.1", audio=pcmu_audio())
    a, b = udp(), udp()
    relay.a.set_remote(a.getsockname())
    relay.b.set_remote(b.getsockname())
    heard: dict[int, list[bytes]] = {0: [], 1: []}
    taps = [relay.tap(side, heard[side].append) for side in (0, 1)]
    a.sendto(pcmu(1, 4000), ("127.0.0.1", relay.a.port))
    b.sendto(pcmu(1, -2000), ("127.0.0.1", relay.b.port))
    event = RtpPacket(
        payload_type=101, sequence_number=2, timestamp=320, ssrc=9, payload=b"\x01\x00\x00\xa0"
    )
    a.sendto(bytes(event), ("127.0.0.1", relay.a.port))  # a digit: not audio
    await asyncio.sleep(0.05)
    decode = decoder_for("PCMU")
    assert heard[0] == [decode(encoder_for("PCMU")((4000).to_bytes(2, "little") * 160))]
    assert heard[1] == [
        decode(encoder_for("PCMU")((-2000).to_bytes(2, "little", signed=True) * 160))
    ]
    # Tapping does not change the relay: both packets (and the event) passed.
    assert len(pending(b)) == 2
    assert len(pending(a)) == 1
    taps[0].close()
    a.sendto(pcmu(3, 4000), ("127.0.0.1", relay.a.port))
    await asyncio.sleep(0.05)
    assert len(heard[0]) == 1
    relay.close()
    with pytest.raises(RuntimeError, match="codec is not known"):
        MediaRelay().tap(0, heard[0].append)


def test_taps_hear_each_side_decoded_and_the_relay_passes_on() -> None:
    asyncio.run(_taps())


async def _speaker() -> None:
    pool = RtpPortPool(42400, 42500)
    relay = await open_relay(pool, "127.0.0.1", audio=pcmu_audio())
    a, b = udp(), udp()
    relay.a.set_remote(a.getsockname())
    relay.b.set_remote(b.getsockname())
    speaker = relay.speaker(0)
    marks: list[str] = []
    speaker.on_mark = marks.append
    speaker.push(b"\x10\x00" * 160 * 10)
    speaker.mark("done")
    # While the speaker talks to A, what B says does not reach A; A still reaches B.
    for seq in range(1, 6):
        b.sendto(pcmu(seq, -2000), ("127.0.0.1", relay.b.port))
        a.sendto(pcmu(seq, 4000), ("127.0.0.1", relay.a.port))
        await asyncio.sleep(0.02)
    got = pending(a)
    assert got
    assert {p.ssrc for p in got} != {9}
    assert all(p.payload == encoder_for("PCMU")(b"\x10\x00" * 160) for p in got)
    assert len(pending(b)) == 5
    await asyncio.sleep(0.25)
    assert marks == ["done"]
    assert speaker.idle
    ours = got + pending(a)
    assert len(ours) == 10
    assert not relay.muted
    b.sendto(pcmu(9, -2000), ("127.0.0.1", relay.b.port))
    await asyncio.sleep(0.05)
    assert [p.ssrc for p in pending(a)] == [9]  # B is heard again
    # A prompt to both legs goes on A's stream of ours: same SSRC, sequence on.
    task = relay.play_to_both(encoder_for("PCMU")(b"\x00\x00" * 320), "PCMU", 0)
    assert relay.muted
    await task
    prompt = pending(a)
    assert [p.ssrc for p in prompt] == [ours[0].ssrc] * 2
    assert prompt[0].sequence_number == (ours[-1].sequence_number + 1) & 0xFFFF
    assert not relay.muted
    relay.close()


def test_a_speaker_talks_to_one_leg_and_mutes_the_other_meanwhile() -> None:
    asyncio.run(_speaker())
