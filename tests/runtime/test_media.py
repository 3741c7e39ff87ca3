"""A one-sided call's media over real UDP sockets: the caller's audio tapped, audio pushed
to the caller through a speaker at the 20 ms pace, marks and clear, and one RTP stream
(SSRC, sequence, timestamps) across speaker and prompts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from dialtone.codecs.g711 import ulaw_decode, ulaw_encode
from dialtone.rtp.packet import RtpPacket
from dialtone.runtime.media import FRAME_SAMPLES, RtpPortPool, RtpSession, open_rtp_session
from dialtone.sip.sdp import NegotiatedAudio

PCMU, EVENT = 0, 101


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def audio_for(sock: socket.socket) -> NegotiatedAudio:
    host, port = sock.getsockname()
    return NegotiatedAudio(host, port, "PCMU", PCMU, 8000, 20, "sendrecv", EVENT)


def rtp(seq: int, payload: bytes, payload_type: int = PCMU) -> bytes:
    return bytes(
        RtpPacket(
            payload_type=payload_type,
            sequence_number=seq,
            timestamp=seq * 160,
            ssrc=0x1234,
            payload=payload,
        )
    )


async def receive(
    sock: socket.socket, count: int, timeout: float = 3.0
) -> list[tuple[float, RtpPacket]]:
    """``count`` packets with the time each arrived."""
    loop = asyncio.get_running_loop()
    got: list[tuple[float, RtpPacket]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(got)} of {count} packets arrived"
        data = await asyncio.wait_for(loop.sock_recv(sock, 2048), remaining)
        got.append((time.monotonic(), RtpPacket.parse(data)))
    return got


def drain(sock: socket.socket) -> list[RtpPacket]:
    out = []
    while True:
        try:
            out.append(RtpPacket.parse(sock.recv(2048)))
        except BlockingIOError:
            return out


def run(test: Callable[[RtpSession, socket.socket], Awaitable[None]], ports: int) -> None:
    async def main() -> None:
        phone = udp()
        pool = RtpPortPool(ports, ports + 50)
        session = await open_rtp_session(pool, "127.0.0.1", audio_for(phone), None)
        try:
            await test(session, phone)
        finally:
            session.close()
            phone.close()

    asyncio.run(main())


def tone(level: int, frames: int = 1) -> bytes:
    return level.to_bytes(2, "little", signed=True) * (FRAME_SAMPLES * frames)


def test_a_tap_hears_the_callers_audio_decoded_in_arrival_order() -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        heard: list[bytes] = []
        handle = session.tap(0, heard.append)
        target = ("127.0.0.1", session.local_port)
        payloads = [bytes([(seq * 7 + i) % 256 for i in range(160)]) for seq in range(5)]
        # Arrival order, not sequence order: the tap does not reorder.
        for seq in (1, 0, 2):
            phone.sendto(rtp(seq, payloads[seq]), target)
        phone.sendto(rtp(3, b"\x01\x00\x00\xa0", EVENT), target)  # a digit: not audio
        phone.sendto(bytes([0x80, 200]) + bytes(26), target)  # RTCP sender report
        await asyncio.sleep(0.1)
        assert heard == [ulaw_decode(payloads[seq]) for seq in (1, 0, 2)]
        handle.close()
        handle.close()  # twice is harmless
        phone.sendto(rtp(4, payloads[4]), target)
        await asyncio.sleep(0.05)
        assert len(heard) == 3
        with pytest.raises(ValueError, match="side 0 only"):
            session.tap(1, heard.append)

    run(test, 43000)


def test_a_failing_tap_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        heard: list[bytes] = []

        def broken(pcm: bytes) -> None:
            raise RuntimeError("listener bug")

        session.tap(0, broken)
        session.tap(0, heard.append)
        phone.sendto(rtp(1, bytes(160)), ("127.0.0.1", session.local_port))
        await asyncio.sleep(0.05)
        assert len(heard) == 1
        assert "audio tap failed" in caplog.text

    run(test, 43060)


def test_a_speaker_sends_at_the_20ms_pace_and_marks_after_its_audio() -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        speaker = session.speaker(0)
        assert session.speaker(0) is speaker  # one speaker per leg
        marks: list[tuple[float, str]] = []
        speaker.on_mark = lambda name: marks.append((time.monotonic(), name))
        assert speaker.idle
        speaker.mark("nothing queued")  # answered at once
        assert [name for _, name in marks] == ["nothing queued"]
        # Five frames and a half: the half goes out padded with silence before the mark.
        pcm = tone(4000, 5) + tone(-4000)[:FRAME_SAMPLES]
        speaker.push(pcm)
        speaker.mark("end")
        assert not speaker.idle
        assert speaker.queued_seconds == pytest.approx(0.12)
        got = await receive(phone, 6)
        packets = [p for _, p in got]
        assert [p.payload for p in packets[:5]] == [ulaw_encode(tone(4000))] * 5
        assert packets[5].payload == ulaw_encode(tone(-4000))[:80] + b"\xff" * 80
        first = packets[0]
        assert first.marker
        assert not any(p.marker for p in packets[1:])
        assert {p.ssrc for p in packets} == {first.ssrc}
        assert [p.sequence_number for p in packets] == [
            (first.sequence_number + i) & 0xFFFF for i in range(6)
        ]
        assert [p.timestamp for p in packets] == [
            (first.timestamp + 160 * i) & 0xFFFFFFFF for i in range(6)
        ]
        span = got[-1][0] - got[0][0]
        assert 0.08 <= span <= 0.2  # five 20 ms steps, not a burst
        await asyncio.sleep(0.1)
        assert [name for _, name in marks] == ["nothing queued", "end"]
        # The mark fires when the last frame has played (20 ms after it was sent).
        assert marks[1][0] >= got[-1][0] + 0.01
        assert speaker.idle
        assert drain(phone) == []

    run(test, 43120)


def test_speaker_and_prompts_are_one_rtp_stream() -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        speaker = session.speaker(0)
        speaker.push(tone(1000, 2))
        first = [p for _, p in await receive(phone, 2)]
        await asyncio.sleep(0.3)  # silence: the timestamp must account for it
        session.play(ulaw_encode(tone(2000, 2)))
        then = [p for _, p in await receive(phone, 2)]
        assert then[0].ssrc == first[0].ssrc
        assert then[0].sequence_number == (first[1].sequence_number + 1) & 0xFFFF
        assert then[0].marker  # a new talkspurt
        gap = (then[0].timestamp - first[1].timestamp) & 0xFFFFFFFF
        assert 160 + 0.25 * 8000 <= gap <= 160 + 0.5 * 8000
        await asyncio.sleep(0.1)
        speaker.push(tone(3000))
        again = [p for _, p in await receive(phone, 1)]
        assert again[0].sequence_number == (then[1].sequence_number + 1) & 0xFFFF

    run(test, 43180)


def test_clear_drops_queued_audio_and_answers_its_marks_in_order() -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        speaker = session.speaker(0)
        marks: list[str] = []
        speaker.on_mark = marks.append
        speaker.push(tone(1000, 50))
        speaker.mark("one")
        speaker.push(tone(1000, 50))
        speaker.mark("two")
        await receive(phone, 3)
        assert marks == []
        speaker.clear()
        assert marks == ["one", "two"]
        assert speaker.queued_seconds == 0
        await asyncio.sleep(0.1)
        assert len(drain(phone)) <= 2  # at most what was on its way
        assert speaker.idle
        speaker.mark("after")  # nothing queued: at once
        assert marks == ["one", "two", "after"]
        # The speaker works on after a clear.
        speaker.push(tone(500, 2))
        assert len(await receive(phone, 2)) == 2

    run(test, 43240)


def test_a_late_half_frame_waits_one_frame_for_the_rest() -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        speaker = session.speaker(0)
        half = tone(1000)[:FRAME_SAMPLES]
        speaker.push(half)
        await asyncio.sleep(0.005)
        speaker.push(half)  # the other half came in time: one whole frame
        got = [p for _, p in await receive(phone, 1)]
        assert got[0].payload == ulaw_encode(tone(1000))
        speaker.push(half)  # no rest comes: padded after one frame's wait
        got = [p for _, p in await receive(phone, 1)]
        assert got[0].payload == ulaw_encode(half) + b"\xff" * 80
        await asyncio.sleep(0.05)
        assert drain(phone) == []

    run(test, 43300)


def test_close_stops_the_speaker_without_answering_marks() -> None:
    async def test(session: RtpSession, phone: socket.socket) -> None:
        speaker = session.speaker(0)
        marks: list[str] = []
        speaker.on_mark = marks.append
        speaker.push(tone(1000, 50))
        speaker.mark("never")
        await receive(phone, 2)
        session.close()
        await asyncio.sleep(0.1)
        drain(phone)
        await asyncio.sleep(0.05)
        assert drain(phone) == []
        assert marks == []
        speaker.push(tone(1000, 5))  # after close: ignored
        await asyncio.sleep(0.05)
        assert drain(phone) == []

    run(test, 43360)


def test_prompts_play_one_after_the_other() -> None:
    # A call application plays several prompts on a one-sided call (TwiML's <Say> then
    # <Play>): each plays once the previous one has finished.
    async def test(session: RtpSession, phone: socket.socket) -> None:
        session.play(ulaw_encode(tone(1000, 2)))
        first = session._player
        session.play(ulaw_encode(tone(9000, 2)))  # while the first plays: ignored
        assert session._player is first
        assert first is not None
        await first
        session.play(ulaw_encode(tone(2000, 2)))
        assert session._player is not first
        got = [p for _, p in await receive(phone, 4)]
        assert [p.payload for p in got] == [ulaw_encode(tone(1000))] * 2 + [
            ulaw_encode(tone(2000))
        ] * 2

    run(test, 43420)
