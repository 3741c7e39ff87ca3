"""Stored registrations: replaced as a set, restored at start, scoped by account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.telephony import registrations, users
from dialtone.services.telephony.registrations import Binding
from dialtone.store.models import User

from ..conftest import REALM, T0


def _user(session: Session, account: str, name: str = "alice") -> User:
    return users.create_user(session, account, name=name, sip_username=name, now=T0, realm=REALM)


def _binding(contact: str, seconds: int = 3600, cseq: int = 1, ua: str | None = None) -> Binding:
    return Binding(
        contact=contact,
        source="udp:192.0.2.7:5062",
        transport="udp",
        user_agent=ua,
        call_id="reg-1@phone",
        cseq=cseq,
        expires_at=T0 + timedelta(seconds=seconds),
    )


def test_replace_keeps_created_at_of_contacts_that_stay(session: Session, account: str) -> None:
    alice = _user(session, account)
    registrations.replace_bindings(
        session, alice, [_binding("sip:a@192.0.2.7"), _binding("sip:b@192.0.2.8")], now=T0
    )
    later = T0 + timedelta(minutes=5)
    registrations.replace_bindings(
        session,
        alice,
        [_binding("sip:a@192.0.2.7", seconds=7200, cseq=2, ua="Yealink"), _binding("sip:c@x")],
        now=later,
    )
    rows = {r.contact: r for r in registrations.list_registrations(session, account, now=T0)}
    assert set(rows) == {"sip:a@192.0.2.7", "sip:c@x"}
    kept = rows["sip:a@192.0.2.7"]
    assert (kept.created_at, kept.updated_at, kept.cseq, kept.user_agent) == (
        T0,
        later,
        2,
        "Yealink",
    )
    assert rows["sip:c@x"].created_at == later


def test_replace_with_nothing_removes_all(session: Session, account: str) -> None:
    alice = _user(session, account)
    registrations.replace_bindings(session, alice, [_binding("sip:a@h")], now=T0)
    registrations.replace_bindings(session, alice, [], now=T0)
    assert registrations.list_registrations(session, account, now=T0) == []


def test_same_contact_twice_last_wins(session: Session, account: str) -> None:
    alice = _user(session, account)
    registrations.replace_bindings(
        session, alice, [_binding("sip:a@h", cseq=1), _binding("sip:a@h", cseq=5)], now=T0
    )
    (row,) = registrations.list_registrations(session, account, now=T0)
    assert row.cseq == 5


def test_active_bindings_skip_expired(session: Session, account: str) -> None:
    alice, bob = _user(session, account), _user(session, account, "bob")
    registrations.replace_bindings(session, alice, [_binding("sip:a@h", seconds=60)], now=T0)
    registrations.replace_bindings(session, bob, [_binding("sip:b@h", seconds=120)], now=T0)
    at_60 = T0 + timedelta(seconds=60)  # alice's binding ends exactly now
    assert registrations.active_bindings(session, now=at_60) == [
        (bob.id, _binding("sip:b@h", seconds=120))
    ]
    assert len(registrations.active_bindings(session, now=at_60 - timedelta(seconds=1))) == 2
    assert registrations.purge_expired(session, now=at_60) == 1


def test_list_is_scoped_by_account_and_user(
    session: Session, account: str, other_account: str
) -> None:
    alice, bob = _user(session, account), _user(session, account, "bob")
    carol = _user(session, other_account, "carol")
    for user in (alice, bob, carol):
        registrations.replace_bindings(session, user, [_binding(f"sip:{user.name}@h")], now=T0)
    mine = registrations.list_registrations(session, account, now=T0)
    assert {r.user_id for r in mine} == {alice.id, bob.id}
    only_bob = registrations.list_registrations(session, account, now=T0, user_id=bob.id)
    assert [r.user_id for r in only_bob] == [bob.id]
    assert registrations.list_registrations(session, account, now=T0, user_id=carol.id) == []


def test_unknown_transport_is_refused(session: Session, account: str) -> None:
    alice = _user(session, account)
    bad = Binding("sip:a@h", "sctp:192.0.2.1:5060", "sctp", None, "c", 1, T0)
    with pytest.raises(DialtoneError) as info:
        registrations.replace_bindings(session, alice, [bad], now=T0)
    assert info.value.code == "registration.invalid"


@pytest.mark.parametrize(
    ("transport", "host", "port", "text"),
    [
        ("udp", "192.0.2.1", 5060, "udp:192.0.2.1:5060"),
        ("TLS", "2001:db8::1", 5061, "tls:[2001:db8::1]:5061"),
        ("tcp", "[2001:db8::1]", 5060, "tcp:[2001:db8::1]:5060"),
        ("tcp", "sip.example.com", 5060, "tcp:sip.example.com:5060"),
    ],
)
def test_source_text_round_trips(transport: str, host: str, port: int, text: str) -> None:
    assert registrations.format_source(transport, host, port) == text
    assert registrations.parse_source(text) == (transport.lower(), host.strip("[]"), port)


@pytest.mark.parametrize("text", ["", "udp", "udp:host", "udp:host:port", ":1.2.3.4:5060"])
def test_bad_source_text(text: str) -> None:
    with pytest.raises(ValueError, match="source"):
        registrations.parse_source(text)
