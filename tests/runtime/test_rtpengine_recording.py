"""A recorded call's pcap read as rtpengine writes it: drained while it grows (records
cut anywhere), finished into the sealed stereo WAV, the pcap and metadata deleted; a
discarded recording leaves nothing; a missing or foreign file leaves an empty WAV."""

from __future__ import annotations

import itertools
import struct
from datetime import UTC, datetime
from pathlib import Path

from dialtone.codecs.g711 import decoder_for
from dialtone.runtime.rtpengine_recording import PcapRecording, metadata_of, pcaps_of
from dialtone.runtime.sealing import CallFacts, facts_path
from dialtone.store import sealed
from tests.rtp import pcapgen

KEY = bytes(range(32))
CALL = "CA9-1"
PORTS = (31020, 31000)


def _facts() -> CallFacts:
    return CallFacts(
        account_id="AC1",
        direction="inbound",
        from_number="+331",
        to_number="+332",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        answered_at=None,
        sip_call_id="x",
        sip_local_tag="t",
        record_id="CA9",
    )


def _pcap(packets: int) -> bytes:
    data = bytearray(pcapgen.header(101))
    for i in range(packets):
        t = 50.0 + i * 0.02
        caller = pcapgen.rtp(i, i * 160, 1, b"\x80" * 160, 8)
        callee = pcapgen.rtp(i, 9000 + i * 160, 2, b"\xd5" * 160, 8)
        data += pcapgen.record(
            t, pcapgen.ipv4_udp(("127.0.0.1", 4000), ("127.0.0.1", PORTS[0]), caller)
        )
        data += pcapgen.record(
            t, pcapgen.ipv4_udp(("127.0.0.1", 4002), ("127.0.0.1", PORTS[1]), callee)
        )
    return bytes(data)


def _recording(tmp: Path, path: Path) -> PcapRecording:
    return PcapRecording(
        path,
        recording_dir=tmp / "rec",
        call_id=CALL,
        codec="PCMA",
        payload_type=8,
        ports=PORTS,
        key=KEY,
        facts=_facts(),
    )


def test_a_growing_pcap_drained_then_finished(tmp_path: Path) -> None:
    (tmp_path / "rec" / "pcaps").mkdir(parents=True)
    (tmp_path / "rec" / "metadata").mkdir()
    pcap = tmp_path / "rec" / "pcaps" / f"{CALL}-0123456789abcdef.pcap"
    meta = tmp_path / "rec" / "metadata" / f"rtpengine-meta-{CALL}-0123456789abcdef.txt"
    other = tmp_path / "rec" / "pcaps" / f"{CALL}0-0123456789abcdef.pcap"  # another call
    other.write_bytes(b"")
    path = tmp_path / "calls" / "CA9.wav.sealed"
    recording = _recording(tmp_path, path)
    assert facts_path(path).exists()  # the crash note from the start (D5)
    recording.drain()  # no pcap yet: nothing happens
    data = _pcap(250)  # 5 s
    cuts = [0, 1000, 1001, 30_000, 77_777, len(data)]
    for start, end in itertools.pairwise(cuts):
        with pcap.open("ab") as grow:
            grow.write(data[start:end])
        recording.drain()
    # Drained while growing: all but the guard's last seconds are written already.
    assert recording.placer.frames >= 2 * 8000
    meta.write_text("rtpengine's metadata")
    assert pcaps_of(tmp_path / "rec", CALL) == [pcap]
    assert metadata_of(tmp_path / "rec", CALL) == [meta]
    recording.finish()
    recording.finish()  # once only
    assert not pcap.exists()
    assert not meta.exists()
    assert other.exists()
    wav = sealed.read_recording(path, KEY)
    frames = list(struct.iter_unpack("<hh", wav[44:]))
    assert len(frames) == 250 * 160
    (left,) = struct.unpack("<h", decoder_for("PCMA")(b"\x80"))
    (right,) = struct.unpack("<h", decoder_for("PCMA")(b"\xd5"))
    assert set(frames) == {(left, right)}


def test_a_discarded_recording_leaves_nothing(tmp_path: Path) -> None:
    pcap = tmp_path / "rec" / "pcaps" / f"{CALL}-0123456789abcdef.pcap"
    pcap.parent.mkdir(parents=True)
    pcap.write_bytes(_pcap(10))
    path = tmp_path / "CA9.wav.sealed"
    recording = _recording(tmp_path, path)
    recording.drain()
    recording.discard()
    recording.finish()
    assert not path.exists()
    assert not facts_path(path).exists()
    assert not pcap.exists()


def test_no_pcap_or_a_foreign_file_leaves_an_empty_recording(tmp_path: Path) -> None:
    path = tmp_path / "CA9.wav.sealed"
    _recording(tmp_path, path).finish()
    assert sealed.read_recording(path, KEY)[44:] == b""
    pcap = tmp_path / "rec" / "pcaps" / f"{CALL}-0123456789abcdef.pcap"
    pcap.parent.mkdir(parents=True)
    pcap.write_bytes(b"not a pcap at all, not at all")
    foreign = _recording(tmp_path, path)
    foreign.drain()
    assert foreign.bad
    foreign.finish()
    assert sealed.read_recording(path, KEY)[44:] == b""
    assert not pcap.exists()
