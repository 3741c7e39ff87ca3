"""Auth tokens (issue 16, TERMS D2): derived from a salt and the platform key, stored
hashed, rotated with a notice."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict
from dialtone.services.accounts import audit
from dialtone.services.accounts.accounts import get_account
from dialtone.services.twilio import auth_tokens
from dialtone.store.programmable_models import AuthToken

from ..conftest import T0

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_a_token_is_derived_and_only_its_hash_and_salt_are_stored(
    session: Session, account: str
) -> None:
    token = auth_tokens.issue(session, account, KEY, T0)
    row = session.get(AuthToken, account)
    assert row is not None
    assert len(token) == 32
    assert int(token, 16) >= 0
    wanted = hmac.new(KEY, f"auth-token:{account}:{row.salt}".encode(), hashlib.sha256)
    assert token == wanted.hexdigest()[:32]
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.salt, row.token_hash)
    assert auth_tokens.current_token(KEY, row) == token
    assert auth_tokens.current_token(KEY, get_account(session, account)) == token


def test_issue_twice_is_refused(session: Session, account: str) -> None:
    auth_tokens.issue(session, account, KEY, T0)
    with pytest.raises(Conflict) as raised:
        auth_tokens.issue(session, account, KEY, T0)
    assert raised.value.code == "auth_token.exists"


def test_an_account_without_a_token_has_none(session: Session, account: str) -> None:
    assert auth_tokens.current_token(KEY, get_account(session, account)) is None
    assert not auth_tokens.check(session, account, "0" * 32, KEY, T0)


@pytest.mark.parametrize(
    ("given", "key", "ok"),
    [("token", KEY, True), ("wrong", KEY, False), ("", KEY, False), ("token", OTHER_KEY, False)],
)
def test_check(session: Session, account: str, given: str, key: bytes, ok: bool) -> None:
    token = auth_tokens.issue(session, account, KEY, T0)
    presented = token if given == "token" else ("f" * 32 if given == "wrong" else "")
    # Another platform key re-derives another token: a hash alone authenticates nothing.
    assert auth_tokens.check(session, account, presented, key, T0) is ok


def test_rotation_keeps_the_old_token_until_the_notice_ends(session: Session, account: str) -> None:
    old = auth_tokens.issue(session, account, KEY, T0)
    rotated = auth_tokens.rotate(session, account, KEY, T0, actor="operator:test")
    assert rotated.token != old
    assert rotated.previous_expires_at is not None
    assert rotated.previous_expires_at > T0
    assert auth_tokens.check(session, account, rotated.token, KEY, T0)
    assert auth_tokens.check(session, account, old, KEY, T0)
    found = auth_tokens.match(session, account, old, T0)
    assert found is not None
    assert found.expires_at == rotated.previous_expires_at
    after = rotated.previous_expires_at
    assert not auth_tokens.check(session, account, old, KEY, after)
    assert not auth_tokens.check(session, account, old, KEY, after + timedelta(days=1))
    assert auth_tokens.check(session, account, rotated.token, KEY, after)
    assert auth_tokens.current_token(KEY, get_account(session, account)) == rotated.token
    events, _ = audit.list_events(session, account)
    assert [e.code for e in events] == ["credentials.rotated"]


def test_immediate_rotation_stops_the_old_token_at_once(session: Session, account: str) -> None:
    old = auth_tokens.issue(session, account, KEY, T0)
    rotated = auth_tokens.rotate(session, account, KEY, T0, immediately=True)
    assert rotated.previous_expires_at == T0
    assert not auth_tokens.check(session, account, old, KEY, T0)
    assert auth_tokens.check(session, account, rotated.token, KEY, T0)


def test_rotating_an_account_without_a_token_issues_its_first(
    session: Session, account: str
) -> None:
    rotated = auth_tokens.rotate(session, account, KEY, T0)
    assert rotated.previous_expires_at is None
    assert auth_tokens.check(session, account, rotated.token, KEY, T0)


def test_tokens_are_per_account(session: Session, account: str, other_account: str) -> None:
    token = auth_tokens.issue(session, account, KEY, T0)
    auth_tokens.issue(session, other_account, KEY, T0)
    assert not auth_tokens.check(session, other_account, token, KEY, T0)
