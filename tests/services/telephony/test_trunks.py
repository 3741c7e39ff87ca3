"""Trunks: validation at the bounds, scoping, outbound order, inbound match (V11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.telephony import trunks
from dialtone.store import sealed
from dialtone.store.models import Trunk

from ..conftest import T0

KEY = bytes(range(32))


def _trunk(session: Session, account_id: str | None = None, **kwargs: Any) -> Trunk:
    kwargs.setdefault("name", "Carrier")
    kwargs.setdefault("host", "192.0.2.10")
    kwargs.setdefault("now", T0)
    kwargs.setdefault("key", KEY)
    return trunks.create_trunk(session, account_id=account_id, **kwargs)


def _raw_rows(session: Session) -> str:
    """Every column of every trunk row as the database file holds it."""
    session.flush()
    return repr(session.execute(text("SELECT * FROM trunks")).all())


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("port", 0, False),
        ("port", 1, True),
        ("port", 65535, True),
        ("port", 65536, False),
        ("priority", -1, False),
        ("priority", 0, True),
        ("priority", 10_000, True),
        ("priority", 10_001, False),
        ("transport", "udp", True),
        ("transport", "tls", True),
        ("transport", "sctp", False),
        ("transport", "UDP", False),
        ("caller_id_format", "e164", True),
        ("caller_id_format", "e164-no-plus", True),
        ("caller_id_format", "national", True),
        ("caller_id_format", "international", False),
        ("host", "sip.carrier.example", True),
        ("host", "[2001:db8::5]", True),
        ("host", "bad host", False),
        ("host", "", False),
        ("host", "-x.example", False),
        ("name", "", False),
        ("name", "x" * 200, True),
        ("name", "x" * 201, False),
        ("username", "u\r\nVia: evil", False),  # would inject a header line
        ("username", "acme-1", True),
    ],
)
def test_validation(session: Session, field: str, value: object, ok: bool) -> None:
    change: dict[str, Any] = {field: value}
    if ok:
        assert _trunk(session, **change).id.startswith("TR")
    else:
        with pytest.raises(DialtoneError) as info:
            _trunk(session, **change)
        assert (info.value.code, info.value.status) == ("trunk.invalid", 400)


def test_a_password_needs_a_username(session: Session) -> None:
    with pytest.raises(DialtoneError) as info:
        _trunk(session, password="s3cret")
    assert info.value.code == "trunk.invalid"
    trunk = _trunk(session, username="acme", password="s3cret")
    # Sealed, yet recoverable with the key: answering the carrier's digest challenge
    # needs the secret itself (a hash would not do).
    assert trunks.password_of(trunk, KEY) == "s3cret"


def test_the_password_is_sealed_at_rest(session: Session, account: str) -> None:
    """Issue 13 item 5: the database column never holds the password; the sealed value
    opens only with the key and only for its own trunk."""
    trunk = _trunk(session, account, username="acme", password="plain-s3cret")
    other = _trunk(session, account, name="Other", username="acme", password="other-pw")
    rows = _raw_rows(session)
    assert "plain-s3cret" not in rows
    assert "other-pw" not in rows
    assert trunks.password_of(trunk, KEY) == "plain-s3cret"
    with pytest.raises(sealed.SealError):
        trunks.password_of(trunk, bytes(32))  # the wrong key
    # A sealed value copied onto another trunk (pointed at another host) does not open.
    other.password_sealed = trunk.password_sealed
    with pytest.raises(sealed.SealError):
        trunks.password_of(other, KEY)
    trunks.update_trunk(session, account, trunk.id, password="new-s3cret", key=KEY)
    assert "new-s3cret" not in _raw_rows(session)
    assert trunks.password_of(trunk, KEY) == "new-s3cret"
    assert trunks.password_of(_trunk(session, account), KEY) is None


def test_hosts_are_normalised(session: Session) -> None:
    assert _trunk(session, host="SIP.Carrier.Example.").host == "sip.carrier.example"
    assert _trunk(session, host="[2001:DB8:0::5]").host == "2001:db8::5"


def test_unknown_account(session: Session) -> None:
    with pytest.raises(DialtoneError) as info:
        _trunk(session, "AC" + "0" * 32)
    assert info.value.code == "account.not_found"


def test_scopes(session: Session, account: str, other_account: str) -> None:
    operator = _trunk(session, None, name="Operator")
    mine = _trunk(session, account, name="Mine")
    theirs = _trunk(session, other_account, name="Theirs")
    assert trunks.list_trunks(session, account) == [mine]
    assert trunks.list_trunks(session, None) == [operator]
    assert trunks.get_trunk(session, account, mine.id) is mine
    for scope, trunk_id in [(account, theirs.id), (account, operator.id), (None, mine.id)]:
        with pytest.raises(DialtoneError) as info:
            trunks.get_trunk(session, scope, trunk_id)
        assert (info.value.code, info.value.status) == ("trunk.not_found", 404)
    with pytest.raises(DialtoneError):
        trunks.delete_trunk(session, account, theirs.id)
    assert trunks.find_trunk(session, theirs.id) is theirs


def test_outbound_order(session: Session, account: str, other_account: str) -> None:
    late = _trunk(session, account, name="late", priority=10, now=T0 + timedelta(seconds=1))
    early = _trunk(session, None, name="early", priority=10, now=T0)
    first = _trunk(session, account, name="first", priority=5)
    _trunk(session, account, name="off", priority=1, enabled=False)
    _trunk(session, other_account, name="other", priority=1)
    assert [t.name for t in trunks.outbound_trunks(session, account)] == [
        first.name,
        early.name,
        late.name,
    ]


def test_update_and_delete(session: Session, account: str) -> None:
    trunk = _trunk(session, account, username="acme", password="s3cret")
    trunks.update_trunk(session, account, trunk.id, priority=5, enabled=False, port=5080)
    assert (trunk.priority, trunk.enabled, trunk.port) == (5, False, 5080)
    with pytest.raises(DialtoneError):
        trunks.update_trunk(session, account, trunk.id, username=None)  # password stays
    trunks.update_trunk(session, account, trunk.id, username=None, password=None)
    assert trunk.password_sealed is None
    trunks.delete_trunk(session, account, trunk.id)
    assert trunks.list_trunks(session, account) == []


def test_trunk_for_source(session: Session, account: str) -> None:
    v4 = _trunk(session, account, host="192.0.2.10")
    v6 = _trunk(session, None, host="2001:db8::5", priority=1)
    _trunk(session, account, host="198.51.100.1", enabled=False)
    assert trunks.trunk_for_source(session, "192.0.2.10") is v4
    assert trunks.trunk_for_source(session, "[2001:0db8:0:0::5]") is v6
    assert trunks.trunk_for_source(session, "198.51.100.1") is None  # disabled
    assert trunks.trunk_for_source(session, "203.0.113.9") is None
    assert trunks.trunk_for_source(session, "not a host!") is None


@pytest.mark.parametrize(
    ("fmt", "e164", "shown"),
    [
        ("e164", "+33123456789", "+33123456789"),
        ("e164-no-plus", "+33123456789", "33123456789"),
        ("national", "+33123456789", "0123456789"),
        ("national", "+14155552671", "4155552671"),
        ("national", "+442079460958", "02079460958"),
    ],
)
def test_format_caller_id(session: Session, fmt: str, e164: str, shown: str) -> None:
    assert trunks.format_caller_id(_trunk(session, caller_id_format=fmt), e164) == shown


def test_trunk_for_source_with_port_is_strict(session: Session, account: str) -> None:
    first = _trunk(session, account, host="192.0.2.10", port=5060, priority=1)
    second = _trunk(session, account, host="192.0.2.10", port=5080, priority=9)
    assert trunks.trunk_for_source(session, "192.0.2.10", 5080) is second
    assert trunks.trunk_for_source(session, "192.0.2.10", 5060) is first
    assert trunks.trunk_for_source(session, "192.0.2.10", 5061) is None
    assert trunks.trunk_for_source(session, "192.0.2.10") is first


# Not spellable in a sealed value's base64url text, which a short password like "pw" was
# by chance about once in a hundred runs.
SECRET = "pass word!"


def test_registering_trunks_and_their_contact(session: Session, account: str) -> None:
    """Issue 13 item 21: a registering trunk gets an unguessable contact user; an INVITE
    to it names the trunk (enabled and registering only)."""
    marked = _trunk(
        session,
        account,
        host="sip.provider.example",
        username="33123456789",
        password=SECRET,
        register=True,
        registrar_host="reg.provider.example",
        registrar_port=5070,
        auth_username="acct-1",
    )
    _trunk(session, account, name="plain", username="u", password="pw")
    contact = marked.contact_user
    assert contact is not None
    assert contact.startswith(trunks.CONTACT_PREFIX)
    assert len(contact) == len(trunks.CONTACT_PREFIX) + 16
    assert trunks.trunk_for_contact(session, contact) is marked
    assert trunks.trunk_for_contact(session, contact + "0") is None
    assert trunks.trunk_for_contact(session, "+33123456789") is None
    [setup] = trunks.registering_trunks(session)
    assert (setup.trunk_id, setup.domain, setup.registrar_host, setup.registrar_port) == (
        marked.id,
        "sip.provider.example",
        "reg.provider.example",
        5070,
    )
    assert (setup.aor_user, setup.auth_username, setup.contact_user) == (
        "33123456789",
        "acct-1",
        contact,
    )
    assert SECRET not in repr(setup)  # only the sealed value
    trunks.update_trunk(session, account, marked.id, enabled=False)
    assert trunks.trunk_for_contact(session, contact) is None
    assert trunks.registering_trunks(session) == []
    trunks.update_trunk(session, account, marked.id, enabled=True, register=False)
    assert trunks.trunk_for_contact(session, contact) is None
    trunks.update_trunk(session, account, marked.id, register=True)
    assert marked.contact_user == contact  # kept: the provider may still hold it
    with pytest.raises(DialtoneError):
        trunks.update_trunk(session, account, marked.id, password=None)
