"""RTP streams for the media relay benchmark: a generator and a sink in one tight loop.

Every stream sends one 20 ms G.711 A-law packet (172 bytes) every 20 ms, its phase spread
evenly over the period so packets leave steadily rather than in bursts. The packet carries
its stream id (as the SSRC), sequence number and the monotonic time it left; the sink
counts what arrives per stream and how long it took. Streams share a few sockets per
side (a relay latches on to whatever address sends to it). Not a benchmark itself.
"""

from __future__ import annotations

import json
import select
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PERIOD_NS = 20_000_000
SAMPLES = 160
FIELDS = struct.Struct("!HIIQ")  # at offset 2: sequence, timestamp, SSRC, send time (ns)
PACKET = b"\x80\x08" + bytes(FIELDS.size) + b"\xd5" * (SAMPLES - 8)  # 12 + 160 bytes
BUCKET_SHIFT = 17  # delay histogram buckets of 2**17 ns (~0.13 ms)
BUCKETS = 4096  # up to ~537 ms; later lands in the last bucket
BUFFER = 4 * 1024 * 1024


@dataclass(frozen=True)
class Stream:
    """Packets from ``sockets[source]`` to ``dest``, expected back on a socket of
    side ``arrives_on`` (0 or 1)."""

    source: int
    dest: tuple[str, int]
    arrives_on: int


def open_sockets(count: int) -> list[socket.socket]:
    """``count`` non-blocking UDP sockets on 127.0.0.1 with large buffers."""
    out = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        out.append(sock)
    return out


def _percentile(histogram: list[int], fraction: float) -> float:
    total = sum(histogram)
    if total == 0:
        return 0.0
    rank = fraction * total
    seen = 0
    for bucket, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return round(((bucket + 1) << BUCKET_SHIFT) / 1e6, 2)
    return round((BUCKETS << BUCKET_SHIFT) / 1e6, 2)


@dataclass
class MediaResult:
    streams: int
    seconds: float
    sent: int
    received: int
    lost: int
    late: int
    duplicated: int
    misdelivered: int
    send_errors: int
    delay_ms: dict[str, float]
    send_lag_ms: dict[str, float]

    @property
    def bad_ratio(self) -> float:
        """Lost or late packets, as a fraction of those sent."""
        return (self.lost + self.late) / self.sent if self.sent else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "streams": self.streams,
            "packets_sent": self.sent,
            "lost": self.lost,
            "late": self.late,
            "loss_percent": round(100 * self.lost / self.sent, 4) if self.sent else None,
            "late_percent": round(100 * self.late / self.sent, 4) if self.sent else None,
            "duplicated": self.duplicated,
            "misdelivered": self.misdelivered,
            "send_errors": self.send_errors,
            "delay_ms": self.delay_ms,
            "generator_send_lag_ms": self.send_lag_ms,
        }


def run_streams(
    streams: list[Stream],
    sockets: list[socket.socket],
    sides: list[int],
    seconds: float,
    *,
    late_ms: float = 40.0,
    drain: float = 0.5,
) -> MediaResult:
    """Send every stream for ``seconds`` and receive on every socket (``sides[i]`` is the
    side of ``sockets[i]``); packets arriving more than ``late_ms`` after they left are
    late, those not arrived ``drain`` seconds after the last one left are lost."""
    count = len(streams)
    cycles = max(1, round(seconds * 1e9 / PERIOD_NS))
    buffers = [bytearray(PACKET) for _ in streams]
    senders = [sockets[s.source].sendto for s in streams]
    dests = [s.dest for s in streams]
    expected = [s.arrives_on for s in streams]
    phases = [k * PERIOD_NS // count for k in range(count)]
    received = [0] * count
    late = [0] * count
    errors = [0] * count
    delays = [0] * BUCKETS
    lags = [0] * BUCKETS
    late_ns = int(late_ms * 1e6)
    misdelivered = 0
    poller = select.epoll()
    receivers = {}
    for sock, side in zip(sockets, sides, strict=True):
        poller.register(sock.fileno(), select.EPOLLIN)
        receivers[sock.fileno()] = (sock.recv, side)
    pack, unpack = FIELDS.pack_into, FIELDS.unpack_from
    clock = time.monotonic_ns
    last = BUCKETS - 1
    start = clock() + 20_000_000
    k, cycle = 0, 0
    due = start + phases[0]
    sending = True
    finish = 0
    try:
        while True:
            now = clock()
            if sending:
                while due <= now:
                    buffer = buffers[k]
                    pack(buffer, 2, cycle & 0xFFFF, (cycle * SAMPLES) & 0xFFFFFFFF, k, now)
                    try:
                        senders[k](buffer, dests[k])
                    except OSError:
                        errors[k] += 1
                    lag = (now - due) >> BUCKET_SHIFT
                    lags[lag if lag < last else last] += 1
                    k += 1
                    if k == count:
                        k = 0
                        cycle += 1
                        if cycle == cycles:
                            sending = False
                            finish = now + int(drain * 1e9)
                            break
                    due = start + cycle * PERIOD_NS + phases[k]
                timeout = 0.0 if not sending else min(max(due - clock(), 0) / 1e9, 0.001)
            else:
                if now >= finish:
                    break
                timeout = 0.01
            for fd, _ in poller.poll(timeout):
                recv, side = receivers[fd]
                for _ in range(64):
                    try:
                        data = recv(512)
                    except BlockingIOError:
                        break
                    arrived = clock()
                    _, _, stream, sent_at = unpack(data, 2)
                    if stream >= count:
                        misdelivered += 1
                        continue
                    delay = arrived - sent_at
                    bucket = delay >> BUCKET_SHIFT
                    delays[bucket if bucket < last else last] += 1
                    received[stream] += 1
                    if delay > late_ns:
                        late[stream] += 1
                    if expected[stream] != side:
                        misdelivered += 1
    finally:
        poller.close()
    sent = [cycles - errors[i] for i in range(count)]
    lost = sum(max(0, sent[i] - received[i]) for i in range(count))
    duplicated = sum(max(0, received[i] - sent[i]) for i in range(count))

    return MediaResult(
        streams=count,
        seconds=cycles * PERIOD_NS / 1e9,
        sent=sum(sent),
        received=sum(received),
        lost=lost,
        late=sum(late),
        duplicated=duplicated,
        misdelivered=misdelivered,
        send_errors=sum(errors),
        delay_ms=_spread(delays),
        send_lag_ms=_spread(lags),
    )


def _spread(histogram: list[int]) -> dict[str, float]:
    top = max((i for i, n in enumerate(histogram) if n), default=0)
    return {
        "p50": _percentile(histogram, 0.5),
        "p99": _percentile(histogram, 0.99),
        "p999": _percentile(histogram, 0.999),
        "max": round(((top + 1) << BUCKET_SHIFT) / 1e6, 2),
    }


BLAST_SOURCE = Path(__file__).with_name("rtp_blast.c")
BLAST_BINARY = Path(__file__).resolve().parents[1] / "build" / "bench" / "rtp_blast"


def native_generator() -> Path | None:
    """``rtp_blast`` (rtp_blast.c) built with the system's C compiler, rebuilt when its
    source is newer; None where no compiler is found."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    if not BLAST_BINARY.exists() or BLAST_BINARY.stat().st_mtime < BLAST_SOURCE.stat().st_mtime:
        BLAST_BINARY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [compiler, "-O2", "-pthread", "-o", str(BLAST_BINARY), str(BLAST_SOURCE)],
            check=True,
        )
    return BLAST_BINARY


def run_streams_native(
    streams: list[Stream],
    sockets: list[socket.socket],
    sides: list[int],
    seconds: float,
    *,
    late_ms: float = 40.0,
    drain: float = 0.5,
) -> MediaResult:
    """``run_streams`` in C (rtp_blast.c): the same packets, rules and result, with a
    sending thread and a receiving one batching system calls, for rates the Python loop
    cannot reach. The sockets are handed over open (inherited descriptors)."""
    binary = native_generator()
    if binary is None:
        return run_streams(streams, sockets, sides, seconds, late_ms=late_ms, drain=drain)
    fds = [sock.fileno() for sock in sockets]
    spec = "".join(f"{s.source} {s.dest[1]} {s.arrives_on}\n" for s in streams)
    done = subprocess.run(
        [str(binary), str(seconds), str(late_ms), str(drain)]
        + [f"{fd}:{side}" for fd, side in zip(fds, sides, strict=True)],
        input=spec,
        capture_output=True,
        text=True,
        pass_fds=fds,
        check=True,
    )
    out = json.loads(done.stdout)
    return MediaResult(
        streams=out["streams"],
        seconds=out["cycles"] * PERIOD_NS / 1e9,
        sent=out["sent"],
        received=out["received"],
        lost=out["lost"],
        late=out["late"],
        duplicated=out["duplicated"],
        misdelivered=out["misdelivered"],
        send_errors=out["send_errors"],
        delay_ms=_spread(out["delays"]),
        send_lag_ms=_spread(out["lags"]),
    )
