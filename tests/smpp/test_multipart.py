"""The parts of customers' long messages held with their tickets: whole once the last
comes (in any order), copies answered alike, refusals on a bad whole, a reused
reference, a timeout or too many messages held."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.core.sms_parts import ConcatInfo
from dialtone.core.sms_reassembly import Fragment
from dialtone.smpp.constants import CommandStatus
from dialtone.smpp.multipart import Held, Outcome, PartCollector, Refused, Repeat, Whole

S = CommandStatus


def part(
    sequence: int, total: int = 3, octets: bytes | None = None, ref: int = 7
) -> tuple[ConcatInfo, Fragment]:
    """Part ``sequence`` of ``total``: its octets "b", "c"... unless given."""
    data = octets if octets is not None else bytes([0x61 + sequence])
    return ConcatInfo(ref, total, sequence), Fragment(0, data)


def add(
    collector: PartCollector[str],
    sequence: int,
    ticket: str,
    now: float = 0.0,
    *,
    total: int = 3,
    octets: bytes | None = None,
    ref: int = 7,
) -> Outcome[str]:
    info, fragment = part(sequence, total, octets, ref)
    return collector.add("L1", "+331", "+336", info, fragment, ticket=ticket, now=now)


def test_parts_in_any_order_make_the_whole_with_every_ticket() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    assert add(parts, 3, "t3") == Held()
    assert add(parts, 1, "t1") == Held()
    assert parts.held == 1
    whole = add(parts, 2, "t2")
    assert isinstance(whole, Whole)
    assert (whole.text, whole.tickets) == ("bcd", ("t3", "t1", "t2"))
    assert parts.held == 0


def test_a_copy_held_while_the_whole_is_stored_is_answered_with_it() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    add(parts, 1, "a", total=2)
    whole = add(parts, 2, "b", total=2)
    assert isinstance(whole, Whole)
    assert add(parts, 2, "b-again", total=2) == Held()
    assert parts.settle(whole.key, (0, "SM1")) == ["b-again"]
    assert add(parts, 1, "a-again", total=2) == Repeat((0, "SM1"))
    # Another octet string under the reference is a new message, not a copy.
    assert add(parts, 1, "new", total=2, octets=b"zz") == Held()


def test_a_duplicate_while_held_is_kept_with_the_others() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    add(parts, 1, "a", total=2)
    add(parts, 1, "a2", total=2)
    whole = add(parts, 2, "b", total=2)
    assert isinstance(whole, Whole)
    assert whole.tickets == ("a", "a2", "b")
    assert whole.text == "bc"


def test_owners_and_references_keep_messages_apart() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    info, fragment = part(1, total=2)
    parts.add("L1", "+331", "+336", info, fragment, ticket="x", now=0)
    parts.add("L2", "+331", "+336", info, fragment, ticket="y", now=0)
    add(parts, 1, "z", total=2, ref=8)
    assert parts.held == 3


def test_a_whole_that_is_no_text_refuses_every_part() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    add(parts, 1, "a", total=2, octets=b"\x80")
    refused = add(parts, 2, "b", total=2)
    assert isinstance(refused, Refused)
    assert (refused.tickets, refused.status) == (("a", "b"), S.ESME_RINVDCS)
    assert parts.held == 0


def test_a_reference_reused_with_another_total_drops_the_old_parts() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    add(parts, 1, "old", total=3)
    assert add(parts, 1, "new", total=2) == Held()
    [dropped] = parts.expire(0.5)
    assert (dropped.tickets, dropped.status) == (("old",), S.ESME_RSUBMITFAIL)
    assert isinstance(add(parts, 2, "new2", total=2), Whole)


@pytest.mark.parametrize(("at", "dropped"), [(9.99, 0), (10.0, 1)])
def test_parts_not_all_come_within_the_timeout_are_refused(at: float, dropped: int) -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    add(parts, 1, "a", now=0.0)
    add(parts, 3, "c", now=5.0)
    refused = parts.expire(at)
    assert len(refused) == dropped
    if dropped:
        assert refused[0].tickets == ("a", "c")
        assert "parts 2 of 3" in refused[0].reason
        assert parts.held == 0
        assert parts.expire(at + 100) == []


def test_answers_are_forgotten_after_the_timeout() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    add(parts, 1, "a", total=2)
    whole = add(parts, 2, "b", total=2, now=1.0)
    assert isinstance(whole, Whole)
    parts.settle(whole.key, (0, "SM1"))
    parts.expire(10.9)
    assert add(parts, 1, "copy", total=2, now=10.9) == Repeat((0, "SM1"))
    parts.expire(11.0)
    assert add(parts, 1, "late", total=2, now=11.0) == Held()


def test_too_many_messages_held_refuses_a_new_one() -> None:
    parts: PartCollector[str] = PartCollector(timeout=10, max_held=2)
    add(parts, 1, "a", ref=1)
    add(parts, 1, "b", ref=2)
    assert add(parts, 1, "c", ref=3) == Refused(
        ("c",), S.ESME_RMSGQFUL, "too many messages in parts"
    )
    assert add(parts, 2, "a2", ref=1) == Held()  # a message already held goes on


@given(st.permutations(list(range(1, 6))))
def test_any_order_gives_the_same_text(order: list[int]) -> None:
    parts: PartCollector[str] = PartCollector(timeout=10)
    outcomes = [add(parts, s, f"t{s}", total=5) for s in order]
    assert all(o == Held() for o in outcomes[:-1])
    whole = outcomes[-1]
    assert isinstance(whole, Whole)
    assert whole.text == "bcdef"
    assert sorted(whole.tickets) == [f"t{s}" for s in range(1, 6)]
