"""Settings pages: recording policy (V8), the AI quality-monitoring opt-out (A8), the
postal address (M9) and SMS webhook, API keys (D1, D2), and the viewer's own language
and password. Every write is read back through the API or the services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker

import dialtone.dashboard
from dialtone.dashboard import i18n
from dialtone.dashboard.pages.settings import (
    ADDRESS_SAVED,
    KEY_REVOKED,
    KEY_STATES,
    LANGUAGE_SAVED,
    MONITORING_SAVED,
    PASSWORD_SAVED,
    POLICY_LABELS,
    RECORDING_SAVED,
    WEBHOOK_SAVED,
    key_state,
)
from dialtone.dashboard.render import _NOTICES
from dialtone.services.accounts import accounts
from dialtone.store.db import transaction
from dialtone.store.models import Account, ApiKey, User
from tests.dashboard.conftest import (
    PASSWORD,
    form_token,
    new_account,
    new_operator,
    new_person,
    sign_in,
)

POSTS = [
    ("/console/settings/recording", {"recording_policy": "notice"}),
    ("/console/settings/ai-monitoring", {"opt_out": "1"}),
    ("/console/settings/postal-address", {"postal_address": "Acme SAS\n1 rue X"}),
    ("/console/settings/sms-webhook", {"sms_webhook_url": "https://93.184.216.34/sms"}),
    ("/console/settings/api-keys", {"name": "crm"}),
    ("/console/settings/me/language", {"language": "fr"}),
    (
        "/console/settings/me/password",
        {
            "current_password": PASSWORD,
            "new_password": "a new password here",
            "repeat_password": "a new password here",
        },
    ),
]


def admin(client: TestClient, sessions: sessionmaker[Session], name: str = "Acme") -> str:
    account_id, _ = new_account(sessions, name)
    new_person(sessions, account_id, "administrator", f"ada@{name.lower()}.test")
    sign_in(client, f"ada@{name.lower()}.test")
    return account_id


def account_row(sessions: sessionmaker[Session], account_id: str) -> Account:
    with sessions() as session:
        row = session.get(Account, account_id)
        assert row is not None
        session.expunge(row)
        return row


def token(client: TestClient, path: str = "/console/settings") -> str:
    return form_token(client.get(path).text)


def test_every_recording_policy_has_its_words() -> None:
    assert set(POLICY_LABELS) == set(accounts.RECORDING_POLICIES)


@pytest.mark.parametrize(
    ("revoked", "expires", "state"),
    [
        (None, None, "active"),
        (None, timedelta(seconds=1), "retiring"),
        (None, timedelta(0), "expired"),
        (None, -timedelta(seconds=1), "expired"),
        (timedelta(0), timedelta(seconds=1), "revoked"),
    ],
)
def test_key_state(revoked: timedelta | None, expires: timedelta | None, state: str) -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    row = ApiKey(
        revoked_at=now + revoked if revoked is not None else None,
        expires_at=now + expires if expires is not None else None,
    )
    assert key_state(row, now) == state
    assert state in KEY_STATES


def test_the_administrator_sees_the_settings_and_its_forms(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    admin(client, sessions)
    page = client.get("/console/settings")
    assert page.status_code == 200, page.text
    for form in ("/settings/recording", "/settings/ai-monitoring", "/settings/api-keys"):
        assert f'action="/console{form}"' in page.text
    assert 'id="keys"' in page.text
    # The account's first key (made with the account) is listed, by its prefix only.
    assert page.text.count("dt_") >= 1


def test_a_manager_reads_the_settings_but_has_no_forms(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "manager", "max@acme.test")
    sign_in(client, "max@acme.test")
    page = client.get("/console/settings")
    assert page.status_code == 200, page.text
    assert "/console/settings/recording" not in page.text
    assert 'id="keys"' not in page.text
    refused = client.post(
        "/console/settings/recording",
        data={"recording_policy": "notice", "csrf": form_token(page.text)},
    )
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert account_row(sessions, account_id).recording_policy == "off"
    keys = client.post(
        "/console/settings/api-keys", data={"name": "x", "csrf": form_token(page.text)}
    )
    assert keys.status_code == 403


@pytest.mark.parametrize("role", ["user", "scheduler", "guest"])
def test_roles_without_account_read_are_refused(
    client: TestClient, sessions: sessionmaker[Session], role: str
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, role, "someone@acme.test")
    sign_in(client, "someone@acme.test")
    refused = client.get("/console/settings")
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert "D1" in refused.text
    # Their own language and password are theirs whatever the role.
    assert client.get("/console/settings/me").status_code == 200


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_every_form_is_refused_without_its_csrf_token(
    client: TestClient, sessions: sessionmaker[Session], path: str, data: dict[str, str]
) -> None:
    account_id = admin(client, sessions)
    answer = client.post(path, data=data)
    assert answer.status_code == 403, answer.text
    assert "console.csrf_failed" in answer.text
    wrong = client.post(path, data={**data, "csrf": "not-the-token"})
    assert wrong.status_code == 403
    row = account_row(sessions, account_id)
    assert (row.recording_policy, row.ai_quality_monitoring, row.postal_address) == (
        "off",
        True,
        None,
    )


@pytest.mark.parametrize("policy", ["notice", "one_party", "off"])
def test_the_recording_policy_is_set_as_the_api_sets_it(
    client: TestClient, sessions: sessionmaker[Session], policy: str
) -> None:
    account_id = admin(client, sessions)
    if policy == "off":
        with transaction(sessions) as session:
            accounts.set_call_options(session, account_id, recording_policy="notice")
    answer = client.post(
        "/console/settings/recording", data={"recording_policy": policy, "csrf": token(client)}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/settings?done=settings.recording"
    assert account_row(sessions, account_id).recording_policy == policy
    shown = client.get(answer.headers["location"]).text
    assert "The recording policy is saved." in shown
    assert str(escape(POLICY_LABELS[policy])) in shown


@pytest.mark.parametrize("policy", ["always", "", "NOTICE"])
def test_a_wrong_recording_policy_is_refused_with_v8(
    client: TestClient, sessions: sessionmaker[Session], policy: str
) -> None:
    account_id = admin(client, sessions)
    answer = client.post(
        "/console/settings/recording", data={"recording_policy": policy, "csrf": token(client)}
    )
    assert answer.status_code == 400
    assert "account.invalid" in answer.text
    assert "V8" in answer.text
    assert account_row(sessions, account_id).recording_policy == "off"


def test_the_customer_opts_out_of_ai_monitoring_and_back_in(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test")
    sign_in(client, "ada@acme.test")
    out = client.post(
        "/console/settings/ai-monitoring", data={"opt_out": "1", "csrf": token(client)}
    )
    assert out.status_code == 303
    assert account_row(sessions, account_id).ai_quality_monitoring is False
    # The API reads the same column.
    body = client.get("/v1/account", headers={"Authorization": f"Bearer {key}"}).json()
    assert body["ai_quality_monitoring"] is False
    page = client.get("/console/settings").text
    assert re.search(r'id="opt-out" name="opt_out" value="1"\s+checked', page)
    # An unticked box is the opt-out withdrawn.
    client.post("/console/settings/ai-monitoring", data={"csrf": token(client)})
    assert account_row(sessions, account_id).ai_quality_monitoring is True


def test_an_operator_cannot_change_the_customers_choice(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    with transaction(sessions) as session:
        accounts.set_ai_quality_monitoring(session, account_id, False)
    new_operator(sessions)
    sign_in(client, "op@example.net")
    opened = client.post(
        f"/console/accounts/{account_id}/open", data={"csrf": token(client, "/console/accounts")}
    )
    assert opened.status_code == 303
    page = client.get("/console/settings")
    assert page.status_code == 200
    assert "/console/settings/ai-monitoring" not in page.text
    refused = client.post("/console/settings/ai-monitoring", data={"csrf": form_token(page.text)})
    assert refused.status_code == 403
    assert "ai_monitoring.opted_out" in refused.text
    assert "A8" in refused.text
    assert account_row(sessions, account_id).ai_quality_monitoring is False


def test_the_postal_address_is_saved_and_cleared(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id = admin(client, sessions)
    client.post(
        "/console/settings/postal-address",
        data={"postal_address": " Acme SAS \r\n1 rue de la Paix\r\n", "csrf": token(client)},
    )
    assert account_row(sessions, account_id).postal_address == "Acme SAS\n1 rue de la Paix"
    client.post(
        "/console/settings/postal-address", data={"postal_address": "", "csrf": token(client)}
    )
    assert account_row(sessions, account_id).postal_address is None


def test_the_sms_webhook_passes_the_ssrf_guard(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id = admin(client, sessions)
    refused = client.post(
        "/console/settings/sms-webhook",
        data={"sms_webhook_url": "http://169.254.169.254/latest/", "csrf": token(client)},
    )
    assert refused.status_code == 400
    assert "webhook.target_refused" in refused.text
    assert account_row(sessions, account_id).sms_webhook_url is None
    saved = client.post(
        "/console/settings/sms-webhook",
        data={"sms_webhook_url": "https://93.184.216.34/sms", "csrf": token(client)},
    )
    assert saved.status_code == 303
    assert account_row(sessions, account_id).sms_webhook_url == "https://93.184.216.34/sms"


def _new_key(page: str) -> str:
    found = re.search(r'id="new-key" readonly size="60" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_a_key_is_issued_shown_once_and_works(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id = admin(client, sessions)
    issued = client.post("/console/settings/api-keys", data={"name": "crm", "csrf": token(client)})
    assert issued.status_code == 201, issued.text
    key = _new_key(issued.text)
    assert (
        client.get("/v1/account", headers={"Authorization": f"Bearer {key}"}).json()["id"]
        == account_id
    )
    listed = client.get("/console/settings").text
    assert key[:10] in listed
    assert key not in listed
    assert "crm" in listed


def test_a_key_for_a_user_acts_with_their_role(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id = admin(client, sessions)
    guest = new_person(sessions, account_id, "guest", "gus@acme.test")
    issued = client.post(
        "/console/settings/api-keys",
        data={"name": "gus", "user_id": guest.user_id or "", "csrf": token(client)},
    )
    key = _new_key(issued.text)
    answer = client.get("/v1/account", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 403  # a guest has no account.read (D1)


def test_a_key_of_another_accounts_user_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    other_id, _ = new_account(sessions, "Globex")
    stranger = new_person(sessions, other_id, "administrator", "gil@globex.test")
    admin(client, sessions)
    refused = client.post(
        "/console/settings/api-keys",
        data={"name": "x", "user_id": stranger.user_id or "", "csrf": token(client)},
    )
    assert refused.status_code == 404
    assert "user.not_found" in refused.text


def test_rotate_now_and_revoke(client: TestClient, sessions: sessionmaker[Session]) -> None:
    account_id = admin(client, sessions)
    first = _new_key(
        client.post("/console/settings/api-keys", data={"name": "crm", "csrf": token(client)}).text
    )
    with sessions() as session:
        old_id = session.query(ApiKey).filter_by(account_id=account_id, name="crm").one().id
    rotated = client.post(
        f"/console/settings/api-keys/{old_id}/rotate",
        data={"immediately": "1", "csrf": token(client)},
    )
    assert rotated.status_code == 201, rotated.text
    second = _new_key(rotated.text)
    assert second != first
    assert (
        client.get("/v1/account", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    )
    assert (
        client.get("/v1/account", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    )
    # The audit log names who rotated it: the signed-in user, not an API key.
    audit = client.get(
        "/v1/audit", headers={"Authorization": f"Bearer {second}"}, params={"limit": 50}
    )
    assert audit.status_code == 200, audit.text
    assert any(e.get("actor", "").startswith("user:") for e in audit.json()["events"])
    with sessions() as session:
        new_id = (
            session.query(ApiKey)
            .filter_by(account_id=account_id, name="crm", expires_at=None)
            .one()
            .id
        )
    revoked = client.post(
        f"/console/settings/api-keys/{new_id}/revoke", data={"csrf": token(client)}
    )
    assert revoked.status_code == 303
    assert (
        client.get("/v1/account", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    )
    assert "The API key is revoked." in client.get(revoked.headers["location"]).text


def test_a_second_account_sees_none_of_the_firsts_keys_or_settings(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    acme_id, _ = new_account(sessions, "Acme")
    with transaction(sessions) as session:
        accounts.set_postal_address(session, acme_id, "Acme SAS secret street")
    with sessions() as session:
        acme_key = session.query(ApiKey).filter_by(account_id=acme_id).first()
        assert acme_key is not None
        acme_key_id, acme_prefix = acme_key.id, acme_key.prefix
    admin(client, sessions, "Globex")
    page = client.get("/console/settings").text
    assert acme_id not in page
    assert acme_prefix not in page
    assert "secret street" not in page
    for action in ("rotate", "revoke"):
        refused = client.post(
            f"/console/settings/api-keys/{acme_key_id}/{action}", data={"csrf": token(client)}
        )
        assert refused.status_code == 404
        assert "api_key.not_found" in refused.text
    with sessions() as session:
        row = session.get(ApiKey, acme_key_id)
        assert row is not None
        assert row.revoked_at is None
        assert row.expires_at is None


def test_the_viewer_sets_their_language(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id = admin(client, sessions)
    answer = client.post(
        "/console/settings/me/language",
        data={"language": "fr", "csrf": token(client, "/console/settings/me")},
    )
    assert answer.status_code == 303
    with sessions() as session:
        user = session.query(User).filter_by(account_id=account_id).one()
        assert user.language == "fr"
    assert '<html lang="fr">' in client.get("/console/settings/me").text
    bad = client.post(
        "/console/settings/me/language",
        data={"language": "de", "csrf": token(client, "/console/settings/me")},
    )
    assert bad.status_code == 400
    client.post(
        "/console/settings/me/language",
        data={"language": "", "csrf": token(client, "/console/settings/me")},
    )
    with sessions() as session:
        assert session.query(User).filter_by(account_id=account_id).one().language is None


def test_the_viewer_changes_their_password(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    admin(client, sessions)
    # A second browser signed in as the same person.
    other = TestClient(client.app, follow_redirects=False)
    sign_in(other, "ada@acme.test")
    new = "a brand new password"
    wrong = client.post(
        "/console/settings/me/password",
        data={
            "current_password": "not the password",
            "new_password": new,
            "repeat_password": new,
            "csrf": token(client, "/console/settings/me"),
        },
    )
    assert wrong.status_code == 400
    assert "The current password is wrong." in wrong.text
    differ = client.post(
        "/console/settings/me/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "repeat_password": new + "x",
            "csrf": token(client, "/console/settings/me"),
        },
    )
    assert differ.status_code == 400
    short = client.post(
        "/console/settings/me/password",
        data={
            "current_password": PASSWORD,
            "new_password": "short",
            "repeat_password": "short",
            "csrf": token(client, "/console/settings/me"),
        },
    )
    assert short.status_code == 400
    assert "console.password_invalid" in short.text
    changed = client.post(
        "/console/settings/me/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "repeat_password": new,
            "csrf": token(client, "/console/settings/me"),
        },
    )
    assert changed.status_code == 303, changed.text
    # This browser goes on (a new session cookie); the other one is signed out.
    assert client.get("/console/settings/me").status_code == 200
    assert other.get("/console/settings/me").status_code == 303
    fresh = TestClient(client.app, follow_redirects=False)
    sign_in(fresh, "ada@acme.test", new)


def test_an_operator_changes_their_password_but_saves_no_language(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_operator(sessions)
    sign_in(client, "op@example.net")
    page = client.get("/console/settings/me")
    assert page.status_code == 200
    assert "/console/settings/me/language" not in page.text
    refused = client.post(
        "/console/settings/me/language",
        data={"language": "fr", "csrf": form_token(page.text)},
    )
    assert refused.status_code == 400
    wrong = client.post(
        "/console/settings/me/password",
        data={
            "current_password": "not the password",
            "new_password": "a brand new password",
            "repeat_password": "a brand new password",
            "csrf": form_token(page.text),
        },
    )
    assert wrong.status_code == 400
    changed = client.post(
        "/console/settings/me/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "repeat_password": "a brand new password",
            "csrf": form_token(page.text),
        },
    )
    assert changed.status_code == 303
    assert client.get("/console/accounts").status_code == 200  # this browser goes on
    client.cookies.clear()
    sign_in(client, "op@example.net", "a brand new password")


def english_texts(templates: list[str], labels: list[dict[str, str]]) -> set[str]:
    """Every text the templates pass to ``t("...")``, and the pages' labels."""
    folder = Path(dialtone.dashboard.__file__).parent / "templates"
    found: set[str] = set()
    for name in templates:
        source = (folder / name).read_text(encoding="utf-8")
        for match in re.finditer(r"""\bt\(\s*(?:"([^"]*)"|'([^']*)')""", source):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    for table in labels:
        found.update(table.values())
    return found


def test_every_text_of_the_settings_pages_is_in_french() -> None:
    texts = english_texts(
        ["settings.html", "settings_key.html", "settings_me.html"],
        [POLICY_LABELS, KEY_STATES],
    )
    texts |= {
        "The recording policy is saved.",
        "The current password is wrong.",
        "The two passwords differ.",
        "The opt-out of AI quality monitoring is the customer's own choice: an operator "
        "cannot change it.",
    }
    texts |= {
        _NOTICES[key]
        for key in (
            RECORDING_SAVED,
            MONITORING_SAVED,
            ADDRESS_SAVED,
            WEBHOOK_SAVED,
            KEY_REVOKED,
            LANGUAGE_SAVED,
            PASSWORD_SAVED,
        )
    }
    assert len(texts) > 50
    missing = sorted(text for text in texts if text not in i18n.french())
    assert missing == []
