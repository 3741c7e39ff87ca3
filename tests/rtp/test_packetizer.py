"""20 ms framing and packet numbering with wraparound."""

from __future__ import annotations

import pytest

from dialtone.rtp.packetizer import Packetizer, frames, samples_per_frame


def test_samples_per_frame() -> None:
    assert samples_per_frame() == 160
    assert samples_per_frame(16000, 20) == 320
    assert samples_per_frame(8000, 30) == 240


def test_frames_pad_the_last_one() -> None:
    pcm = b"\x01\x00" * 200  # 200 samples: one full frame and 40 samples left
    out = list(frames(pcm, frame_bytes=320))
    assert [len(f) for f in out] == [320, 320]
    assert out[1] == b"\x01\x00" * 40 + b"\x00\x00" * 120
    assert list(frames(b"", frame_bytes=320)) == []
    with pytest.raises(ValueError):  # noqa: PT011
        list(frames(b"\x00", frame_bytes=3))


def test_numbering_wraps() -> None:
    p = Packetizer(payload_type=8, ssrc=5, first_sequence=65534, first_timestamp=2**32 - 160)
    a, b, c = (p.packetize(b"\xd5" * 160, marker=i == 0) for i in range(3))
    assert [x.sequence_number for x in (a, b, c)] == [65534, 65535, 0]
    assert [x.timestamp for x in (a, b, c)] == [2**32 - 160, 0, 160]
    assert (a.marker, b.marker) == (True, False)
    assert {x.ssrc for x in (a, b, c)} == {5}
