"""Users: D1 roles, extensions, SIP usernames and passwords, V2 channels, at their bounds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.services.telephony import registrations, routing, users, voicemails
from dialtone.sip.digest import ha1
from dialtone.store.models import PhoneNumber, RingGroupMember, User

from ..conftest import REALM, T0


def _create(session: Session, account: str, **kwargs: object) -> User:
    kwargs.setdefault("name", "Alice")
    return users.create_user(session, account, now=T0, realm=REALM, **kwargs)  # type: ignore[arg-type]


def _code(session: Session, account: str, **kwargs: object) -> tuple[str, str | None]:
    with pytest.raises(DialtoneError) as info:
        _create(session, account, **kwargs)
    return info.value.code, info.value.rule


@pytest.mark.parametrize(
    ("extension", "ok"),
    [
        ("1", False),  # one under the minimum length
        ("12", True),  # the minimum
        ("123456", True),  # the maximum
        ("1234567", False),  # one over
        ("", False),
        ("12a", False),
        ("١٢٣", False),  # non-ASCII digits are not dialable
        (" 123", False),
    ],
)
def test_extension_length(session: Session, account: str, extension: str, ok: bool) -> None:
    if ok:
        assert _create(session, account, extension=extension).extension == extension
    else:
        assert _code(session, account, extension=extension) == ("user.invalid", None)


@pytest.mark.parametrize("extension", ["112", "911", "15", "17", "18", "115", "999"])
def test_an_extension_is_never_an_emergency_number(
    session: Session, account: str, extension: str
) -> None:
    assert _code(session, account, extension=extension) == ("extension.reserved", "V7")


@pytest.mark.parametrize(("length", "ok"), [(7, False), (8, True), (128, True), (129, False)])
def test_sip_password_length(session: Session, account: str, length: int, ok: bool) -> None:
    password = "p" * length
    if ok:
        user = _create(session, account, sip_username="alice", sip_password=password)
        assert user.ha1_md5 == ha1("alice", REALM, password, "MD5")
        assert user.ha1_sha256 == ha1("alice", REALM, password, "SHA-256")
    else:
        code = _code(session, account, sip_username="alice", sip_password=password)
        assert code == ("user.invalid", None)


@pytest.mark.parametrize(
    ("username", "ok"),
    [
        ("ab", False),
        ("abc", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("a.b_c-D9", True),
        ("al ice", False),
        ("alice@host", False),
        ("alicé", False),
    ],
)
def test_sip_username_shape(session: Session, account: str, username: str, ok: bool) -> None:
    if ok:
        assert _create(session, account, sip_username=username).sip_username == username
    else:
        assert _code(session, account, sip_username=username) == ("user.invalid", None)


@pytest.mark.parametrize(
    ("channels", "ok"), [(0, False), (1, True), (2, True), (100, True), (101, False), (-1, False)]
)
def test_channels_bounds(session: Session, account: str, channels: int, ok: bool) -> None:
    if ok:
        user = _create(session, account, channels=channels)
        assert users.channels_for(session, user) == channels
    else:
        assert _code(session, account, channels=channels) == ("user.invalid", "V2")


@pytest.mark.parametrize("role", users.ROLES)
def test_every_d1_role_is_accepted(session: Session, account: str, role: str) -> None:
    assert _create(session, account, role=role).role == role


@pytest.mark.parametrize("role", ["owner", "Administrator", "", "admin"])
def test_unknown_roles_are_refused(session: Session, account: str, role: str) -> None:
    assert _code(session, account, role=role) == ("user.invalid", "D1")


@pytest.mark.parametrize(
    ("kwargs", "message_part"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"sip_password": "long enough"}, "SIP username"),
    ],
)
def test_other_invalid_fields(
    session: Session, account: str, kwargs: dict[str, str], message_part: str
) -> None:
    with pytest.raises(DialtoneError) as info:
        _create(session, account, **kwargs)
    assert info.value.code == "user.invalid"
    assert info.value.status == 400
    assert message_part in info.value.message


def test_the_password_itself_is_stored_nowhere(session: Session, account: str) -> None:
    user = _create(session, account, sip_username="alice", sip_password="correct horse")
    session.flush()
    values = [getattr(user, attr.key) for attr in inspect(User).column_attrs]
    assert not any(isinstance(v, str) and "correct horse" in v for v in values)


def test_unknown_account(session: Session) -> None:
    with pytest.raises(DialtoneError) as info:
        _create(session, "AC" + "0" * 32)
    assert (info.value.code, info.value.status) == ("account.not_found", 404)


def test_extension_unique_per_account_only(
    session: Session, account: str, other_account: str
) -> None:
    _create(session, account, extension="101")
    with pytest.raises(DialtoneError) as info:
        _create(session, account, name="Bob", extension="101")
    assert (info.value.code, info.value.status) == ("extension.taken", 409)
    assert _create(session, other_account, name="Carol", extension="101").extension == "101"


def test_sip_username_unique_across_accounts(
    session: Session, account: str, other_account: str
) -> None:
    _create(session, account, sip_username="alice")
    with pytest.raises(DialtoneError) as info:
        _create(session, other_account, sip_username="alice")
    assert (info.value.code, info.value.status) == ("sip_username.taken", 409)


def test_find_sip_user_sees_active_users_of_active_accounts(session: Session, account: str) -> None:
    user = _create(session, account, sip_username="alice", sip_password="secret-pass")
    assert users.find_sip_user(session, "alice") is user
    assert users.find_sip_user(session, "ALICE") is None
    users.update_user(session, account, user.id, status="disabled")
    assert users.find_sip_user(session, "alice") is None
    users.update_user(session, account, user.id, status="active")
    accounts.get_account(session, account).status = "suspended"
    assert users.find_sip_user(session, "alice") is None


def test_find_by_extension_is_per_account(
    session: Session, account: str, other_account: str
) -> None:
    user = _create(session, account, extension="201")
    assert users.find_by_extension(session, account, "201") is user
    assert users.find_by_extension(session, other_account, "201") is None


def test_channels_fall_back_to_the_account(session: Session, account: str) -> None:
    user = _create(session, account)
    assert users.channels_for(session, user) == 1  # TERMS V2 default
    accounts.set_call_options(session, account, channels_per_user=3)
    assert users.channels_for(session, user) == 3
    users.update_user(session, account, user.id, channels=2)
    assert users.channels_for(session, user) == 2
    users.update_user(session, account, user.id, channels=None)
    assert users.channels_for(session, user) == 3


@pytest.mark.parametrize(
    ("role", "status", "can"),
    [
        ("user", "active", True),
        ("administrator", "active", True),
        ("manager", "active", True),
        ("guest", "active", True),
        ("scheduler", "active", False),  # D1: books for others, takes no calls
        ("user", "disabled", False),
    ],
)
def test_can_take_calls(session: Session, account: str, role: str, status: str, can: bool) -> None:
    user = _create(session, account, role=role)
    users.update_user(session, account, user.id, status=status)
    assert users.can_take_calls(user) is can


def test_renaming_the_sip_user_needs_the_password_again(session: Session, account: str) -> None:
    user = _create(session, account, sip_username="alice", sip_password="secret-pass")
    with pytest.raises(DialtoneError) as info:
        users.update_user(session, account, user.id, sip_username="alice2")
    assert info.value.code == "user.invalid"
    assert user.sip_username == "alice"
    users.update_user(
        session, account, user.id, sip_username="alice2", sip_password="new-secret", realm=REALM
    )
    assert user.ha1_md5 == ha1("alice2", REALM, "new-secret", "MD5")
    users.update_user(session, account, user.id, sip_username=None)
    assert user.sip_username is None
    assert user.ha1_md5 is None
    assert user.ha1_sha256 is None


def test_update_checks_like_create(session: Session, account: str) -> None:
    _create(session, account, extension="301")
    bob = _create(session, account, name="Bob", extension="302")
    with pytest.raises(DialtoneError) as info:
        users.update_user(session, account, bob.id, extension="301")
    assert info.value.code == "extension.taken"
    assert users.update_user(session, account, bob.id, extension="302").extension == "302"
    for field, value in [("role", "owner"), ("status", "gone"), ("channels", 0)]:
        with pytest.raises(DialtoneError) as info:
            users.update_user(session, account, bob.id, **{field: value})  # type: ignore[arg-type]
        assert info.value.code == "user.invalid"


def test_set_sip_password_needs_a_username(session: Session, account: str) -> None:
    user = _create(session, account)
    with pytest.raises(DialtoneError) as info:
        users.set_sip_password(session, user, "long enough", realm=REALM)
    assert info.value.code == "user.invalid"


def test_other_accounts_users_are_not_found(
    session: Session, account: str, other_account: str
) -> None:
    user = _create(session, account)
    for call in (
        lambda: users.get_user(session, other_account, user.id),
        lambda: users.update_user(session, other_account, user.id, name="X"),
        lambda: users.delete_user(session, other_account, user.id),
    ):
        with pytest.raises(DialtoneError) as info:
            call()
        assert (info.value.code, info.value.status) == ("user.not_found", 404)
    assert users.list_users(session, other_account) == []


def test_delete_user_leaves_no_route_to_them(session: Session, account: str) -> None:
    """N9: the number stays; N10: its route no longer points at the gone user."""
    alice = _create(session, account, sip_username="alice")
    bob = _create(session, account, name="Bob")
    numbers.add_number(session, account, "+33123456789", now=T0)
    routing.set_route(session, account, "+33123456789", kind="user", target=alice.id)
    numbers.add_number(session, account, "+33123456780", now=T0)
    routing.set_route(
        session, account, "+33123456780", kind="user", target=bob.id, voicemail_user_id=alice.id
    )
    routing.create_ring_group(
        session,
        account,
        name="Sales",
        strategy="parallel",
        member_seconds=20,
        user_ids=[alice.id, bob.id],
        now=T0,
    )
    registrations.replace_bindings(
        session,
        alice,
        [
            registrations.Binding(
                contact="sip:alice@192.0.2.1",
                source="udp:192.0.2.1:5060",
                transport="udp",
                user_agent=None,
                call_id="c",
                cseq=1,
                expires_at=T0 + timedelta(hours=1),
            )
        ],
        now=T0,
    )
    vm = voicemails.create_voicemail(
        session,
        account_id=account,
        user_id=alice.id,
        number="+33123456789",
        from_number="+14155550100",
        duration=Decimal("3.5"),
        path="/nonexistent.wav",
        now=T0,
    )
    users.delete_user(session, account, alice.id)

    first = routing.get_route(session, account, "+33123456789")
    assert (first.kind, first.target) == ("greeting", None)
    second = routing.get_route(session, account, "+33123456780")
    assert (second.kind, second.target, second.voicemail_user_id) == ("user", bob.id, None)
    members = session.scalars(select(RingGroupMember.user_id)).all()
    assert members == [bob.id]
    assert registrations.list_registrations(session, account, now=T0) == []
    assert voicemails.get_voicemail(session, account, vm.id).user_id is None
    assert session.scalar(select(PhoneNumber).where(PhoneNumber.number == "+33123456789"))
