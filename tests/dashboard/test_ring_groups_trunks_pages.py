"""The ring groups and trunks pages: read by the roles that may, written through the
API's services (read back over the API), refused for other roles (D1) and without the
CSRF token; a trunk's password never shown; a second account sees none of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing, trunks
from dialtone.store.db import transaction
from tests.dashboard.conftest import Person, form_token, new_account, new_person, sign_in

SECRET = "s3cret-carrier-pass"


@dataclass(frozen=True)
class Acme:
    account_id: str
    api_key: str
    admin: Person
    manager: Person
    user: Person


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> Acme:
    account_id, api_key = new_account(sessions, "Acme")
    return Acme(
        account_id,
        api_key,
        new_person(sessions, account_id, "administrator", "ada@acme.test", "Ada"),
        new_person(sessions, account_id, "manager", "max@acme.test", "Max"),
        new_person(sessions, account_id, "user", "bob@acme.test", "Bob"),
    )


def _api(client: TestClient, acme: Acme, path: str) -> dict[str, object]:
    answer = client.get(path, headers={"Authorization": f"Bearer {acme.api_key}"})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _group(sessions: sessionmaker[Session], acme: Acme, name: str = "Sales") -> str:
    assert acme.user.user_id is not None
    with transaction(sessions) as session:
        return routing.create_ring_group(
            session,
            acme.account_id,
            name=name,
            strategy="parallel",
            member_seconds=20,
            user_ids=[acme.user.user_id],
            now=datetime.now(UTC),
        ).id


# Ring groups ------------------------------------------------------------------------


def test_a_ring_group_is_created_in_the_page_and_the_api_shows_it(
    client: TestClient, acme: Acme
) -> None:
    sign_in(client, acme.admin.email)
    page = client.get("/console/ring-groups")
    assert page.status_code == 200
    assert 'id="ring-group-form"' in page.text
    answer = client.post(
        "/console/ring-groups",
        data={
            "csrf": form_token(page.text),
            "name": "Support",
            "strategy": "sequential",
            "member_seconds": "15",
            "user_ids": [acme.user.user_id, acme.admin.user_id],
        },
    )
    assert answer.status_code == 303, answer.text
    (group,) = _api(client, acme, "/v1/ring-groups")["ring_groups"]  # type: ignore[misc]
    assert (group["name"], group["strategy"], group["member_seconds"]) == (
        "Support",
        "sequential",
        15,
    )
    assert group["user_ids"] == [acme.user.user_id, acme.admin.user_id]
    shown = client.get(answer.headers["location"])
    assert "The ring group is created." in shown.text
    assert "Support" in shown.text
    assert "Bob" in shown.text


def test_a_ring_group_the_service_refuses_shows_why(client: TestClient, acme: Acme) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get("/console/ring-groups").text)
    empty = client.post(
        "/console/ring-groups", data={"csrf": token, "name": "Nobody", "strategy": "parallel"}
    )
    assert empty.status_code == 400
    assert "ring_group.invalid" in empty.text
    assert _api(client, acme, "/v1/ring-groups")["ring_groups"] == []


def test_deleting_a_group_sends_its_numbers_back_to_the_greeting(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    group_id = _group(sessions, acme)
    with transaction(sessions) as session:
        numbers.add_number(session, acme.account_id, "+33123456789", now=datetime.now(UTC))
        routing.set_route(session, acme.account_id, "+33123456789", kind="group", target=group_id)
    sign_in(client, acme.admin.email)
    token = form_token(client.get("/console/ring-groups").text)
    answer = client.post(f"/console/ring-groups/{group_id}/delete", data={"csrf": token})
    assert answer.status_code == 303
    assert _api(client, acme, "/v1/ring-groups")["ring_groups"] == []
    assert _api(client, acme, "/v1/numbers/+33123456789/route")["kind"] == "greeting"


def test_a_manager_sees_groups_but_cannot_change_them(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    group_id = _group(sessions, acme)
    sign_in(client, acme.manager.email)
    page = client.get("/console/ring-groups")
    assert page.status_code == 200
    assert "Sales" in page.text
    assert 'id="ring-group-form"' not in page.text
    token = form_token(page.text)
    refused = client.post(f"/console/ring-groups/{group_id}/delete", data={"csrf": token})
    assert refused.status_code == 403
    assert "permission.denied" in refused.text
    assert len(_api(client, acme, "/v1/ring-groups")["ring_groups"]) == 1  # type: ignore[arg-type]


def test_a_user_role_cannot_open_the_ring_groups(client: TestClient, acme: Acme) -> None:
    sign_in(client, acme.user.email)
    answer = client.get("/console/ring-groups")
    assert answer.status_code == 403
    assert "permission.denied" in answer.text


def test_ring_group_forms_are_refused_without_the_csrf_token(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    group_id = _group(sessions, acme)
    sign_in(client, acme.admin.email)
    made = client.post(
        "/console/ring-groups",
        data={"name": "X", "strategy": "parallel", "user_ids": acme.user.user_id},
    )
    removed = client.post(f"/console/ring-groups/{group_id}/delete", data={})
    assert made.status_code == removed.status_code == 403
    assert "console.csrf_failed" in made.text
    assert [g["id"] for g in _api(client, acme, "/v1/ring-groups")["ring_groups"]] == [  # type: ignore[attr-defined]
        group_id
    ]


# Trunks ------------------------------------------------------------------------------


def _trunk_form(token: str, **changes: str) -> dict[str, str]:
    fields = {
        "csrf": token,
        "name": "Carrier A",
        "host": "sip.carrier.example",
        "port": "5070",
        "transport": "tcp",
        "username": "acme",
        "password": SECRET,
        "caller_id_format": "e164",
        "priority": "10",
        "enabled": "1",
        "register": "1",
        "register_expires": "600",
    }
    fields.update(changes)
    return fields


def test_a_trunk_is_added_changed_and_removed_and_its_password_never_shown(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, acme.admin.email)
    page = client.get("/console/trunks")
    assert page.status_code == 200
    token = form_token(page.text)
    added = client.post("/console/trunks", data=_trunk_form(token))
    assert added.status_code == 303, added.text
    (trunk,) = _api(client, acme, "/v1/trunks")["trunks"]  # type: ignore[misc]
    assert (trunk["host"], trunk["port"], trunk["transport"], trunk["register"]) == (
        "sip.carrier.example",
        5070,
        "tcp",
        True,
    )
    assert trunk["password_set"] is True
    listing = client.get("/console/trunks")
    assert "Carrier A" in listing.text
    assert SECRET not in listing.text
    assert "registering" in listing.text  # not seen by the runtime yet
    # Changed with an empty password: the one set stays.
    changed = client.post(
        f"/console/trunks/{trunk['id']}",
        data=_trunk_form(token, name="Carrier B", password="", priority="5", enabled=""),
    )
    assert changed.status_code == 303, changed.text
    after = _api(client, acme, f"/v1/trunks/{trunk['id']}")
    assert (after["name"], after["priority"], after["enabled"], after["password_set"]) == (
        "Carrier B",
        5,
        False,
        True,
    )
    with transaction(sessions) as session:
        row = trunks.get_trunk(session, acme.account_id, str(trunk["id"]))
        assert row.password_sealed is not None
        assert SECRET not in row.password_sealed
    removed = client.post(f"/console/trunks/{trunk['id']}/delete", data={"csrf": token})
    assert removed.status_code == 303
    assert _api(client, acme, "/v1/trunks")["trunks"] == []


def test_a_trunk_the_service_refuses_shows_why(client: TestClient, acme: Acme) -> None:
    sign_in(client, acme.admin.email)
    token = form_token(client.get("/console/trunks").text)
    for bad in ({"transport": "carrier-pigeon"}, {"port": "many"}, {"host": "bad host!"}):
        answer = client.post("/console/trunks", data=_trunk_form(token, **bad))
        assert answer.status_code == 400, bad
        assert "trunk.invalid" in answer.text
    assert _api(client, acme, "/v1/trunks")["trunks"] == []


def test_the_registration_state_the_runtime_saw_is_shown(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        row = trunks.create_trunk(
            session,
            account_id=acme.account_id,
            name="Reg",
            host="sip.carrier.example",
            now=datetime.now(UTC),
            username="u",
            password="p",
            key=b"k" * 32,
            register=True,
        )
        row.registration_state = "failed"
        row.registration_error = "403 Forbidden from the registrar"
    sign_in(client, acme.admin.email)
    page = client.get("/console/trunks")
    assert "failed" in page.text
    assert "403 Forbidden from the registrar" in page.text


@pytest.mark.parametrize("who", ["manager", "user"])
def test_only_an_administrator_reaches_the_trunks(client: TestClient, acme: Acme, who: str) -> None:
    sign_in(client, getattr(acme, who).email)
    answer = client.get("/console/trunks")
    assert answer.status_code == 403
    assert "permission.denied" in answer.text
    token = form_token(client.get("/console/numbers").text)
    refused = client.post("/console/trunks", data=_trunk_form(token))
    assert refused.status_code == 403
    assert _api(client, acme, "/v1/trunks")["trunks"] == []


def test_trunk_forms_are_refused_without_the_csrf_token(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        trunk_id = trunks.create_trunk(
            session, account_id=acme.account_id, name="T", host="10.0.0.1", now=datetime.now(UTC)
        ).id
    sign_in(client, acme.admin.email)
    fields = _trunk_form("")
    del fields["csrf"]
    for path in (
        "/console/trunks",
        f"/console/trunks/{trunk_id}",
        f"/console/trunks/{trunk_id}/delete",
    ):
        answer = client.post(path, data=fields)
        assert answer.status_code == 403, path
        assert "console.csrf_failed" in answer.text
    (trunk,) = _api(client, acme, "/v1/trunks")["trunks"]  # type: ignore[misc]
    assert trunk["name"] == "T"


def test_a_second_account_sees_none_of_the_first_accounts_groups_and_trunks(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    group_id = _group(sessions, acme, "Acme sales")
    with transaction(sessions) as session:
        trunk_id = trunks.create_trunk(
            session,
            account_id=acme.account_id,
            name="Acme trunk",
            host="10.0.0.1",
            now=datetime.now(UTC),
        ).id
    other, _ = new_account(sessions, "Globex")
    new_person(sessions, other, "administrator", "gus@globex.test")
    sign_in(client, "gus@globex.test")
    groups = client.get("/console/ring-groups")
    listed = client.get("/console/trunks")
    assert "Acme sales" not in groups.text
    assert group_id not in groups.text
    assert "Acme trunk" not in listed.text
    assert trunk_id not in listed.text
    token = form_token(groups.text)
    assert (
        client.post(f"/console/ring-groups/{group_id}/delete", data={"csrf": token}).status_code
        == 404
    )
    assert (
        client.post(f"/console/trunks/{trunk_id}/delete", data={"csrf": token}).status_code == 404
    )
    assert len(_api(client, acme, "/v1/trunks")["trunks"]) == 1  # type: ignore[arg-type]


def test_the_pages_speak_french(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    _group(sessions, acme)
    with transaction(sessions) as session:
        row = numbers.add_number(session, acme.account_id, "+33123456789", now=datetime.now(UTC))
        number_id = row.id
    sign_in(client, acme.admin.email)
    client.cookies.set("dt_lang", "fr")
    said = {
        "/console/numbers": "Pièces d'identité (N3)",
        f"/console/numbers/{number_id}": "Enregistrer la route",
        "/console/ring-groups": "Créer le groupe d'appel",
        "/console/trunks": "Ajouter le trunk",
    }
    for path, french in said.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert french.replace("'", "&#39;") in page.text, path
