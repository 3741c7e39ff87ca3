"""API keys: roles carried by users' keys (D1), rotation with notice (D2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, NotFound, Unauthorized
from dialtone.services.accounts import api_keys, audit
from dialtone.services.telephony import users

from ..conftest import REALM, T0  # T0 is a Monday, 09:00 UTC

SECOND = timedelta(seconds=1)


def test_an_account_key_is_the_administrator_and_a_users_key_carries_its_role(
    session: Session, account: str
) -> None:
    admin = api_keys.issue(session, account, now=T0)
    user = users.create_user(session, account, name="Ann", now=T0, role="manager", realm=REALM)
    own = api_keys.issue(session, account, now=T0, name="ann", user_id=user.id)
    assert api_keys.authenticate(session, admin.key, now=T0).role == "administrator"
    credential = api_keys.authenticate(session, own.key, now=T0)
    assert (credential.role, credential.user_id) == ("manager", user.id)
    assert own.row.key_hash != own.key
    assert own.key not in {r.key_hash for r in api_keys.list_keys(session, account)}


def test_a_key_for_another_accounts_user_is_refused(
    session: Session, account: str, other_account: str
) -> None:
    stranger = users.create_user(session, other_account, name="Bo", now=T0, realm=REALM)
    with pytest.raises(NotFound):
        api_keys.issue(session, account, now=T0, user_id=stranger.id)


@pytest.mark.parametrize(
    ("after", "works"),
    [
        (timedelta(days=1) - SECOND, True),  # just under one business day (Tuesday)
        (timedelta(days=1), False),  # at the end of the notice
        (timedelta(days=1) + SECOND, False),  # just over
    ],
)
def test_a_platform_rotation_gives_one_business_day(
    session: Session, account: str, after: timedelta, works: bool
) -> None:
    old = api_keys.issue(session, account, now=T0)
    new = api_keys.rotate(session, account, old.row.id, now=T0)
    assert api_keys.authenticate(session, new.key, now=T0 + after).key_id == new.row.id
    if works:
        assert api_keys.authenticate(session, old.key, now=T0 + after).key_id == old.row.id
    else:
        with pytest.raises(Unauthorized, match="rotated"):
            api_keys.authenticate(session, old.key, now=T0 + after)


def test_a_friday_rotation_ends_on_monday_and_is_audited(session: Session, account: str) -> None:
    friday = T0 + timedelta(days=4)
    old = api_keys.issue(session, account, now=friday)
    api_keys.rotate(session, account, old.row.id, now=friday, actor="operator")
    assert old.row.expires_at == friday + timedelta(days=3)
    events, _ = audit.list_events(session, account)
    assert [(e.code, e.rule, e.outcome) for e in events] == [
        ("credentials.rotated", "D2", "enforced")
    ]


def test_an_immediate_rotation_and_a_revocation_stop_the_key_at_once(
    session: Session, account: str
) -> None:
    old = api_keys.issue(session, account, now=T0)
    api_keys.rotate(session, account, old.row.id, now=T0, immediately=True)
    with pytest.raises(Unauthorized):
        api_keys.authenticate(session, old.key, now=T0)
    with pytest.raises(Conflict):
        api_keys.rotate(session, account, old.row.id, now=T0)
    other = api_keys.issue(session, account, now=T0)
    api_keys.revoke(session, account, other.row.id, now=T0)
    api_keys.revoke(session, account, other.row.id, now=T0 + SECOND)
    assert other.row.revoked_at == T0
    with pytest.raises(Unauthorized):
        api_keys.authenticate(session, other.key, now=T0)


def test_a_disabled_users_key_stops(session: Session, account: str) -> None:
    user = users.create_user(session, account, name="Ann", now=T0, realm=REALM)
    key = api_keys.issue(session, account, now=T0, user_id=user.id).key
    users.update_user(session, account, user.id, status="disabled")
    with pytest.raises(Unauthorized, match="disabled"):
        api_keys.authenticate(session, key, now=T0)


@pytest.mark.parametrize("name", ["", " ", "x" * 201])
def test_key_names_are_checked(session: Session, account: str, name: str) -> None:
    with pytest.raises(Exception, match="name"):
        api_keys.issue(session, account, now=T0, name=name)
