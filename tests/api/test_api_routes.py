"""``/v1/numbers/{number}/route`` and ``/v1/ring-groups``: N10 refusals, isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from .conftest import auth, new_account

NUMBER = "+33123456789"


def _setup(client: TestClient, key: str, number: str = NUMBER) -> str:
    """Lease ``number`` and create one user; returns the user id."""
    assert client.post("/v1/numbers", json={"number": number}, headers=auth(key)).status_code == 201
    created = client.post("/v1/users", json={"name": "Alice"}, headers=auth(key))
    return str(created.json()["id"])


def test_route_get_put(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    user_id = _setup(client, key)
    default = client.get(f"/v1/numbers/{NUMBER}/route", headers=auth(key))
    assert default.status_code == 200, default.text
    assert default.json() == {
        "number": NUMBER,
        "kind": "greeting",
        "target": None,
        "no_answer_seconds": None,
        "effective_no_answer_seconds": 20.0,
        "voicemail_user_id": None,
    }
    put = client.put(
        f"/v1/numbers/{NUMBER}/route",
        json={"kind": "user", "target": user_id, "no_answer_seconds": 30},
        headers=auth(key),
    )
    assert put.status_code == 200, put.text
    assert (put.json()["kind"], put.json()["target"]) == ("user", user_id)
    assert put.json()["effective_no_answer_seconds"] == 30
    assert client.get(f"/v1/numbers/{NUMBER}/route", headers=auth(key)).json() == put.json()
    forward = client.put(
        f"/v1/numbers/{NUMBER}/route",
        json={"kind": "forward", "target": "+44 20 7946 0958"},
        headers=auth(key),
    )
    assert forward.json()["target"] == "+442079460958"


def test_route_delete_goes_back_to_the_greeting(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """The README documents DELETE …/route (issue 13, item 17): it answered 405."""
    _, key = new_account(sessions, "Acme")
    user_id = _setup(client, key)
    default = client.get(f"/v1/numbers/{NUMBER}/route", headers=auth(key)).json()
    client.put(
        f"/v1/numbers/{NUMBER}/route",
        json={"kind": "user", "target": user_id, "no_answer_seconds": 30,
              "voicemail_user_id": user_id},
        headers=auth(key),
    )  # fmt: skip
    deleted = client.delete(f"/v1/numbers/{NUMBER}/route", headers=auth(key))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == default  # greeting, no target, no ring time, no box
    assert client.get(f"/v1/numbers/{NUMBER}/route", headers=auth(key)).json() == default
    again = client.delete(f"/v1/numbers/{NUMBER}/route", headers=auth(key))
    assert again.json() == default  # idempotent
    _, other = new_account(sessions, "Other")
    theirs = client.delete(f"/v1/numbers/{NUMBER}/route", headers=auth(other))
    assert (theirs.status_code, theirs.json()["code"]) == (404, "number.not_found")


def test_n10_refusal_carries_the_rule(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    user_id = _setup(client, key)
    client.patch(f"/v1/users/{user_id}", json={"status": "disabled"}, headers=auth(key))
    response = client.put(
        f"/v1/numbers/{NUMBER}/route", json={"kind": "user", "target": user_id}, headers=auth(key)
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["rule"]) == ("route.inactive_endpoint", "N10")
    assert body["message"]


def test_routes_never_cross_accounts(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    _setup(client, key)
    stranger = _setup(client, other_key, "+33198765432")
    to_stranger = client.put(
        f"/v1/numbers/{NUMBER}/route", json={"kind": "user", "target": stranger}, headers=auth(key)
    )
    assert (to_stranger.status_code, to_stranger.json()["code"]) == (400, "route.invalid")
    for method in ("GET", "PUT"):
        response = client.request(
            method,
            f"/v1/numbers/{NUMBER}/route",
            json={"kind": "greeting"},
            headers=auth(other_key),
        )
        assert (response.status_code, response.json()["code"]) == (404, "number.not_found")


def test_route_body_is_checked(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _setup(client, key)
    for payload, status, code in [
        ({}, 400, "request.invalid"),
        ({"kind": "greeting", "extra": 1}, 400, "request.invalid"),
        ({"kind": "teleport"}, 400, "route.invalid"),
        ({"kind": "forward", "target": "+33891234567"}, 403, "destination.premium_rate"),
    ]:
        response = client.put(f"/v1/numbers/{NUMBER}/route", json=payload, headers=auth(key))
        assert (response.status_code, response.json()["code"]) == (status, code), payload


def test_ring_groups(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    alice = _setup(client, key)
    bob = client.post("/v1/users", json={"name": "Bob"}, headers=auth(key)).json()["id"]
    created = client.post(
        "/v1/ring-groups",
        json={"name": "Sales", "strategy": "sequential", "user_ids": [bob, alice]},
        headers=auth(key),
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["user_ids"], group["member_seconds"]) == ([bob, alice], 20)
    assert client.get(f"/v1/ring-groups/{group['id']}", headers=auth(key)).json() == group
    assert client.get("/v1/ring-groups", headers=auth(key)).json() == {"ring_groups": [group]}

    assert client.get("/v1/ring-groups", headers=auth(other_key)).json() == {"ring_groups": []}
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/v1/ring-groups/{group['id']}", headers=auth(other_key))
        assert (response.status_code, response.json()["code"]) == (404, "ring_group.not_found")
    foreign = client.post(
        "/v1/ring-groups",
        json={"name": "Steal", "strategy": "parallel", "user_ids": [alice]},
        headers=auth(other_key),
    )
    assert (foreign.status_code, foreign.json()["code"]) == (400, "ring_group.invalid")

    route = client.put(
        f"/v1/numbers/{NUMBER}/route",
        json={"kind": "group", "target": group["id"]},
        headers=auth(key),
    )
    assert route.status_code == 200, route.text
    assert client.delete(f"/v1/ring-groups/{group['id']}", headers=auth(key)).status_code == 204
    after = client.get(f"/v1/numbers/{NUMBER}/route", headers=auth(key)).json()
    assert after["kind"] == "greeting"  # N10: no route to a gone group


def test_ring_group_of_a_scheduler_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    planner = client.post(
        "/v1/users", json={"name": "P", "role": "scheduler"}, headers=auth(key)
    ).json()["id"]
    response = client.post(
        "/v1/ring-groups",
        json={"name": "G", "strategy": "parallel", "user_ids": [planner]},
        headers=auth(key),
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["rule"]) == ("ring_group.invalid", "D1")
