"""Inbound concatenated SMS put back together (TERMS M1).

Parts of one message share (source, destination, reference); each says the total and
its sequence, read from the user data header (``sms_parts.parse_udh``) or from the SAR
TLVs (``ConcatInfo(ref, total, seq, 16)``). The ``Reassembler`` holds the parts until
the last one arrives, then returns the whole text; parts that never complete are dropped
by ``expire(now)`` after a timeout and handed back so the caller can deliver what came or
log it. Sans-I/O: time comes in as ``now`` (seconds, any monotonic origin).
"""

from __future__ import annotations

from dataclasses import dataclass

from dialtone.core.sms_encoding import SmsEncodingError, decode_short_message
from dialtone.core.sms_parts import ConcatInfo

DEFAULT_TIMEOUT = 300.0  # seconds; SMSCs retry a part for minutes, not hours
_REPLACEMENT = "\ufffd"

Key = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Fragment:
    """One part as it came: its SMPP ``data_coding`` and payload (header removed)."""

    data_coding: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A message dropped before its last part: who sent it to whom, its reference and
    total, the sequences that came and those missing, when its first part came, and
    ``text``: the parts that came, decoded in sequence order (a part that does not
    decode alone reads as U+FFFD)."""

    source: str
    destination: str
    reference: int
    total: int
    received: tuple[int, ...]
    missing: tuple[int, ...]
    started: float
    text: str


@dataclass(slots=True)
class _Pending:
    total: int
    started: float
    fragments: dict[int, Fragment]


class Reassembler:
    """Collects the parts of concatenated messages until each is whole (TERMS M1).

    Duplicates of a part already held are ignored (the first copy is kept), and so is a
    late copy of a part of a message already delivered (the same total, sequence and
    octets, within the timeout after its delivery: SMSCs resend a part whose response
    they missed). A part whose total differs from the parts held under the same key
    starts a new message: the old one can no longer complete (the sender reused the
    reference) and is handed back by the next ``expire``.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError(f"the timeout must be positive, not {timeout}")
        self.timeout = timeout
        self._pending: dict[Key, _Pending] = {}
        self._displaced: list[Incomplete] = []
        # Delivered messages, by key, dated at delivery: to know a late copy of a part.
        self._delivered: dict[Key, _Pending] = {}

    @property
    def pending(self) -> int:
        """How many messages wait for parts."""
        return len(self._pending)

    def add(
        self,
        source: str,
        destination: str,
        info: ConcatInfo,
        fragment: Fragment,
        now: float,
    ) -> str | None:
        """TERMS M1: take one part (``info`` from its header or SAR TLVs, ``fragment``
        its data coding and payload); the whole text when it was the last one missing,
        else None.

        The payloads are joined in sequence order before decoding, so an escape or
        surrogate pair a non-conforming sender split across parts still reads right.
        Raises ``SmsEncodingError`` for a total or sequence out of range (SAR values
        come unchecked) and when the completed message does not decode (it is dropped
        then: it never will).
        """
        if info.total < 1 or not 1 <= info.sequence <= info.total:
            raise SmsEncodingError(
                f"part {info.sequence} of {info.total} is not a part of a message"
            )
        key = (source, destination, info.reference)
        delivered = self._delivered.get(key)
        if (
            delivered is not None
            and delivered.total == info.total
            and delivered.fragments.get(info.sequence) == fragment
        ):
            return None
        held = self._pending.get(key)
        if held is not None and held.total != info.total:
            self._displaced.append(_incomplete(key, held))
            held = None
        if held is None:
            held = _Pending(info.total, now, {})
            self._pending[key] = held
        if info.sequence in held.fragments:
            return None
        held.fragments[info.sequence] = fragment
        if len(held.fragments) < held.total:
            return None
        del self._pending[key]
        self._delivered[key] = _Pending(held.total, now, held.fragments)
        return _decode_whole(held)

    def expire(self, now: float) -> list[Incomplete]:
        """TERMS M1: drop the messages whose first part came ``timeout`` seconds or more
        before ``now`` and return them, with those displaced by a reused reference since
        the last call, oldest first. Forgets the messages delivered as long ago."""
        self._delivered = {
            key: held for key, held in self._delivered.items() if now - held.started < self.timeout
        }
        due = [key for key, held in self._pending.items() if now - held.started >= self.timeout]
        dropped = self._displaced
        self._displaced = []
        for key in due:
            dropped.append(_incomplete(key, self._pending.pop(key)))
        dropped.sort(key=lambda incomplete: incomplete.started)
        return dropped


def _decode_whole(held: _Pending) -> str:
    fragments = [held.fragments[sequence] for sequence in range(1, held.total + 1)]
    codings = {fragment.data_coding for fragment in fragments}
    if len(codings) == 1:
        joined = b"".join(fragment.payload for fragment in fragments)
        return decode_short_message(fragments[0].data_coding, joined)
    return "".join(decode_short_message(f.data_coding, f.payload) for f in fragments)


def _incomplete(key: Key, held: _Pending) -> Incomplete:
    received = tuple(sorted(held.fragments))
    missing = tuple(s for s in range(1, held.total + 1) if s not in held.fragments)
    return Incomplete(
        source=key[0],
        destination=key[1],
        reference=key[2],
        total=held.total,
        received=received,
        missing=missing,
        started=held.started,
        text="".join(_decode_alone(held.fragments[sequence]) for sequence in received),
    )


def _decode_alone(fragment: Fragment) -> str:
    try:
        return decode_short_message(fragment.data_coding, fragment.payload)
    except SmsEncodingError:
        return _REPLACEMENT
