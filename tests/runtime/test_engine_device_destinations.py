"""The INVITE to a user's devices (``Steps.device_destinations``): the request goes to
the registered contact, and To is a valid address of the user even when the user has no
SIP username (it was ``<sip:@host>``): the SIP username, else the extension, else the id."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from dialtone.runtime.auth import SipUser
from dialtone.runtime.engine import CallEngine
from dialtone.sip.headers import NameAddress, parse_name_address
from dialtone.sip.registrar import Binding
from dialtone.sip.uri import SipUri, parse_uri
from tests.runtime.conftest import stand_in_engine

CONTACT = "sip:phone-7@192.0.2.44:5070;transport=udp"


def _engine(tmp: Path, path: tuple[str, ...] = ()) -> CallEngine:
    binding = Binding(CONTACT, ("192.0.2.44", 5070), "udp", 0.0, "reg-1", 1, "Phone/1.0", path)
    return stand_in_engine(
        tmp,
        contacts=[binding],
        channels={"udp": cast(Any, SimpleNamespace(name="udp"))},
        advertised_host="203.0.113.5",
    )


def _user(sip_username: str, extension: str | None) -> SipUser:
    return SipUser(
        id="US0123",
        account_id="AC1",
        sip_username=sip_username,
        name="Bob",
        extension=extension,
        ha1_md5=None,
        ha1_sha256=None,
        channels=1,
        can_take_calls=True,
    )


@pytest.mark.parametrize(
    ("sip_username", "extension", "to_user"),
    [("bob", "202", "bob"), ("", "202", "202"), ("", None, "US0123")],
)
def test_the_invite_goes_to_the_contact_and_to_a_valid_address(
    tmp_path: Path, sip_username: str, extension: str | None, to_user: str
) -> None:
    engine = _engine(tmp_path)
    caller = NameAddress(SipUri("sip", host="203.0.113.5", user="201"), "Alice")
    [destination] = asyncio.run(
        engine.steps.device_destinations(_user(sip_username, extension), caller)
    )
    assert destination.uri == parse_uri(CONTACT)  # the registered contact
    assert destination.peer == ("192.0.2.44", 5070)
    to = str(destination.to)
    assert "sip:@" not in to
    assert to == f"<sip:{to_user}@203.0.113.5>"
    assert parse_name_address(to).uri == SipUri("sip", host="203.0.113.5", user=to_user)


def test_a_contact_registered_through_an_edge_is_reached_through_its_path(
    tmp_path: Path,
) -> None:
    # RFC 3327: the Path is the Route (in order), the first entry is where the INVITE
    # goes; the Request-URI stays the Contact (loose routing). Issue 19.
    path = (
        "<sip:edge@198.51.100.9:5060;lr;received=sip:192.0.2.44:5070>",
        "<sip:inner@198.51.100.10;lr>",
    )
    engine = _engine(tmp_path, path)
    caller = NameAddress(SipUri("sip", host="203.0.113.5", user="201"), "Alice")
    [destination] = asyncio.run(engine.steps.device_destinations(_user("bob", "202"), caller))
    assert destination.uri == parse_uri(CONTACT)
    assert destination.peer == ("198.51.100.9", 5060)
    assert destination.extra_headers == (("Route", path[0]), ("Route", path[1]))
