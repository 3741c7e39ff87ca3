"""The unmodified ``twilio`` SDK against a running dialtone (issue 16): only the base
URL and the credentials change."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from dialtone.settings import Settings

from .conftest import RECIPIENT, Acme, make_acme


def _client(base: str, user: str, secret: str, account: str | None = None) -> Client:
    client = Client(user, secret, account_sid=account)
    client.api.base_url = base  # the one change a Twilio application makes
    return client


@pytest.fixture
def acme(sessions: sessionmaker[Session], settings: Settings, server: str) -> Acme:
    made = make_acme(sessions, settings)
    consent = httpx.post(
        f"{server}/v1/consents",
        headers=made.bearer,
        json={"recipient": RECIPIENT, "source": "https://acme.example", "wording": "Yes."},
    )
    assert consent.status_code == 201, consent.text
    return made


@pytest.fixture
def twilio(server: str, acme: Acme) -> Client:
    return _client(server, acme.account, acme.token)


def test_account_fetch(twilio: Client, acme: Acme) -> None:
    account = twilio.api.accounts(acme.account).fetch()
    assert (account.sid, account.friendly_name, account.status) == (acme.account, "Acme", "active")
    assert account.date_created is not None
    assert "messages" in account.subresource_uris


def test_numbers_available_bought_updated_listed_released(twilio: Client) -> None:
    local = twilio.available_phone_numbers("FR").local.list(contains="4567", limit=10)
    assert [n.phone_number for n in local] == ["+33123456789", "+33123456790", "+33123456791"]
    mobile = twilio.available_phone_numbers("FR").mobile.list()
    assert [n.phone_number for n in mobile] == ["+33612345600"]
    toll_free = twilio.available_phone_numbers("FR").toll_free.list()
    assert [n.phone_number for n in toll_free] == ["+33800123456"]

    bought = twilio.incoming_phone_numbers.create(
        phone_number="+33123456789", voice_url="https://app.example/voice"
    )
    assert bought.sid.startswith("PN")
    assert bought.voice_url == "https://app.example/voice"
    updated = twilio.incoming_phone_numbers(bought.sid).update(
        friendly_name="Front desk", sms_url="https://app.example/sms", voice_method="GET"
    )
    assert (updated.friendly_name, updated.sms_url, updated.voice_method) == (
        "Front desk",
        "https://app.example/sms",
        "GET",
    )
    listed = twilio.incoming_phone_numbers.list(phone_number="+33123456789")
    assert [n.sid for n in listed] == [bought.sid]
    assert twilio.incoming_phone_numbers.list(friendly_name="Nope") == []
    # Bought, it left the stock.
    assert "+33123456789" not in [
        n.phone_number for n in twilio.available_phone_numbers("FR").local.list()
    ]
    assert twilio.incoming_phone_numbers(bought.sid).delete() is True
    assert twilio.incoming_phone_numbers.list() == []


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("Your table is ready.", "1"),  # GSM-7
        ("Votre table est prête 🍽", "1"),  # UCS-2
        ("x" * 161, "2"),  # GSM-7, two parts of 153
        ("🍽" * 40, "2"),  # UCS-2: 80 UTF-16 units, two parts of 67
    ],
)
def test_messages_created_fetched(twilio: Client, body: str, segments: str) -> None:
    twilio.incoming_phone_numbers.create(phone_number="+33123456789")
    sent = twilio.messages.create(to=RECIPIENT, from_="+33123456789", body=body)
    assert sent.sid.startswith("SM")
    assert (sent.status, sent.direction, sent.body) == ("queued", "outbound-api", body)
    fetched = twilio.messages(sent.sid).fetch()
    assert (fetched.sid, fetched.to, fetched.from_) == (sent.sid, RECIPIENT, "+33123456789")
    assert (sent.num_segments, fetched.num_segments) == (segments, segments)


def test_messages_listed_with_paging(twilio: Client) -> None:
    twilio.incoming_phone_numbers.create(phone_number="+33123456789")
    sids = [
        twilio.messages.create(to=RECIPIENT, from_="+33123456789", body=f"n{i}").sid
        for i in range(7)
    ]
    listed = twilio.messages.list(page_size=3)  # three pages, followed by next_page_uri
    assert [m.sid for m in listed] == sids[::-1]
    page = twilio.messages.page(page_size=3)
    assert len(list(page)) == 3
    second = page.next_page()
    assert second is not None
    assert len(list(second)) == 3
    assert twilio.messages.list(to=RECIPIENT, limit=2)[0].sid == sids[-1]
    assert twilio.messages.list(to="+33612345679") == []


def test_calls_listed_and_an_unknown_call(twilio: Client) -> None:
    assert twilio.calls.list() == []
    with pytest.raises(TwilioRestException) as raised:
        twilio.calls("CA" + "0" * 32).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_call_create_without_an_engine_is_503(twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        twilio.calls.create(to=RECIPIENT, from_="+33123456789", url="https://app.example/v")
    assert raised.value.status == 503


@pytest.mark.parametrize(
    ("to", "sender", "status", "code"),
    [
        ("not a number", "+33123456789", 400, 21211),  # bad To
        (RECIPIENT, "+33199999999", 403, 21606),  # From not the account's (M6)
        ("+33612345679", "+33123456789", 403, 20403),  # no consent (M3): default
    ],
)
def test_message_errors(twilio: Client, to: str, sender: str, status: int, code: int) -> None:
    twilio.incoming_phone_numbers.create(phone_number="+33123456789")
    with pytest.raises(TwilioRestException) as raised:
        twilio.messages.create(to=to, from_=sender, body="Hello")
    assert (raised.value.status, raised.value.code) == (status, code)


def test_unknown_sid_and_bad_credentials(server: str, twilio: Client, acme: Acme) -> None:
    with pytest.raises(TwilioRestException) as raised:
        twilio.messages("SM" + "0" * 32).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)
    wrong = _client(server, acme.account, "0" * 32)
    with pytest.raises(TwilioRestException) as raised:
        wrong.messages("SM" + "0" * 32).fetch()
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_an_api_key_with_its_sid(server: str, acme: Acme) -> None:
    key_id = httpx.get(f"{server}/v1/api-keys", headers=acme.bearer).json()["api_keys"][0]["id"]
    client = _client(server, "SK" + key_id[2:], acme.key, acme.account)
    assert client.api.accounts(acme.account).fetch().sid == acme.account
    stranger = _client(server, "SK" + "1" * 32, acme.key, acme.account)
    with pytest.raises(TwilioRestException) as raised:
        stranger.api.accounts(acme.account).fetch()
    assert raised.value.code == 20003
