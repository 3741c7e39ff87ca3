"""TERMS D5: recordings sealed at rest; a wrong key, an altered or a truncated file never
opens."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.store import sealed

KEY = bytes(range(32))


def _write(tmp: Path, data: bytes) -> Path:
    path = tmp / "CA1.wav"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "size", [0, 1, sealed.CHUNK - 1, sealed.CHUNK, sealed.CHUNK + 1, 3 * sealed.CHUNK]
)
def test_seal_round_trips_at_chunk_boundaries(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    target = sealed.seal(_write(tmp_path, data), KEY)
    assert target.name == "CA1.wav.sealed"
    assert not (tmp_path / "CA1.wav").exists()  # the plain file is gone
    assert not list(tmp_path.glob("*.tmp"))
    assert sealed.is_sealed(target)
    if size >= 16:
        assert data[:16] not in target.read_bytes()  # nothing of the audio shows
    assert sealed.read(target, KEY) == data


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3 * 1024))
def test_any_content_round_trips(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert sealed.read(sealed.seal(_write(Path(tmp), data), KEY), KEY) == data


def test_wrong_key_alteration_and_truncation_fail(tmp_path: Path) -> None:
    data = os.urandom(2 * sealed.CHUNK + 10)
    target = sealed.seal(_write(tmp_path, data), KEY)
    whole = target.read_bytes()
    with pytest.raises(sealed.SealError):
        sealed.read(target, bytes(32))
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 1
    target.write_bytes(bytes(flipped))
    with pytest.raises(sealed.SealError):
        sealed.read(target, KEY)
    first_chunk_end = len(sealed.MAGIC) + 8 + 4 + sealed.CHUNK + 16
    for cut in (first_chunk_end, len(whole) - 1, len(sealed.MAGIC) + 3):
        target.write_bytes(whole[:cut])
        with pytest.raises(sealed.SealError):
            sealed.read(target, KEY)
    target.write_bytes(whole + whole[-40:])  # a chunk appended after the last
    with pytest.raises(sealed.SealError):
        sealed.read(target, KEY)


def test_plain_files_from_before_sealing_are_read_as_they_are(tmp_path: Path) -> None:
    path = _write(tmp_path, b"RIFF....WAVEfmt ")
    assert not sealed.is_sealed(path)
    assert sealed.read(path, KEY) == b"RIFF....WAVEfmt "


def test_the_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "recordings.key"
    key = sealed.load_or_create_key(path)
    assert len(key) == sealed.KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sealed.load_or_create_key(path) == key
    with pytest.raises(ValueError, match="32 bytes"):
        sealed.parse_key("c2hvcnQ=")
    with pytest.raises(ValueError, match="base64"):
        sealed.parse_key("not base64!")
