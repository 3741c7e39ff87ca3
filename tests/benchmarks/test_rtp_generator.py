"""The media benchmarks' generator and sink in C (``benchmarks/rtp_blast.c``) against the
Python one it replaces for high rates (``benchmarks/_rtp.py``): the same packets, the same
counts. Short runs straight from socket to socket; the benchmarks themselves are not run
here (``make bench`` runs them)."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import _rtp

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler"
)


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened = _rtp.open_sockets(4)
    yield opened
    for sock in opened:
        sock.close()


def _streams(sockets: list[socket.socket], calls: int) -> list[_rtp.Stream]:
    ports = [sock.getsockname()[1] for sock in sockets]
    out = [_rtp.Stream(i % 2, ("127.0.0.1", ports[2 + i % 2]), 1) for i in range(calls)]
    out += [_rtp.Stream(2 + i % 2, ("127.0.0.1", ports[i % 2]), 0) for i in range(calls)]
    return out


def test_every_packet_sent_arrives_on_its_side_and_is_counted(
    sockets: list[socket.socket],
) -> None:
    streams = _streams(sockets, 20)
    result = _rtp.run_streams_native(streams, sockets, [0, 0, 1, 1], 0.5, drain=0.2)
    assert result.streams == 40
    assert result.sent == 40 * 25  # 0.5 s of 20 ms packets per stream
    assert result.received == result.sent
    assert (result.lost, result.duplicated, result.misdelivered, result.send_errors) == (
        0,
        0,
        0,
        0,
    )
    assert result.delay_ms["p50"] < 40


def test_packets_sent_to_a_port_nobody_reads_are_lost(sockets: list[socket.socket]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as deaf:
        deaf.bind(("127.0.0.1", 0))  # bound, never read: its packets reach no sink
        nowhere = deaf.getsockname()[1]
        streams = [*_streams(sockets, 5), _rtp.Stream(0, ("127.0.0.1", nowhere), 1)]
        result = _rtp.run_streams_native(streams, sockets, [0, 0, 1, 1], 0.2, drain=0.1)
    assert result.sent == 11 * 10
    assert result.lost == 10
    assert result.received == 100


def test_a_packet_arriving_on_the_wrong_side_is_misdelivered(
    sockets: list[socket.socket],
) -> None:
    ports = [sock.getsockname()[1] for sock in sockets]
    wrong = [_rtp.Stream(0, ("127.0.0.1", ports[2]), 0)]  # lands on side 1
    result = _rtp.run_streams_native(wrong, sockets, [0, 0, 1, 1], 0.1, drain=0.1)
    assert result.received == result.sent == 5
    assert result.misdelivered == 5
