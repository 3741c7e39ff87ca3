"""``/v1/users/{id}/emergency-location`` (TERMS V7): a location is registered only with
the misrouting warning acknowledged, and the dry run of an emergency call follows it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from .conftest import auth, new_account


def _user(client: TestClient, key: str) -> str:
    created = client.post("/v1/users", json={"name": "Alice"}, headers=auth(key))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _location(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "address": "1 rue de Rivoli, 75001 Paris",
        "country": "fr",
        "acknowledge_misrouting_warning": True,
    }
    return {**body, **changes}


def test_register_read_and_forget_a_location(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    user_id = _user(client, key)
    url = f"/v1/users/{user_id}/emergency-location"
    empty = client.get(url, headers=auth(key)).json()
    assert (empty["registered"], empty["address"]) == (False, None)
    assert "misrouted" in empty["warning"] or "wrong emergency centre" in empty["warning"]
    put = client.put(url, json=_location(), headers=auth(key))
    assert put.status_code == 200, put.text
    assert (put.json()["registered"], put.json()["country"]) == (True, "FR")
    assert put.json()["warning_acknowledged_at"] is not None
    assert client.get(url, headers=auth(key)).json() == put.json()
    gone = client.delete(url, headers=auth(key)).json()
    assert (gone["registered"], gone["warning_acknowledged_at"]) == (False, None)


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        ({"address": "1 ru"}, False),  # 4 characters: just under the minimum of 5
        ({"address": " 1 ru "}, False),  # 4 once trimmed
        ({"address": "1 rue"}, True),  # at the minimum
        ({"address": "1 rue."}, True),  # just over
        ({"address": "x" * 500}, True),  # at the maximum
        ({"address": "x" * 501}, False),  # just over
        ({"country": "ZZ"}, False),
        ({"acknowledge_misrouting_warning": False}, False),
    ],
)
def test_location_boundaries(
    client: TestClient, sessions: sessionmaker[Session], changes: dict[str, Any], ok: bool
) -> None:
    _, key = new_account(sessions, "Acme")
    user_id = _user(client, key)
    response = client.put(
        f"/v1/users/{user_id}/emergency-location", json=_location(**changes), headers=auth(key)
    )
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        assert (response.json()["code"], response.json()["rule"]) == (
            "emergency.location_invalid",
            "V7",
        )


def test_dry_run_of_an_emergency_call(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    assert client.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key))
    user_id = _user(client, key)

    def check(**body: Any) -> dict[str, Any]:
        response = client.post(
            "/v1/policy/check",
            json={"action": "call", "to": "112", "user_id": user_id, **body},
            headers=auth(key),
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    refused = check()
    assert (refused["code"], refused["rule"]) == ("emergency.location_missing", "V7")
    assert [c["check"] for c in refused["checks"]] == ["emergency"]
    client.put(f"/v1/users/{user_id}/emergency-location", json=_location(), headers=auth(key))
    assert check()["allowed"] is True
    client.put(
        f"/v1/users/{user_id}/emergency-location",
        json=_location(country="DE"),
        headers=auth(key),
    )
    assert check()["code"] == "emergency.country_ineligible"
