"""Identifiers from blocks of the OS's randomness: the right length, never repeated, and
a block boundary never yields a short or reused token."""

from __future__ import annotations

import pytest

from dialtone.runtime.randomness import RandomHex


@pytest.mark.parametrize("used", [15, 16, 17], ids=["under", "at", "over"])
def test_a_token_that_would_cross_the_block_end_comes_from_a_new_block(used: int) -> None:
    source = RandomHex(size=24)
    source.token(used)
    token = source.token(8)
    assert len(token) == 16
    int(token, 16)


def test_a_token_longer_than_the_block_is_served_whole() -> None:
    assert len(RandomHex(size=4).token(12)) == 24


def test_tokens_do_not_repeat() -> None:
    source = RandomHex(size=64)
    tokens = [source.token(6) for _ in range(20_000)]
    assert len(set(tokens)) == len(tokens)
