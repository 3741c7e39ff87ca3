"""TERMS D5: recordings sealed at rest; a wrong key, an altered or a truncated file never
opens."""

from __future__ import annotations

import io
import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import wave
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


# -- sealed as written (TERMS D5: no plain audio on disk, even mid-call or after a crash) --

CHUNK_SIZES = [1, 16 * 1024, sealed.CHUNK]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("size_in_chunks", [0, 0.5, 1, 1.5, 3])
def test_a_file_sealed_as_written_round_trips(
    tmp_path: Path, chunk_size: int, size_in_chunks: float
) -> None:
    # Just under, at and just over a chunk's boundary, written in odd pieces.
    data = os.urandom(int(size_in_chunks * chunk_size) if chunk_size > 1 else 5)
    target = tmp_path / "CA1.wav.sealed"
    writer = sealed.SealedWriter(target, KEY, chunk_size=chunk_size)
    for start in range(0, len(data), 333):
        writer.write(data[start : start + 333])
    writer.close()
    assert writer.size == len(data)
    assert sealed.is_sealed(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sealed.read(target, KEY) == data
    assert sealed.plain_size(target) == len(data)
    assert sealed.is_complete(target, KEY)


@pytest.mark.parametrize("chunk_size", [None, 0, sealed.CHUNK + 1])
def test_a_writer_refuses_chunks_out_of_range(tmp_path: Path, chunk_size: int | None) -> None:
    if chunk_size is None:
        sealed.SealedWriter(tmp_path / "ok.sealed", KEY).discard()  # the default is fine
        return
    with pytest.raises(ValueError, match="chunk_size"):
        sealed.SealedWriter(tmp_path / "x.sealed", KEY, chunk_size=chunk_size)


def _interrupted(tmp: Path, chunks: int, extra: int, chunk_size: int = 1024) -> tuple[Path, bytes]:
    """A file whose writer stopped (never closed) after ``chunks`` whole chunks and
    ``extra`` more bytes held in memory."""
    data = os.urandom(chunks * chunk_size + extra)
    target = tmp / "CA2.wav.sealed"
    writer = sealed.SealedWriter(target, KEY, chunk_size=chunk_size)
    writer.write(data)
    return target, data[: chunks * chunk_size]


def test_an_unfinished_file_is_detected_as_truncated(tmp_path: Path) -> None:
    target, _ = _interrupted(tmp_path, 3, 100)
    with pytest.raises(sealed.SealError, match="truncated"):
        sealed.read(target, KEY)
    assert not sealed.is_complete(target, KEY)
    # Cut in the middle of a chunk too (a write the kill interrupted).
    whole = target.read_bytes()
    target.write_bytes(whole[:-7])
    with pytest.raises(sealed.SealError):
        sealed.read(target, KEY)


@pytest.mark.parametrize("cut", [0, 1, 7, 1024 + 16 + 3])
def test_reading_an_interrupted_file_yields_its_complete_chunks(tmp_path: Path, cut: int) -> None:
    # ``cut`` bytes of a further chunk were on their way to the disk when it stopped:
    # none of them is vouched for, every whole chunk before them is.
    target, complete = _interrupted(tmp_path, 3, 100)
    with target.open("ab") as out:
        out.write(os.urandom(cut))
    assert b"".join(sealed.complete_chunks(target, KEY)) == complete
    assert sealed.plain_size(target) >= len(complete)


def test_an_interrupted_file_is_repaired_under_a_fresh_nonce_prefix(tmp_path: Path) -> None:
    target, complete = _interrupted(tmp_path, 2, 10)
    before = target.read_bytes()
    assert sealed.repair(target, KEY) == len(complete)
    after = target.read_bytes()
    assert after[8:16] != before[8:16]  # a nonce is never used twice
    assert sealed.read(target, KEY) == complete
    assert not list(tmp_path.glob("*.tmp"))
    assert sealed.repair(target, KEY) == len(complete)  # whole: left as it is
    assert target.read_bytes() == after


def test_an_altered_interrupted_file_is_refused_not_repaired(tmp_path: Path) -> None:
    target, _ = _interrupted(tmp_path, 3, 0)
    altered = bytearray(target.read_bytes())
    altered[40] ^= 1  # inside the first chunk
    target.write_bytes(bytes(altered))
    with pytest.raises(sealed.SealError):
        list(sealed.complete_chunks(target, KEY))
    with pytest.raises(sealed.SealError):
        sealed.repair(target, KEY)
    assert target.read_bytes() == bytes(altered)  # kept as evidence
    with pytest.raises(sealed.SealError):
        list(sealed.complete_chunks(target, bytes(32)))  # the wrong key


CRASHING_WRITER = """
import os, signal, sys
from pathlib import Path
from dialtone.store import sealed
writer = sealed.SealedWriter(Path(sys.argv[1]), bytes(range(32)), chunk_size=4096)
pcm = (bytes.fromhex(sys.argv[2]) * 4096)[: 4096 * 5 + 2048]  # 5 chunks and a half
for i in range(0, len(pcm), 160):
    writer.write(pcm[i : i + 160])
sys.stdout.write("written\\n")
sys.stdout.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_crash_mid_file_leaves_only_ciphertext(tmp_path: Path) -> None:
    # A real process, killed with SIGKILL while the file is open: what it leaves on the
    # disk is the header and whole sealed chunks, never a plain byte of the audio.
    target = tmp_path / "CA3.wav.sealed"
    pattern = b"RIFF\x11\x22\x33\x44PCM!"
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(target), pattern.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout == "written\n"
    raw = target.read_bytes()
    assert raw.startswith(sealed.MAGIC)
    assert b"RIFF" not in raw
    assert b"PCM!" not in raw
    kept = b"".join(sealed.complete_chunks(target, KEY))
    assert len(kept) % 4096 == 0
    assert len(kept) >= 4096
    assert kept == (pattern * 4096)[: len(kept)]
    assert sealed.repair(target, KEY) == len(kept)
    assert sealed.read(target, KEY) == kept


def _wav(frames: bytes, *, sizes: int = 0xFFFFFFFF) -> bytes:
    header = bytearray(b"RIFF" + struct.pack("<I", sizes) + b"WAVEfmt ")
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    header += b"data" + struct.pack("<I", sizes)
    return bytes(header) + frames


@pytest.mark.parametrize("seconds", [0, 1, 10])
def test_a_recording_s_wav_sizes_are_derived_when_read(tmp_path: Path, seconds: int) -> None:
    frames = os.urandom(16000 * seconds)
    target = tmp_path / "CA4.wav.sealed"
    writer = sealed.SealedWriter(target, KEY, chunk_size=16 * 1024)
    writer.write(_wav(frames))
    writer.close()
    with wave.open(io.BytesIO(b"".join(sealed.recording_chunks(target, KEY)))) as wav:
        assert wav.getnframes() == 8000 * seconds
        assert wav.readframes(wav.getnframes()) == frames
    plain = tmp_path / "CA5.wav"  # sealing off, or a file from before sealing
    plain.write_bytes(_wav(frames, sizes=0))
    with wave.open(io.BytesIO(b"".join(sealed.recording_chunks(plain, None)))) as wav:
        assert wav.getnframes() == 8000 * seconds
    with pytest.raises(sealed.SealError):
        list(sealed.recording_chunks(target, None))  # sealed, and no key to open it
    other = tmp_path / "export.zip"
    other.write_bytes(b"PK\x03\x04" + frames)
    assert b"".join(sealed.recording_chunks(other, KEY)) == b"PK\x03\x04" + frames
