"""Recordings encrypted at rest (TERMS D5).

A recording (a call's WAV, a voicemail message) is sealed as it is written
(:class:`SealedWriter`): encrypted with AES-256-GCM chunk by chunk straight into
``<name>.sealed``, so no plain audio reaches the disk, only the chunk being filled is
held in memory. A finished file (an export, a document) is sealed whole
(:func:`seal`, :func:`write`) through a temporary file that is flushed and renamed.
Each chunk's nonce is the file's random prefix and the chunk's number; the last chunk is
marked in its associated data, so a reordered, altered or truncated file fails to open
instead of playing garbage. A file a crash cut short (no last chunk) is *interrupted*:
:func:`complete_chunks` reads the chunks it holds and :func:`repair` seals them again
as a whole file.

The key is 32 bytes: the ``recording_key`` setting (base64), or a key generated on first
start in ``<data_dir>/keys/recordings.key`` (mode 0600). Losing the key loses the
recordings: back it up with the database.

File layout: ``MAGIC`` (8 bytes), nonce prefix (8 bytes), then chunks, each
``length (4 bytes, big-endian) || ciphertext+tag``. Chunks hold at most 64 KiB; a
writer may choose smaller ones (the length says).

A WAV sealed as it is written cannot have its header's sizes patched at the end: they
are derived from the file's length when it is read (:func:`recording_chunks`).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"DTSEAL1\n"
SUFFIX = ".sealed"
CHUNK = 64 * 1024
KEY_BYTES = 32
_PREFIX_BYTES = 8
_LENGTH = struct.Struct(">I")
_TAG_BYTES = 16


class SealError(Exception):
    """A sealed file that cannot be opened: wrong key, altered or truncated."""


def parse_key(text: str) -> bytes:
    """A key from its base64 text (the ``recording_key`` setting)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("recording_key is not base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"recording_key must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
    return key


def load_or_create_key(path: Path) -> bytes:
    """The key kept in ``path``, created (32 random bytes, mode 0600) when absent."""
    if path.exists():
        return parse_key(path.read_text(encoding="ascii"))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text + "\n")
        out.flush()
        os.fsync(out.fileno())
    return parse_key(text)


def key_for(setting: str | None, key_file: Path) -> bytes:
    """The recording key: the setting when given, else the generated key file's."""
    return parse_key(setting) if setting else load_or_create_key(key_file)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(index: int, last: bool) -> bytes:
    return MAGIC + struct.pack(">I?", index, last)


def seal(path: Path, key: bytes) -> Path:
    """Encrypt the finished file ``path`` into ``path.sealed`` and remove the plain one;
    returns the sealed path. Durable: the sealed file is on disk before the plain one
    goes."""
    target = path.with_name(path.name + SUFFIX)
    with path.open("rb") as source:
        _write(source, target, key)
    path.unlink()
    return target


def write(data: bytes, target: Path, key: bytes, *, durable: bool = True) -> Path:
    """Store ``data`` sealed at ``target`` (never plain on disk: identity documents,
    say); returns ``target``. ``durable`` flushes it to the disk before the rename (a
    small note written on the event loop can skip that: a process crash keeps it)."""
    _write(io.BytesIO(data), target, key, durable=durable)
    return target


def _write(source: BinaryIO, target: Path, key: bytes, *, durable: bool = True) -> None:
    temporary = target.with_name(target.name + ".tmp")
    cipher = AESGCM(key)
    prefix = secrets.token_bytes(_PREFIX_BYTES)
    with temporary.open("wb") as out:
        out.write(MAGIC + prefix)
        index = 0
        chunk = source.read(CHUNK)
        while True:
            following = source.read(CHUNK)
            last = not following
            sealed = cipher.encrypt(_nonce(prefix, index), chunk, _aad(index, last))
            out.write(_LENGTH.pack(len(sealed)) + sealed)
            if last:
                break
            chunk, index = following, index + 1
        out.flush()
        if durable:
            os.fsync(out.fileno())
    temporary.replace(target)
    if durable:
        _sync_directory(target.parent)


class SealedWriter:
    """A file sealed as it is written (TERMS D5: no plain audio on disk, even while a
    call is recorded and after a crash).

    Bytes are gathered in memory up to ``chunk_size``; each full chunk is encrypted and
    handed to the kernel at once (an unbuffered file), so a killed process leaves every
    full chunk readable and nothing plain. :meth:`close` seals what is left as the
    marked last chunk and flushes the file to the disk; a file without that last chunk
    is interrupted (see :func:`complete_chunks`)."""

    def __init__(self, target: Path, key: bytes, *, chunk_size: int = CHUNK) -> None:
        if not 0 < chunk_size <= CHUNK:
            raise ValueError(f"chunk_size is 1 to {CHUNK} bytes")
        self.path = target
        self.size = 0  # plain bytes taken so far
        self._cipher = AESGCM(key)
        self._prefix = secrets.token_bytes(_PREFIX_BYTES)
        self._chunk = chunk_size
        self._buffer = bytearray()
        self._index = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._out: BinaryIO | None = os.fdopen(fd, "wb", buffering=0)
        self._out.write(MAGIC + self._prefix)

    def write(self, data: bytes) -> None:
        """Take ``data``; every chunk it fills is sealed and written now."""
        if self._out is None:
            raise ValueError("the sealed file is closed")
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self._chunk:
            self._seal(bytes(self._buffer[: self._chunk]), last=False)
            del self._buffer[: self._chunk]

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        assert self._out is not None
        nonce = _nonce(self._prefix, self._index)
        sealed = self._cipher.encrypt(nonce, chunk, _aad(self._index, last))
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1

    def close(self, *, durable: bool = True) -> None:
        """Seal what is left as the last chunk (empty if need be) and close; ``durable``
        flushes the file to the disk first (:func:`sync` can do that later, off an event
        loop)."""
        out = self._out
        if out is None:
            return
        try:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            if durable:
                os.fsync(out.fileno())
        finally:
            self._out = None
            out.close()
        if durable:
            _sync_directory(self.path.parent)

    def discard(self) -> None:
        """Close without a last chunk and delete the file."""
        out, self._out = self._out, None
        self._buffer.clear()
        if out is not None:
            out.close()
        self.path.unlink(missing_ok=True)


def sync(path: Path) -> None:
    """Flush ``path`` and its directory entry to the disk (a file written without it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_sealed(path: Path) -> bool:
    """Whether ``path`` is a sealed file (by its first bytes)."""
    with path.open("rb") as source:
        return source.read(len(MAGIC)) == MAGIC


def chunks(path: Path, key: bytes) -> Iterator[bytes]:
    """The plain content of ``path`` chunk by chunk: decrypted when it is sealed, as it
    is otherwise (recordings made before sealing was on). Raises :class:`SealError` on a
    wrong key or an altered or truncated file (never yields what it cannot vouch for)."""
    return _chunks(path, key, interrupted=False)


def complete_chunks(path: Path, key: bytes) -> Iterator[bytes]:
    """The plain content of a sealed file that may be interrupted (a crash cut it short
    of its last chunk): every whole chunk it holds, in order, each authenticated, and
    nothing of a chunk cut in the middle. Raises :class:`SealError` on a wrong key or an
    altered chunk; a whole file reads as with :func:`chunks`."""
    return _chunks(path, key, interrupted=True)


def _chunks(path: Path, key: bytes, *, interrupted: bool) -> Iterator[bytes]:
    with path.open("rb") as source:
        head = source.read(len(MAGIC))
        if head != MAGIC:
            yield head
            while block := source.read(CHUNK):
                yield block
            return
        prefix = source.read(_PREFIX_BYTES)
        if len(prefix) != _PREFIX_BYTES:
            if interrupted:
                return
            raise SealError(f"{path.name}: truncated header")
        cipher = AESGCM(key)
        index = 0
        while True:
            size = source.read(_LENGTH.size)
            if len(size) != _LENGTH.size:
                if interrupted:
                    return  # every chunk written is read; the last one never came
                raise SealError(f"{path.name}: truncated (no last chunk)")
            (length,) = _LENGTH.unpack(size)
            body = source.read(length)
            if len(body) != length or length < _TAG_BYTES:
                if interrupted:
                    return  # a chunk cut in the middle: nothing of it is vouched for
                raise SealError(f"{path.name}: truncated chunk {index}")
            last = not source.peek(1)  # the end of the file follows: this must be the last
            plain = _open_chunk(cipher, prefix, index, body, last)
            if plain is None and last:
                # The file ends on a whole chunk that is not marked last: it was cut
                # short right after that chunk was written.
                plain = _open_chunk(cipher, prefix, index, body, False)
                if plain is not None and not interrupted:
                    raise SealError(f"{path.name}: truncated (no last chunk)")
            if plain is None:
                raise SealError(f"{path.name}: chunk {index} does not open (wrong key, or altered)")
            yield plain
            if last:
                return
            index += 1


def _open_chunk(cipher: AESGCM, prefix: bytes, index: int, body: bytes, last: bool) -> bytes | None:
    try:
        return cipher.decrypt(_nonce(prefix, index), body, _aad(index, last))
    except InvalidTag:
        return None


def is_complete(path: Path, key: bytes) -> bool:
    """Whether the sealed file ``path`` opens whole (its last chunk is there). Raises
    :class:`SealError` when a chunk is altered or the key is wrong."""
    try:
        for _ in chunks(path, key):
            pass
    except SealError:
        for _ in complete_chunks(path, key):  # raises when it is not a mere cut
            pass
        return False
    return True


def repair(path: Path, key: bytes, *, chunk_size: int = CHUNK) -> int:
    """Make an interrupted sealed file whole: its complete chunks are sealed again
    under a fresh nonce prefix (a nonce is never used twice) with the last one marked,
    through a temporary file renamed over it. A whole file is left as it is. Returns the
    plain bytes the file holds. Raises :class:`SealError` on an altered file."""
    if is_complete(path, key):
        return plain_size(path)
    temporary = path.with_name(path.name + ".tmp")
    writer = SealedWriter(temporary, key, chunk_size=chunk_size)
    try:
        for chunk in complete_chunks(path, key):
            writer.write(chunk)
        writer.close()
    except BaseException:
        writer.discard()
        raise
    temporary.replace(path)
    _sync_directory(path.parent)
    return writer.size


def plain_size(path: Path) -> int:
    """How many plain bytes ``path`` holds, from its chunks' lengths (nothing is
    decrypted; a plain file's size)."""
    with path.open("rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            return path.stat().st_size
        source.seek(_PREFIX_BYTES, os.SEEK_CUR)
        total = 0
        while len(size := source.read(_LENGTH.size)) == _LENGTH.size:
            (length,) = _LENGTH.unpack(size)
            total += max(0, length - _TAG_BYTES)
            source.seek(length, os.SEEK_CUR)
        return total


WAV_HEADER_BYTES = 44


def read_recording(path: Path, key: bytes | None) -> bytes:
    """A recording's whole WAV, sealed or plain (:func:`recording_chunks` joined): what
    a transcriber reads."""
    return b"".join(recording_chunks(path, key))


def recording_chunks(path: Path, key: bytes | None) -> Iterator[bytes]:
    """A recording's WAV, chunk by chunk (see :func:`chunks`), with its header's RIFF
    and data sizes set from the file's length: a WAV sealed as it was written could not
    have them patched at its end, nor one a crash cut short. Anything that does not
    start with a canonical 44-byte PCM header passes unchanged. ``key`` None reads
    plain files only."""
    if key is None:
        if is_sealed(path):
            raise SealError(f"{path.name}: sealed, and no key is configured")
        key = bytes(KEY_BYTES)  # never used: a plain file is read as it is
    total = plain_size(path)
    head = bytearray()
    source = chunks(path, key)
    for chunk in source:
        head += chunk
        if len(head) >= WAV_HEADER_BYTES:
            break
    yield bytes(_wav_sizes(head, total))
    yield from source


def _wav_sizes(head: bytearray, total: int) -> bytearray:
    if (
        len(head) >= WAV_HEADER_BYTES
        and head[0:4] == b"RIFF"
        and head[8:12] == b"WAVE"
        and head[36:40] == b"data"
    ):
        head[4:8] = struct.pack("<I", min(total - 8, 0xFFFFFFFF))
        head[40:44] = struct.pack("<I", min(total - WAV_HEADER_BYTES, 0xFFFFFFFF))
    return head


def read(path: Path, key: bytes) -> bytes:
    """The whole plain content of ``path`` (see :func:`chunks`)."""
    return b"".join(chunks(path, key))


# -- short secrets in a column -------------------------------------------------------------
# A secret the platform must use itself (a trunk's password: a digest response needs it,
# a hash would not do) is kept sealed in its column with the same key: AES-256-GCM, a
# random 96-bit nonce, and the row it belongs to as associated data, so a sealed value
# copied onto another row (a trunk pointed at another host) does not open.
TEXT_PREFIX = "dtseal1:"
_TEXT_NONCE_BYTES = 12


def _text_aad(context: str) -> bytes:
    return b"dialtone-column:" + context.encode("utf-8")


def seal_text(text: str, key: bytes, *, context: str) -> str:
    """``text`` sealed for a database column: ``dtseal1:`` and base64url of the nonce and
    the ciphertext. ``context`` names what it belongs to (``trunks.password:TR…``)."""
    nonce = secrets.token_bytes(_TEXT_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, text.encode("utf-8"), _text_aad(context))
    return TEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def is_sealed_text(value: str) -> bool:
    """Whether a column value was written by :func:`seal_text`."""
    return value.startswith(TEXT_PREFIX)


def open_text(value: str, key: bytes, *, context: str) -> str:
    """The text :func:`seal_text` sealed for ``context``; :class:`SealError` on a wrong
    key, another context, or an altered or plain value."""
    if not is_sealed_text(value):
        raise SealError(f"{context}: not a sealed value")
    body = value.removeprefix(TEXT_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise SealError(f"{context}: not a sealed value") from None
    if len(raw) < _TEXT_NONCE_BYTES + _TAG_BYTES:
        raise SealError(f"{context}: truncated")
    try:
        plain = AESGCM(key).decrypt(
            raw[:_TEXT_NONCE_BYTES], raw[_TEXT_NONCE_BYTES:], _text_aad(context)
        )
    except InvalidTag:
        raise SealError(f"{context}: does not open (wrong key, another row, or altered)") from None
    return plain.decode("utf-8")
