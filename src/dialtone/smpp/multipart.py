"""The parts of customers' long messages, held until the message is whole (TERMS M1).

The terms are checked on a whole message (M1 counts its parts, M4 reads its text), and a
submit_sm_resp is an acknowledgement (the message is stored first). So each part's
submit_sm is answered only when its message is whole and stored, every part with the
same message id; the collector holds the parts' "tickets" (whatever the caller needs to
answer them) meanwhile. Limits of that choice, which the SMPP server's docs repeat:

- A client that waits for each answer before sending the next part (a window of 1)
  waits until ``timeout``, then every part held is refused: such a client must send
  long messages with message_payload, or widen its window.
- Parts that never complete are refused after ``timeout``; a part whose total differs
  from the parts held under the same reference starts a new message and the old parts
  are refused (``ESME_RSUBMITFAIL``), both handed back by ``expire``.
- A copy of a part of a message already answered (a client resending a part whose
  answer it missed) gets the same answer, within ``timeout``: it is not stored twice.

Parts are grouped by (owner, sender, recipient, reference): the owner is the caller's
(the login), so two customers' references never meet. The octets are joined, then
decoded, by ``core.sms_reassembly.Reassembler`` (an escape or surrogate pair split
between parts still reads). Pure: time comes in as ``now`` (monotonic seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from dialtone.core.sms_encoding import SmsEncodingError
from dialtone.core.sms_parts import ConcatInfo
from dialtone.core.sms_reassembly import Fragment, Reassembler
from dialtone.smpp.constants import CommandStatus

T = TypeVar("T")
Key = tuple[str, str, str, int]
# What a submit_sm is answered with: its command_status and message id ("" on error).
Answer = tuple[int, str]
DEFAULT_TIMEOUT = 20.0  # seconds: under the 30-60 s clients wait for an answer
DEFAULT_MAX_HELD = 10_000  # messages in parts at once, all owners together


@dataclass(frozen=True, slots=True)
class Held:
    """The part is kept; its answer comes with its message's."""


@dataclass(frozen=True, slots=True)
class Whole(Generic[T]):
    """The message is whole: check and store ``text``, answer every ticket, then tell
    the collector the answer (``settle(key, answer)``) for copies that come later."""

    key: Key
    text: str
    tickets: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class Repeat:
    """A copy of a part of a message already answered: answer it the same way."""

    answer: Answer


@dataclass(frozen=True, slots=True)
class Refused(Generic[T]):
    """Parts that will make no message: answer each ticket with ``status``."""

    tickets: tuple[T, ...]
    status: int
    reason: str


Outcome = Held | Whole[T] | Repeat | Refused[T]


@dataclass(slots=True)
class _Message(Generic[T]):
    generation: int
    total: int
    fragments: dict[int, Fragment] = field(default_factory=dict)
    tickets: list[T] = field(default_factory=list)


@dataclass(slots=True)
class _Done(Generic[T]):
    total: int
    fragments: dict[int, Fragment]
    at: float
    answer: Answer | None = None
    waiting: list[T] = field(default_factory=list)


class PartCollector(Generic[T]):
    """Holds the parts of long messages and their tickets (module docstring)."""

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, max_held: int = DEFAULT_MAX_HELD
    ) -> None:
        self.timeout = timeout
        self.max_held = max_held
        # Each message gets its own generation as the reassembler's key, so a reference
        # reused after a message completed or was dropped starts afresh there; which
        # parts are copies is decided here, where the answers are known.
        self._reassembler = Reassembler(timeout)
        self._next_generation = 0
        self._held: dict[Key, _Message[T]] = {}
        self._generations: dict[int, Key] = {}
        self._done: dict[Key, _Done[T]] = {}
        self._refused: list[Refused[T]] = []

    @property
    def held(self) -> int:
        """How many messages wait for parts."""
        return len(self._held)

    def add(
        self,
        owner: str,
        sender: str,
        recipient: str,
        info: ConcatInfo,
        fragment: Fragment,
        *,
        ticket: T,
        now: float,
    ) -> Outcome[T]:
        """TERMS M1: take one part and its ticket; what to do now (the outcomes)."""
        key = (owner, sender, recipient, info.reference)
        done = self._done.get(key)
        if (
            done is not None
            and done.total == info.total
            and done.fragments.get(info.sequence) == fragment
        ):
            if done.answer is None:  # still being stored: answered with the others
                done.waiting.append(ticket)
                return Held()
            return Repeat(done.answer)
        held = self._held.get(key)
        if held is not None and held.total != info.total:
            self._drop(key, held, f"reference {info.reference} reused with another total")
            held = None
        if held is None:
            if len(self._held) >= self.max_held:
                return Refused((ticket,), CommandStatus.ESME_RMSGQFUL, "too many messages in parts")
            self._next_generation += 1
            held = _Message(self._next_generation, info.total)
            self._held[key] = held
            self._generations[held.generation] = key
        held.tickets.append(ticket)
        held.fragments.setdefault(info.sequence, fragment)
        try:
            text = self._reassembler.add(str(held.generation), "", info, fragment, now)
        except SmsEncodingError as error:
            self._forget(key, held)
            return Refused(tuple(held.tickets), CommandStatus.ESME_RINVDCS, str(error))
        if text is None:
            return Held()
        self._forget(key, held)
        self._done[key] = _Done(held.total, held.fragments, now)
        return Whole(key, text, tuple(held.tickets))

    def settle(self, key: Key, answer: Answer) -> list[T]:
        """The answer a whole message got; the tickets of copies that came meanwhile
        (answer them with it too)."""
        done = self._done.get(key)
        if done is None:
            return []
        done.answer = answer
        waiting, done.waiting = done.waiting, []
        return waiting

    def expire(self, now: float) -> list[Refused[T]]:
        """Messages whose parts did not all come within ``timeout`` of the first, and
        those displaced by a reused reference: refuse their tickets. Answers older than
        ``timeout`` are forgotten."""
        for incomplete in self._reassembler.expire(now):
            key = self._generations.get(int(incomplete.source))
            held = None if key is None else self._held.get(key)
            if key is None or held is None or held.generation != int(incomplete.source):
                continue  # completed, refused or displaced already
            missing = ", ".join(map(str, incomplete.missing))
            self._drop(key, held, f"parts {missing} of {held.total} did not come in time")
        self._done = {
            key: done
            for key, done in self._done.items()
            if done.answer is None or now - done.at < self.timeout
        }
        refused, self._refused = self._refused, []
        return refused

    def _forget(self, key: Key, held: _Message[T]) -> None:
        del self._held[key]
        self._generations.pop(held.generation, None)

    def _drop(self, key: Key, held: _Message[T], reason: str) -> None:
        self._forget(key, held)
        self._refused.append(Refused(tuple(held.tickets), CommandStatus.ESME_RSUBMITFAIL, reason))
