"""Key rotation (TERMS D2, issue 13 item 8): a key already rotated is not rotated again,
and a key in its rotation notice cannot mint keys (it would outlive its notice)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from .conftest import auth, new_account


@pytest.mark.parametrize("immediately", [False, True])
def test_a_key_in_its_notice_is_not_rotated_again(
    client: TestClient, sessions: sessionmaker[Session], immediately: bool
) -> None:
    _, admin = new_account(sessions, "Acme")
    made = client.post("/v1/api-keys", json={"name": "crm"}, headers=auth(admin)).json()
    first = client.post(f"/v1/api-keys/{made['id']}/rotate", headers=auth(admin))
    assert first.status_code == 201, first.text
    again = client.post(
        f"/v1/api-keys/{made['id']}/rotate", params={"immediately": immediately},
        headers=auth(admin),
    )  # fmt: skip
    assert (again.status_code, again.json()["code"], again.json()["rule"]) == (
        409,
        "api_key.rotating",
        "D2",
    )
    names = [k["name"] for k in client.get("/v1/api-keys", headers=auth(admin)).json()["api_keys"]]
    assert names.count("crm") == 2  # the old key and one replacement, not two
    # The replacement is the one to rotate.
    assert client.post(f"/v1/api-keys/{first.json()['id']}/rotate",
                       headers=auth(admin)).status_code == 201  # fmt: skip


def test_a_key_in_its_notice_cannot_mint_keys(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, admin = new_account(sessions, "Acme")
    made = client.post("/v1/api-keys", json={"name": "ops"}, headers=auth(admin)).json()
    other = client.post("/v1/api-keys", json={"name": "crm"}, headers=auth(admin)).json()
    assert client.post(f"/v1/api-keys/{made['id']}/rotate", headers=auth(admin)).status_code == 201
    retiring = auth(made["key"])  # an administrator key, in its one business day of notice
    assert client.get("/v1/numbers", headers=retiring).status_code == 200  # still works
    for response in (
        client.post("/v1/api-keys", json={"name": "forever"}, headers=retiring),
        client.post(f"/v1/api-keys/{other['id']}/rotate", headers=retiring),
    ):
        assert (response.status_code, response.json()["code"], response.json()["rule"]) == (
            409,
            "api_key.retiring",
            "D2",
        )
    names = [k["name"] for k in client.get("/v1/api-keys", headers=auth(admin)).json()["api_keys"]]
    assert "forever" not in names
    assert names.count("crm") == 1
    events = client.get("/v1/audit", headers=auth(admin)).json()["events"]
    assert [e["code"] for e in events if e["outcome"] == "refused"] == ["api_key.retiring"] * 2
