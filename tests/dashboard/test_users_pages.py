"""Users and devices pages: the directory, live registrations, the administrator's
forms (create, change, SIP credentials reset, invitation link, delete) and a user's own
emergency location (TERMS D1, V7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import registrations, users
from dialtone.store.db import transaction
from dialtone.store.models import Registration
from tests.dashboard.conftest import (
    PASSWORD,
    form_token,
    new_account,
    new_operator,
    new_person,
    sign_in,
)


def _register(sessions: sessionmaker[Session], account_id: str, user_id: str) -> None:
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        session.add(
            Registration(
                id=f"RG{user_id[-8:]}",
                account_id=account_id,
                user_id=user_id,
                contact="sip:desk@192.0.2.10:5060",
                source=registrations.format_source("udp", "192.0.2.10", 5060),
                transport="udp",
                user_agent="Desk phone 1.0",
                call_id=f"reg-{user_id}",
                cseq=1,
                expires_at=now + timedelta(minutes=30),
                created_at=now,
                updated_at=now,
            )
        )


@pytest.fixture
def acme(client: TestClient, sessions: sessionmaker[Session]) -> dict[str, str]:
    account_id, _ = new_account(sessions, "Acme")
    admin = new_person(sessions, account_id, "administrator", "ada@acme.test", "Ada")
    user = new_person(sessions, account_id, "user", "ugo@acme.test", "Ugo")
    _register(sessions, account_id, user.user_id or "")
    return {"account": account_id, "admin": admin.user_id or "", "user": user.user_id or ""}


def test_the_directory_shows_roles_console_access_and_devices(
    client: TestClient, acme: dict[str, str]
) -> None:
    sign_in(client, "ada@acme.test")
    page = client.get("/console/users")
    assert page.status_code == 200, page.text
    row = re.search(
        r"<tr>\s*<td><a href=\"/console/users/{}\">Ugo</a>.*?</tr>".format(acme["user"]),
        page.text,
        re.S,
    )
    assert row, page.text
    assert "Signs in" in row.group(0)
    assert '<td class="num">1</td>' in row.group(0)  # one device registered now
    detail = client.get(f"/console/users/{acme['user']}")
    assert "Desk phone 1.0" in detail.text


def test_a_user_sees_the_directory_without_write_forms_and_only_its_own_devices(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    _register(sessions, acme["account"], acme["admin"])
    sign_in(client, "ugo@acme.test")
    page = client.get("/console/users")
    assert page.status_code == 200
    assert "Ada" in page.text
    assert "Ugo" in page.text
    assert 'action="/console/users"' not in page.text
    # Ada's device is not counted for a user (registrations.read: own).
    ada_row = re.search(
        r"/console/users/{}\">Ada</a>.*?</tr>".format(acme["admin"]), page.text, re.S
    )
    assert ada_row
    assert '<td class="num">0</td>' in ada_row.group(0)
    ada = client.get(f"/console/users/{acme['admin']}")
    assert ada.status_code == 200
    assert "Desk phone" not in ada.text
    assert "sip-credentials" not in ada.text
    assert "emergency-location" not in ada.text
    refused = client.post("/console/users", data={"name": "Eve", "csrf": form_token(page.text)})
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert "D1" in refused.text


def test_a_guest_sees_itself_only(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    guest = new_person(sessions, acme["account"], "guest", "gus@acme.test", "Gus")
    sign_in(client, "gus@acme.test")
    page = client.get("/console/users")
    assert page.status_code == 200
    assert "Gus" in page.text
    assert "Ugo" not in page.text
    other = client.get(f"/console/users/{acme['user']}")
    assert other.status_code == 403
    assert "permission.own_only" in other.text
    assert client.get(f"/console/users/{guest.user_id}").status_code == 200


def test_the_administrator_creates_changes_and_deletes_a_user(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    sign_in(client, "ada@acme.test")
    token = form_token(client.get("/console/users").text)
    made = client.post(
        "/console/users",
        data={
            "name": "Mia",
            "email": "mia@acme.test",
            "role": "manager",
            "extension": "204",
            "csrf": token,
        },
    )
    assert made.status_code == 303, made.text
    user_id = made.headers["location"].split("/")[-1].split("?")[0]
    with transaction(sessions) as session:
        row = users.get_user(session, acme["account"], user_id)
        assert (row.name, row.role, row.extension) == ("Mia", "manager", "204")
    changed = client.post(
        f"/console/users/{user_id}",
        data={
            "name": "Mia",
            "email": "mia@acme.test",
            "role": "user",
            "extension": "205",
            "csrf": token,
        },
    )
    assert changed.status_code == 303
    with transaction(sessions) as session:
        row = users.get_user(session, acme["account"], user_id)
        assert (row.role, row.extension) == ("user", "205")
    taken = client.post(
        f"/console/users/{user_id}",
        data={"name": "Mia", "role": "user", "extension": "205", "csrf": token},
    )
    assert taken.status_code == 303  # its own extension again is no conflict
    gone = client.post(f"/console/users/{user_id}/delete", data={"csrf": token})
    assert gone.status_code == 303
    assert client.get(f"/console/users/{user_id}").status_code == 404


def test_a_sip_password_reset_is_shown_once_and_opens_the_digest(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    sign_in(client, "ada@acme.test")
    token = form_token(client.get("/console/users").text)
    shown = client.post(
        f"/console/users/{acme['user']}/sip-credentials",
        data={"sip_username": "ugo.desk", "csrf": token},
    )
    assert shown.status_code == 200, shown.text
    password = re.search(r'id="sip-password">.*?<code>([^<]+)</code>', shown.text, re.S)
    assert password
    assert len(password.group(1)) >= 16
    with transaction(sessions) as session:
        row = users.get_user(session, acme["account"], acme["user"])
        first = row.ha1_sha256
        assert row.sip_username == "ugo.desk"
        assert first is not None
    again = client.get(f"/console/users/{acme['user']}")
    assert password.group(1) not in again.text
    second = client.post(f"/console/users/{acme['user']}/sip-credentials", data={"csrf": token})
    with transaction(sessions) as session:
        assert users.get_user(session, acme["account"], acme["user"]).ha1_sha256 != first
    assert second.status_code == 200


def test_an_invitation_link_is_shown_and_lets_the_user_sign_in(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    with transaction(sessions) as session:
        new = users.create_user(
            session,
            acme["account"],
            name="Ines",
            email="ines@acme.test",
            now=datetime.now(UTC),
            realm="dialtone",
        )
        new_id = new.id
    sign_in(client, "ada@acme.test")
    token = form_token(client.get("/console/users").text)
    shown = client.post(f"/console/users/{new_id}/invitation", data={"csrf": token})
    assert shown.status_code == 200
    link = re.search(r"(/console/invitation/[A-Za-z0-9_-]+)", shown.text)
    assert link
    assert "Invited" in client.get("/console/users").text
    client.cookies.clear()
    form = client.get(link.group(1))
    assert form.status_code == 200
    accepted = client.post(
        link.group(1),
        data={"password": PASSWORD, "repeat": PASSWORD, "csrf": form_token(form.text)},
    )
    assert accepted.status_code == 303, accepted.text


def test_a_user_registers_its_own_emergency_location_only(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    sign_in(client, "ugo@acme.test")
    page = client.get(f"/console/users/{acme['user']}")
    assert "emergency-location" in page.text
    token = form_token(page.text)
    unacknowledged = client.post(
        f"/console/users/{acme['user']}/emergency-location",
        data={"address": "1 rue de la Paix, Paris", "country": "FR", "csrf": token},
    )
    assert unacknowledged.status_code == 400
    assert "V7" in unacknowledged.text
    set_ = client.post(
        f"/console/users/{acme['user']}/emergency-location",
        data={
            "address": "1 rue de la Paix, Paris",
            "country": "FR",
            "acknowledge": "1",
            "csrf": token,
        },
    )
    assert set_.status_code == 303
    with transaction(sessions) as session:
        assert users.get_user(session, acme["account"], acme["user"]).emergency_country == "FR"
    other = client.post(
        f"/console/users/{acme['admin']}/emergency-location",
        data={"address": "2 rue X, Paris", "country": "FR", "acknowledge": "1", "csrf": token},
    )
    assert other.status_code == 403
    assert "permission.own_only" in other.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/users",
        "/console/users/{user}",
        "/console/users/{user}/sip-credentials",
        "/console/users/{user}/invitation",
        "/console/users/{user}/delete",
        "/console/users/{user}/emergency-location",
        "/console/users/{user}/emergency-location/delete",
        "/console/users/{user}/voicemail-greeting/delete",
    ],
)
def test_every_form_is_refused_without_its_token(
    client: TestClient, acme: dict[str, str], path: str
) -> None:
    sign_in(client, "ada@acme.test")
    answer = client.post(path.format(user=acme["user"]), data={"name": "X"})
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text


def test_another_account_sees_none_of_the_users(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    other_id, _ = new_account(sessions, "Globex")
    new_person(sessions, other_id, "administrator", "gil@globex.test", "Gil")
    sign_in(client, "gil@globex.test")
    page = client.get("/console/users")
    assert "Ugo" not in page.text
    assert "Ada" not in page.text
    assert client.get(f"/console/users/{acme['user']}").status_code == 404
    token = form_token(page.text)
    assert (
        client.post(f"/console/users/{acme['user']}/delete", data={"csrf": token}).status_code
        == 404
    )


def test_an_operator_who_opened_the_account_manages_its_users(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    new_operator(sessions)
    sign_in(client, "op@example.net")
    token = form_token(client.get("/console/accounts").text)
    client.post(f"/console/accounts/{acme['account']}/open", data={"csrf": token})
    page = client.get("/console/users")
    assert page.status_code == 200
    assert "Ugo" in page.text
    assert 'action="/console/users"' in page.text


def test_the_pages_speak_french(
    client: TestClient, sessions: sessionmaker[Session], acme: dict[str, str]
) -> None:
    with transaction(sessions) as session:
        users.update_user(session, acme["account"], acme["admin"], name="Ada")
        from dialtone.services.accounts import console_access

        console_access.set_language(session, acme["account"], acme["admin"], "fr")
    sign_in(client, "ada@acme.test")
    page = client.get(f"/console/users/{acme['admin']}")
    assert "Réinitialiser le mot de passe SIP" in page.text
    assert "Appareils enregistrés en ce moment" in page.text
