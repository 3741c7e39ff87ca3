"""A caller that talks: an outside number's call to dialtone (``benchmarks/_sipua.Uac``,
PCMA) with an RTP endpoint that sends what the test says in real time, 20 ms a packet,
silence in between as phones do, and keeps what dialtone sends with its arrival time.

For what the AI receptionist's tests and benchmark must measure on the wire: when the
caller's speech starts and ends (the first and last voiced frame sent), when the agent's
audio starts and stops (non-silent packets received). Not a SIP stack: loopback only.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from array import array
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from benchmarks._sipua import OutCall, Uac

from dialtone.codecs.g711 import alaw_decode, alaw_encode

PCMA = 8
FRAME = 0.02
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit PCM
ALAW_SILENCE = 0xD5
# A frame louder than this is voice (the caller's recordings are clean: no noise floor).
VOICED_DBFS = -45.0


def dbfs(pcm: bytes) -> float:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return -math.inf
    mean = sum(s * s for s in samples) / len(samples)
    return -math.inf if mean == 0 else 10 * math.log10(mean / (32768.0 * 32768.0))


@dataclass
class Spoken:
    """When an utterance's first frame, first and last voiced frames left (monotonic
    seconds)."""

    start: float | None = None
    onset: float | None = None
    end: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class VoicePeer(asyncio.DatagramProtocol):
    """The caller's RTP socket."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.received: list[tuple[float, bytes]] = []  # (arrival, decoded PCM)
        self._queue: list[bytes] = []
        self._spoken: Spoken | None = None
        self._sender: asyncio.Task[None] | None = None
        self._sequence = 1
        self._timestamp = 0
        self._ssrc = 0x5EE0CA11
        self.arrived = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[1] & 0x7F != PCMA:
            return
        payload = data[12 + 4 * (data[0] & 0x0F) :]
        self.received.append((time.monotonic(), alaw_decode(payload)))
        self.arrived.set()

    def start(self, remote: tuple[str, int]) -> None:
        """Begin sending (silence until told to say something)."""
        self.remote = remote
        self._sender = asyncio.get_running_loop().create_task(self._send_forever())

    def say(self, pcm8k: bytes) -> Spoken:
        """Queue ``pcm8k`` (8 kHz 16-bit mono); its times fill in as it is sent."""
        frames = [pcm8k[i : i + FRAME_BYTES] for i in range(0, len(pcm8k), FRAME_BYTES)]
        frames[-1] = frames[-1].ljust(FRAME_BYTES, b"\x00")
        self._queue.extend(frames)
        self._spoken = Spoken()
        return self._spoken

    async def _send_forever(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            if self._queue:
                frame = self._queue.pop(0)
                spoken = self._spoken
                payload = alaw_encode(frame)
                if spoken is not None and spoken.start is None:
                    spoken.start = time.monotonic()
                if spoken is not None and dbfs(frame) > VOICED_DBFS:
                    now = time.monotonic()
                    spoken.onset = spoken.onset or now
                    spoken.end = now
                if not self._queue and spoken is not None:
                    spoken.done.set()
            else:
                payload = bytes([ALAW_SILENCE]) * 160
            self._packet(payload)
            due += FRAME
            await asyncio.sleep(max(0.0, due - loop.time()))

    def _packet(self, payload: bytes) -> None:
        if self.transport is None or self.remote is None:
            return
        header = bytes([0x80, PCMA]) + self._sequence.to_bytes(2, "big")
        header += self._timestamp.to_bytes(4, "big") + self._ssrc.to_bytes(4, "big")
        self.transport.sendto(header + payload, self.remote)
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + 160) & 0xFFFFFFFF

    # -- what dialtone sent ------------------------------------------------------------------

    def voiced_after(self, since: float) -> list[float]:
        """Arrival times of the non-silent packets received after ``since``."""
        return [at for at, pcm in self.received if at > since and dbfs(pcm) > VOICED_DBFS]

    def audio_between(self, start: float, end: float) -> bytes:
        """What dialtone sent that arrived between ``start`` and ``end``."""
        return b"".join(pcm for at, pcm in self.received if start <= at <= end)

    async def first_voice_after(self, since: float, timeout: float) -> float | None:
        """The arrival of the first non-silent packet after ``since`` (None: none came)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            voiced = self.voiced_after(since)
            if voiced:
                return voiced[0]
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        voiced = self.voiced_after(since)
        return voiced[0] if voiced else None

    async def quiet_since(self, gap: float, timeout: float) -> float | None:
        """Wait until no voice has arrived for ``gap`` seconds; the last voice's arrival."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            voiced = self.voiced_after(0.0)
            last = voiced[-1] if voiced else 0.0
            if voiced and time.monotonic() - last >= gap:
                return last
            await asyncio.sleep(0.02)
        return None

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self.transport is not None:
            self.transport.close()


def caller_number(caller_index: int) -> str:
    """The number ``talking_call`` calls from."""
    return f"+1555010{caller_index:04d}"


@dataclass
class TalkingCall:
    uac: Uac
    call: OutCall
    peer: VoicePeer


@asynccontextmanager
async def talking_call(
    sip_port: int, number: str, *, caller_index: int = 0
) -> AsyncIterator[TalkingCall]:
    """A call from outside to ``number`` at dialtone's ``sip_port``, answered, media
    flowing both ways; hung up (if still up) and closed after. The caller's number is
    +1555010 and ``caller_index`` on four digits (``caller_number``)."""
    loop = asyncio.get_running_loop()
    rtp, peer = await loop.create_datagram_endpoint(VoicePeer, local_addr=("127.0.0.1", 0))
    media_port = rtp.get_extra_info("sockname")[1]
    sip, uac = await loop.create_datagram_endpoint(
        lambda: Uac(("127.0.0.1", sip_port), number), local_addr=("127.0.0.1", 0)
    )
    uac._counter = itertools.count(caller_index)
    try:
        call = await uac.call(media_port)
        peer.start(("127.0.0.1", await call.answered))
        yield TalkingCall(uac, call, peer)
        with suppress(TimeoutError, RuntimeError):
            await asyncio.wait_for(uac.hang_up(call), 5)
    finally:
        peer.close()
        sip.close()
