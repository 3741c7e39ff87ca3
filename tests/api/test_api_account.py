"""``/v1/account``: the account reads itself and sets its recording policy (TERMS V8);
channels per user (V2) is a paid option it cannot raise itself."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from .conftest import auth, new_account


def test_get_shows_the_defaults(client: TestClient, sessions: sessionmaker[Session]) -> None:
    account_id, key = new_account(sessions, "Acme")
    body = client.get("/v1/account", headers=auth(key)).json()
    assert body["id"] == account_id
    assert (body["channels_per_user"], body["recording_policy"]) == (1, "off")


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        ("notice", 200),
        ("one_party", 200),
        ("off", 200),
        ("always", 400),
        ("", 400),
        ("NOTICE", 400),
    ],
)
def test_recording_policy(
    client: TestClient, sessions: sessionmaker[Session], policy: str, status: int
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.patch("/v1/account", json={"recording_policy": policy}, headers=auth(key))
    assert response.status_code == status, response.text
    if status == 200:
        assert client.get("/v1/account", headers=auth(key)).json()["recording_policy"] == policy
    else:
        assert response.json()["rule"] == "V8"
        assert client.get("/v1/account", headers=auth(key)).json()["recording_policy"] == "off"


def test_channels_are_not_the_customers_to_set(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.patch("/v1/account", json={"channels_per_user": 5}, headers=auth(key))
    assert response.status_code in (400, 422)
    assert client.get("/v1/account", headers=auth(key)).json()["channels_per_user"] == 1


def test_needs_a_key(client: TestClient) -> None:
    assert client.get("/v1/account").status_code == 401


def test_fair_use_month(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    report = client.get("/v1/account/fair-use?month=2026-11", headers=auth(key))
    assert report.status_code == 200, report.text
    assert report.json() == {
        "month": "2026-11",
        "days": [],
        "flagged_days": 0,
        "allowed": True,
        "code": None,
        "rule": None,
        "patterns": [
            {
                "check": check,
                "allowed": True,
                "code": None,
                "rule": None,
                "message": "",
                "details": {},
            }
            for check in ("autodialing", "redial", "usage")
        ],
    }
    bad = client.get("/v1/account/fair-use?month=11-2026", headers=auth(key))
    assert (bad.status_code, bad.json()["code"]) == (400, "request.invalid")


def test_export_is_the_administrators(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    exported = client.get("/v1/account/export", headers=auth(key))
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert body["account"]["name"] == "Acme"
    assert "key_hash" not in exported.text


def test_d3_the_sanctions_declaration_is_kept_with_its_date(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    assert client.get("/v1/account", headers=auth(key)).json()["sanctions_declared_at"] is None
    declared = client.patch("/v1/account", json={"declare_no_sanctions": True}, headers=auth(key))
    assert declared.status_code == 200, declared.text
    first = declared.json()["sanctions_declared_at"]
    assert first is not None
    again = client.patch("/v1/account", json={"declare_no_sanctions": True}, headers=auth(key))
    assert again.json()["sanctions_declared_at"] == first  # the first declaration stands
    withdrawn = client.patch("/v1/account", json={"declare_no_sanctions": False}, headers=auth(key))
    assert (withdrawn.status_code, withdrawn.json()["code"], withdrawn.json()["rule"]) == (
        400,
        "account.declaration_invalid",
        "D3",
    )


def test_ai_quality_monitoring_is_on_until_the_customer_opts_out(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """TERMS A8: the customer opts out of the operator's monitoring of its AI calls,
    and may opt back in; the other account's choice stays its own."""
    _, key = new_account(sessions, "Acme")
    _, other = new_account(sessions, "Globex")
    assert client.get("/v1/account", headers=auth(key)).json()["ai_quality_monitoring"] is True
    out = client.patch("/v1/account", json={"ai_quality_monitoring": False}, headers=auth(key))
    assert out.status_code == 200, out.text
    assert out.json()["ai_quality_monitoring"] is False
    assert client.get("/v1/account", headers=auth(key)).json()["ai_quality_monitoring"] is False
    assert client.get("/v1/account", headers=auth(other)).json()["ai_quality_monitoring"] is True
    # Another change leaves the choice as it is.
    client.patch("/v1/account", json={"recording_policy": "notice"}, headers=auth(key))
    assert client.get("/v1/account", headers=auth(key)).json()["ai_quality_monitoring"] is False
    back = client.patch("/v1/account", json={"ai_quality_monitoring": True}, headers=auth(key))
    assert back.json()["ai_quality_monitoring"] is True


@pytest.mark.parametrize("value", ["maybe", 2, [False]])
def test_ai_quality_monitoring_takes_a_boolean(
    client: TestClient, sessions: sessionmaker[Session], value: object
) -> None:
    _, key = new_account(sessions, "Acme")
    refused = client.patch("/v1/account", json={"ai_quality_monitoring": value}, headers=auth(key))
    assert refused.status_code in (400, 422), refused.text
    assert client.get("/v1/account", headers=auth(key)).json()["ai_quality_monitoring"] is True
