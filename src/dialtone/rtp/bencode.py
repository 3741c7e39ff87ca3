"""Bencode (BEP 3), the encoding of rtpengine's NG control protocol (issue 19).

``encode`` takes ints, bytes, str (UTF-8), lists and dicts (str or bytes keys, written
sorted as BEP 3 wants); ``decode`` gives ints, bytes, lists and dicts with bytes keys,
and is strict: anything but exactly one well-formed value raises :class:`BencodeError`
naming the offset. A dict's keys need not arrive sorted (rtpengine writes its replies'
keys in its own order) but a key twice is refused, as are leading zeros, ``-0``, a
string longer than what is left, trailing bytes and nesting beyond ``MAX_DEPTH``.
"""

from __future__ import annotations

from typing import TypeAlias

# A decoded value: what ``decode`` gives back.
Value: TypeAlias = "int | bytes | list[Value] | dict[bytes, Value]"
# What ``encode`` takes: a decoded value, or one with str in place of bytes.
Encodable: TypeAlias = (
    "int | bytes | str | list[Encodable] | dict[str, Encodable] | dict[bytes, Encodable]"
)

# Deeper than any NG message (a query's tags → medias → streams → stats is five levels);
# the limit keeps a hostile datagram from exhausting the stack.
MAX_DEPTH = 32
_DIGITS = b"0123456789"


class BencodeError(ValueError):
    """Bytes that are not exactly one well-formed bencoded value."""


def encode(value: Encodable) -> bytes:
    """``value`` bencoded; dict keys sorted by their bytes (BEP 3).

    Raises TypeError for a type bencode has no form for (floats, None, bool)."""
    out: list[bytes] = []
    _encode(value, out, 0)
    return b"".join(out)


def _encode(value: Encodable, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, bool):
        # bool is an int subclass; True as i1e would hide a mistake in the caller.
        raise TypeError("bencode has no booleans: say 'yes' or 1")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, bytes):
        out.append(b"%d:" % len(value))
        out.append(value)
    elif isinstance(value, str):
        raw = value.encode()
        out.append(b"%d:" % len(raw))
        out.append(raw)
    elif isinstance(value, list):
        out.append(b"l")
        for item in value:
            _encode(item, out, depth + 1)
        out.append(b"e")
    elif isinstance(value, dict):
        items: list[tuple[bytes, Encodable]] = []
        for key, item in value.items():
            if isinstance(key, str):
                items.append((key.encode(), item))
            elif isinstance(key, bytes):
                items.append((key, item))
            else:
                raise TypeError(f"a dict key must be str or bytes, not {type(key).__name__}")
        items.sort(key=lambda pair: pair[0])
        out.append(b"d")
        previous: bytes | None = None
        for key, item in items:
            if key == previous:
                raise ValueError(f"key {key!r} twice")
            previous = key
            out.append(b"%d:" % len(key))
            out.append(key)
            _encode(item, out, depth + 1)
        out.append(b"e")
    else:
        raise TypeError(f"bencode has no form for {type(value).__name__}")


def decode(data: bytes) -> Value:
    """The one value ``data`` holds. Raises BencodeError otherwise."""
    value, end = _decode(data, 0, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} byte(s) after the value at offset {end}")
    return value


def _decode(data: bytes, at: int, depth: int) -> tuple[Value, int]:
    if depth > MAX_DEPTH:
        raise BencodeError(f"nested deeper than {MAX_DEPTH} at offset {at}")
    if at >= len(data):
        raise BencodeError(f"value expected at offset {at}, the data ends")
    lead = data[at]
    if lead == 0x69:  # i
        return _integer(data, at)
    if lead == 0x6C:  # l
        items: list[Value] = []
        at += 1
        while True:
            if at >= len(data):
                raise BencodeError("list not ended")
            if data[at] == 0x65:  # e
                return items, at + 1
            item, at = _decode(data, at, depth + 1)
            items.append(item)
    if lead == 0x64:  # d
        result: dict[bytes, Value] = {}
        at += 1
        while True:
            if at >= len(data):
                raise BencodeError("dict not ended")
            if data[at] == 0x65:
                return result, at + 1
            if data[at] not in _DIGITS:
                raise BencodeError(f"dict key must be a string at offset {at}")
            key, at = _string(data, at)
            if key in result:
                raise BencodeError(f"dict key {key!r} twice")
            result[key], at = _decode(data, at, depth + 1)
    if lead in _DIGITS:
        return _string(data, at)
    raise BencodeError(f"unexpected byte {bytes([lead])!r} at offset {at}")


def _integer(data: bytes, at: int) -> tuple[int, int]:
    end = data.find(b"e", at + 1)
    if end < 0:
        raise BencodeError(f"integer at offset {at} not ended")
    text = data[at + 1 : end]
    digits = text[1:] if text.startswith(b"-") else text
    if not digits or any(c not in _DIGITS for c in digits):
        raise BencodeError(f"bad integer {text!r} at offset {at}")
    if (digits.startswith(b"0") and len(digits) > 1) or text == b"-0":
        raise BencodeError(f"non-canonical integer {text!r} at offset {at}")
    return int(text), end + 1


def _string(data: bytes, at: int) -> tuple[bytes, int]:
    colon = data.find(b":", at)
    if colon < 0:
        raise BencodeError(f"string length at offset {at} not ended by ':'")
    text = data[at:colon]
    if not text or any(c not in _DIGITS for c in text):
        raise BencodeError(f"bad string length {text!r} at offset {at}")
    if text.startswith(b"0") and len(text) > 1:
        raise BencodeError(f"non-canonical string length {text!r} at offset {at}")
    length = int(text)
    start = colon + 1
    if start + length > len(data):
        raise BencodeError(f"string at offset {at} wants {length} bytes, {len(data) - start} left")
    return data[start : start + length], start + length
