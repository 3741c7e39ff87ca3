"""The Twilio-compatible settings page: the Account SID and base URL, the auth token
shown on demand and rotated (TERMS D2), each number's URLs set through the Twilio API's
own checks (the SSRF guard), and what each role may do (D1)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.dashboard.pages.twilio import NUMBER_SAVED
from dialtone.services.numbering import numbers
from dialtone.services.twilio import auth_tokens
from dialtone.settings import Settings
from dialtone.store.db import transaction
from tests.dashboard.conftest import form_token, new_account, new_person, sign_in

HOME = "/console/settings/twilio"
NUMBER = "+33123456789"
PUBLIC = "https://93.184.216.34/voice"  # an address literal: no DNS in the tests


def acme(
    sessions: sessionmaker[Session], settings: Settings, name: str = "Acme"
) -> tuple[str, str, str]:
    """An account with an auth token and one number: (account id, token, number id)."""
    account_id, _ = new_account(sessions, name)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        token = auth_tokens.issue(session, account_id, settings.sealing_key(), now)
        number = NUMBER if name == "Acme" else "+33123456790"
        row = numbers.add_number(session, account_id, number, now=now)
        return account_id, token, row.id


def signed_in(
    client: TestClient, sessions: sessionmaker[Session], account_id: str, role: str
) -> None:
    email = f"{role}-{account_id[-6:]}@acme.test".lower()
    new_person(sessions, account_id, role, email)
    sign_in(client, email)


def csrf(client: TestClient) -> str:
    return form_token(client.get(HOME).text)


def matched(
    sessions: sessionmaker[Session], account_id: str, token: str
) -> auth_tokens.Match | None:
    with sessions() as session:
        return auth_tokens.match(session, account_id, token, datetime.now(UTC))


def fetched(client: TestClient, account_id: str, token: str, number_id: str) -> dict[str, Any]:
    """The number as ``GET …/IncomingPhoneNumbers/{Sid}.json`` shows it (HTTP Basic)."""
    basic = base64.b64encode(f"{account_id}:{token}".encode()).decode()
    answer = client.get(
        f"/2010-04-01/Accounts/{account_id}/IncomingPhoneNumbers/{number_id}.json",
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_administrator_sees_the_sid_the_base_url_and_the_forms(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, token, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    page = client.get(HOME)
    assert page.status_code == 200, page.text
    assert f'<code id="account-sid">{account_id}</code>' in page.text
    assert f"{settings.public_http_url}/2010-04-01" in page.text
    assert 'action="/console/settings/twilio/token"' in page.text
    assert 'action="/console/settings/twilio/token/rotate"' in page.text
    assert f'action="/console/settings/twilio/numbers/{number_id}"' in page.text
    assert token not in page.text  # shown only on demand
    assert page.headers["cache-control"] == "no-store"
    assert 'href="/console/settings/twilio"' in client.get("/console/settings").text


def test_the_token_is_shown_on_demand_only(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, token, _ = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    shown = client.post(f"{HOME}/token", data={"csrf": csrf(client)})
    assert shown.status_code == 200, shown.text
    assert f'value="{token}"' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert token not in str(shown.url)
    assert token not in client.get(HOME).text
    # Showing it changes nothing.
    assert matched(sessions, account_id, token) == auth_tokens.Match(None)


def test_a_manager_sees_but_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, token, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "manager")
    page = client.get(HOME)
    assert page.status_code == 200, page.text
    assert account_id in page.text
    assert "/console/settings/twilio/token" not in page.text
    assert f"/console/settings/twilio/numbers/{number_id}" not in page.text
    # The page has no form of its own: the CSRF token comes from the header's sign-out.
    key = form_token(page.text)
    for path, data in [
        (f"{HOME}/token", {}),
        (f"{HOME}/token/rotate", {"immediately": "1"}),
        (f"{HOME}/numbers/{number_id}", {"voice_url": PUBLIC, "voice_method": "GET"}),
    ]:
        refused = client.post(path, data={**data, "csrf": key})
        assert refused.status_code == 403, path
        assert "permission.denied" in refused.text
        assert token not in refused.text
    assert matched(sessions, account_id, token) == auth_tokens.Match(None)
    assert fetched(client, account_id, token, number_id)["voice_url"] is None


@pytest.mark.parametrize("role", ["user", "scheduler", "guest"])
def test_roles_without_account_read_are_refused(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, role: str
) -> None:
    account_id, _, _ = acme(sessions, settings)
    signed_in(client, sessions, account_id, role)
    refused = client.get(HOME)
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert "D1" in refused.text


@pytest.mark.parametrize("path", ["/token", "/token/rotate", "/numbers/{id}"])
def test_every_form_is_refused_without_its_csrf_token(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings, path: str
) -> None:
    account_id, token, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    data = {"voice_url": PUBLIC, "voice_method": "GET", "immediately": "1"}
    url = HOME + path.format(id=number_id)
    for sent in (data, {**data, "csrf": "not-the-token"}):
        answer = client.post(url, data=sent)
        assert answer.status_code == 403, answer.text
        assert "console.csrf_failed" in answer.text
        assert token not in answer.text
    assert matched(sessions, account_id, token) == auth_tokens.Match(None)
    assert fetched(client, account_id, token, number_id)["voice_url"] is None


def test_a_rotation_keeps_the_old_token_for_its_notice(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, old, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    answer = client.post(f"{HOME}/token/rotate", data={"csrf": csrf(client)})
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    with sessions() as session:
        new = auth_tokens.current_token(settings.sealing_key(), _token_row(session, account_id))
    assert new is not None
    assert new != old
    assert f'value="{new}"' in answer.text
    assert 'id="old-token"' in answer.text
    assert matched(sessions, account_id, new) == auth_tokens.Match(None)
    kept = matched(sessions, account_id, old)
    assert kept is not None
    assert kept.expires_at is not None
    assert kept.expires_at > datetime.now(UTC)
    # Both work on the Twilio API during the notice.
    assert fetched(client, account_id, old, number_id)["sid"] == number_id
    assert fetched(client, account_id, new, number_id)["sid"] == number_id


def test_a_rotation_can_stop_the_old_token_now(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, old, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    answer = client.post(f"{HOME}/token/rotate", data={"csrf": csrf(client), "immediately": "1"})
    assert answer.status_code == 201, answer.text
    assert matched(sessions, account_id, old) is None
    with sessions() as session:
        new = auth_tokens.current_token(settings.sealing_key(), _token_row(session, account_id))
    assert new is not None
    assert f'value="{new}"' in answer.text
    assert matched(sessions, account_id, new) == auth_tokens.Match(None)
    basic = base64.b64encode(f"{account_id}:{old}".encode()).decode()
    refused = client.get(
        f"/2010-04-01/Accounts/{account_id}/IncomingPhoneNumbers/{number_id}.json",
        headers={"Authorization": f"Basic {basic}"},
    )
    assert refused.status_code == 401


def _token_row(session: Session, account_id: str) -> auth_tokens.AuthToken:
    row = session.get(auth_tokens.AuthToken, account_id)
    assert row is not None
    return row


def test_the_urls_set_here_are_what_the_twilio_api_shows(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, token, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    data = {
        "voice_url": PUBLIC,
        "voice_method": "GET",
        "sms_url": "https://93.184.216.34/sms",
        "status_callback": "https://93.184.216.34/status",
        "csrf": csrf(client),
    }
    answer = client.post(f"{HOME}/numbers/{number_id}", data=data)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{HOME}?done={NUMBER_SAVED}"
    shown = fetched(client, account_id, token, number_id)
    assert (shown["voice_url"], shown["voice_method"]) == (PUBLIC, "GET")
    assert shown["sms_url"] == "https://93.184.216.34/sms"
    assert shown["status_callback"] == "https://93.184.216.34/status"
    assert f'value="{PUBLIC}"' in client.get(HOME).text
    # An empty URL clears it, as on the API.
    cleared = client.post(
        f"{HOME}/numbers/{number_id}",
        data={**data, "voice_url": "", "csrf": csrf(client)},
    )
    assert cleared.status_code == 303
    assert fetched(client, account_id, token, number_id)["voice_url"] is None


@pytest.mark.parametrize(
    ("field", "url", "code"),
    [
        ("voice_url", "http://127.0.0.1/voice", "webhook.target_refused"),
        ("sms_url", "http://10.0.0.5/sms", "webhook.target_refused"),
        ("status_callback", "http://[::1]/status", "webhook.target_refused"),
        ("voice_url", "ftp://93.184.216.34/voice", "request.invalid"),
        ("voice_method", "PUT", "request.invalid"),
    ],
)
def test_a_refused_url_or_method_changes_nothing(
    *,
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    field: str,
    url: str,
    code: str,
) -> None:
    account_id, token, number_id = acme(sessions, settings)
    signed_in(client, sessions, account_id, "administrator")
    data = {"voice_url": PUBLIC, "voice_method": "POST", "csrf": csrf(client), field: url}
    answer = client.post(f"{HOME}/numbers/{number_id}", data=data)
    assert answer.status_code == 400, answer.text
    assert code in answer.text
    shown = fetched(client, account_id, token, number_id)
    assert (shown["voice_url"], shown["sms_url"], shown["status_callback"]) == (None, None, None)


def test_a_second_account_sees_and_reaches_nothing_of_the_first(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    first, token, number_id = acme(sessions, settings)
    second, _, _ = acme(sessions, settings, "Beta")
    signed_in(client, sessions, second, "administrator")
    page = client.get(HOME)
    assert page.status_code == 200
    assert first not in page.text
    assert number_id not in page.text
    assert NUMBER not in page.text
    shown = client.post(f"{HOME}/token", data={"csrf": form_token(page.text)})
    assert token not in shown.text
    answer = client.post(
        f"{HOME}/numbers/{number_id}",
        data={"voice_url": PUBLIC, "voice_method": "GET", "csrf": form_token(page.text)},
    )
    assert answer.status_code == 404
    assert "number.not_found" in answer.text
    assert fetched(client, first, token, number_id)["voice_url"] is None
