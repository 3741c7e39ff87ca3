"""Console sign-in (issue 18): argon2 passwords, sessions, invitations, operators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound, Unauthorized
from dialtone.services.accounts import console_access
from dialtone.services.telephony import users
from dialtone.store.console_models import ConsoleSession

from ..conftest import REALM, T0

TTL = timedelta(hours=12)
GOOD = "a long enough secret"


def _user(
    session: Session, account: str, email: str | None = "ann@acme.test", role: str = "manager"
):  # type: ignore[no-untyped-def]
    return users.create_user(
        session, account, name="Ann", now=T0, role=role, email=email, realm=REALM
    )


@pytest.mark.parametrize(
    ("length", "accepted"),
    [(9, False), (10, True), (11, True), (200, True), (201, False)],
)
def test_a_password_has_10_to_200_characters(length: int, accepted: bool) -> None:
    if accepted:
        assert console_access.hash_password("p" * length).startswith("$argon2id$")
    else:
        with pytest.raises(DialtoneError) as refused:
            console_access.hash_password("p" * length)
        assert refused.value.code == "console.password_invalid"


@pytest.mark.production_password_cost
def test_passwords_are_argon2id_at_the_recommended_cost() -> None:
    """The other tests hash at the least cost (tests/conftest.py); this one checks the
    hasher the platform uses: argon2id, 3 passes over 64 MiB, 4 lanes (RFC 9106's
    second recommended option)."""
    stored = console_access.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert console_access._hasher.verify(stored, "correct horse battery")


def test_only_a_hash_is_stored_and_it_signs_the_user_in_with_their_role(
    session: Session, account: str
) -> None:
    user = _user(session, account)
    console_access.set_user_password(session, account, user.id, GOOD)
    assert user.password_hash is not None
    assert GOOD not in user.password_hash
    signed = console_access.sign_in(session, " ANN@acme.test ", GOOD, now=T0, ttl=TTL)
    assert (signed.row.user_id, signed.row.account_id) == (user.id, account)
    assert signed.row.token_hash == console_access.hash_token(signed.token)
    assert signed.token not in signed.row.token_hash
    found = console_access.session_for(session, signed.token, now=T0 + TTL - timedelta(seconds=1))
    assert found is signed.row


def test_a_session_ends_when_it_expires_or_is_signed_out(session: Session, account: str) -> None:
    user = _user(session, account)
    console_access.set_user_password(session, account, user.id, GOOD)
    signed = console_access.sign_in(session, "ann@acme.test", GOOD, now=T0, ttl=TTL)
    assert console_access.session_for(session, signed.token, now=T0 + TTL) is None
    assert console_access.session_for(session, signed.token, now=T0) is not None
    console_access.sign_out(session, signed.token)
    assert console_access.session_for(session, signed.token, now=T0) is None


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@acme.test", "the wrong password"), ("bob@acme.test", GOOD), ("", GOOD)],
)
def test_a_wrong_email_or_password_gets_one_answer(
    session: Session, account: str, email: str, password: str
) -> None:
    user = _user(session, account)
    console_access.set_user_password(session, account, user.id, GOOD)
    with pytest.raises(Unauthorized) as refused:
        console_access.sign_in(session, email, password, now=T0, ttl=TTL)
    assert refused.value.code == "console.sign_in_failed"


def test_a_disabled_user_cannot_sign_in(session: Session, account: str) -> None:
    user = _user(session, account)
    console_access.set_user_password(session, account, user.id, GOOD)
    user.status = "disabled"
    with pytest.raises(Unauthorized):
        console_access.sign_in(session, "ann@acme.test", GOOD, now=T0, ttl=TTL)


def test_a_new_password_ends_the_old_sessions(session: Session, account: str) -> None:
    user = _user(session, account)
    console_access.set_user_password(session, account, user.id, GOOD)
    signed = console_access.sign_in(session, "ann@acme.test", GOOD, now=T0, ttl=TTL)
    console_access.set_user_password(session, account, user.id, GOOD + " changed")
    session.expire_all()
    assert session.get(ConsoleSession, signed.row.token_hash) is None


def test_one_email_signs_in_to_one_place(
    session: Session, account: str, other_account: str
) -> None:
    first = _user(session, account)
    console_access.set_user_password(session, account, first.id, GOOD)
    second = _user(session, other_account)
    with pytest.raises(Conflict):
        console_access.set_user_password(session, other_account, second.id, GOOD)
    with pytest.raises(Conflict):
        console_access.create_operator(session, "ann@acme.test", "Ann", GOOD, now=T0)


def test_a_user_without_an_email_cannot_get_a_password(session: Session, account: str) -> None:
    user = _user(session, account, email=None)
    with pytest.raises(DialtoneError) as refused:
        console_access.set_user_password(session, account, user.id, GOOD)
    assert refused.value.code == "console.email_missing"


def test_an_invitation_sets_the_password_once_before_it_expires(
    session: Session, account: str
) -> None:
    user = _user(session, account)
    token = console_access.invite(session, account, user.id, now=T0)
    just_before = T0 + console_access.INVITATION_TTL - timedelta(seconds=1)
    assert console_access.invited_user(session, token, now=just_before) is user
    with pytest.raises(NotFound):
        console_access.invited_user(session, token, now=T0 + console_access.INVITATION_TTL)
    signed = console_access.accept_invitation(session, token, GOOD, now=T0, ttl=TTL)
    assert signed.row.user_id == user.id
    with pytest.raises(NotFound):
        console_access.accept_invitation(session, token, GOOD, now=T0, ttl=TTL)
    assert console_access.sign_in(session, "ann@acme.test", GOOD, now=T0, ttl=TTL)


def test_a_new_invitation_replaces_the_unused_one(session: Session, account: str) -> None:
    user = _user(session, account)
    old = console_access.invite(session, account, user.id, now=T0)
    new = console_access.invite(session, account, user.id, now=T0)
    with pytest.raises(NotFound):
        console_access.invited_user(session, old, now=T0)
    assert console_access.invited_user(session, new, now=T0) is user


def test_an_operator_signs_in_and_opens_an_account(session: Session, account: str) -> None:
    operator = console_access.create_operator(session, "Op@Example.net", "Op", GOOD, now=T0)
    assert operator.email == "op@example.net"
    signed = console_access.sign_in(session, "op@example.net", GOOD, now=T0, ttl=TTL)
    assert (signed.row.operator_id, signed.row.account_id) == (operator.id, None)
    console_access.open_account(session, signed.row, account)
    assert signed.row.account_id == account
    with pytest.raises(NotFound):
        console_access.open_account(session, signed.row, "AC-none")


def test_a_users_session_cannot_open_another_account(
    session: Session, account: str, other_account: str
) -> None:
    user = _user(session, account)
    console_access.set_user_password(session, account, user.id, GOOD)
    signed = console_access.sign_in(session, "ann@acme.test", GOOD, now=T0, ttl=TTL)
    with pytest.raises(DialtoneError) as refused:
        console_access.open_account(session, signed.row, other_account)
    assert refused.value.code == "console.operator_only"
