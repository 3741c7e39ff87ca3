"""Recordings encrypted at rest (TERMS D5).

A finished recording (a call's WAV, a voicemail message) is sealed: encrypted with
AES-256-GCM in 64 KiB chunks into ``<name>.sealed``, written to a temporary file,
flushed to disk and renamed, and only then is the plain file removed. Each chunk's nonce
is the file's random prefix and the chunk's number; the last chunk is marked in its
associated data, so a reordered, altered or truncated file fails to open instead of
playing garbage.

The key is 32 bytes: the ``recording_key`` setting (base64), or a key generated on first
start in ``<data_dir>/keys/recordings.key`` (mode 0600). Losing the key loses the
recordings: back it up with the database.

File layout: ``MAGIC`` (8 bytes), nonce prefix (8 bytes), then chunks, each
``length (4 bytes, big-endian) || ciphertext+tag``.
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


def write(data: bytes, target: Path, key: bytes) -> Path:
    """Store ``data`` sealed at ``target`` (never plain on disk: identity documents,
    say), durably; returns ``target``."""
    _write(io.BytesIO(data), target, key)
    return target


def _write(source: BinaryIO, target: Path, key: bytes) -> None:
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
        os.fsync(out.fileno())
    temporary.replace(target)
    _sync_directory(target.parent)


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
    with path.open("rb") as source:
        head = source.read(len(MAGIC))
        if head != MAGIC:
            yield head
            while block := source.read(CHUNK):
                yield block
            return
        prefix = source.read(_PREFIX_BYTES)
        if len(prefix) != _PREFIX_BYTES:
            raise SealError(f"{path.name}: truncated header")
        cipher = AESGCM(key)
        index = 0
        while True:
            size = source.read(_LENGTH.size)
            if len(size) != _LENGTH.size:
                raise SealError(f"{path.name}: truncated (no last chunk)")
            (length,) = _LENGTH.unpack(size)
            body = source.read(length)
            if len(body) != length or length < _TAG_BYTES:
                raise SealError(f"{path.name}: truncated chunk {index}")
            last = not source.peek(1)  # the end of the file follows: this must be the last
            try:
                plain = cipher.decrypt(_nonce(prefix, index), body, _aad(index, last))
            except InvalidTag:
                raise SealError(
                    f"{path.name}: chunk {index} does not open (wrong key, or altered)"
                ) from None
            yield plain
            if last:
                return
            index += 1


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
