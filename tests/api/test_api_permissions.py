"""TERMS D1 on every API route: each role reaches what it may, and is refused the rest
with 403, the code and the rule; a user's key reaches its own records only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.policy.permissions import PERMISSIONS, ROLES, Scope, scope_of
from dialtone.services.accounts import api_keys
from dialtone.services.telephony import users, voicemails
from dialtone.settings import Settings
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord

from .conftest import PUBLIC_ROUTES, api_routes, auth, new_account

NUMBER = "+33123456789"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_every_route_declares_its_permission(settings: Settings, sessions: Any) -> None:
    """A route added without a permission would be open to every role: none may be."""
    app = create_app(settings, sessions)
    undeclared = []
    routes = api_routes(app)
    assert len(routes) > 50  # the walk reaches the included routers
    for route in routes:
        if route.path in PUBLIC_ROUTES:
            continue
        declared = [getattr(dep.dependency, "permission", None) for dep in route.dependencies]
        if not any(p in PERMISSIONS for p in declared):
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert undeclared == []


class Team:
    """An account with one user of each role, each with its own key."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.account_id, self.admin_key = new_account(sessions, "Acme")
        self.user_ids: dict[str, str] = {}
        self.keys: dict[str, str] = {"account": self.admin_key}
        with transaction(sessions) as session:
            for n, role in enumerate(ROLES):
                user = users.create_user(
                    session,
                    self.account_id,
                    name=role.title(),
                    now=NOW,
                    role=role,
                    extension=str(201 + n),
                    realm="dialtone",
                )
                self.user_ids[role] = user.id
                self.keys[role] = api_keys.issue(
                    session, self.account_id, now=NOW, name=role, user_id=user.id
                ).key


@pytest.fixture
def team(sessions: sessionmaker[Session]) -> Team:
    return Team(sessions)


# One request per permission, each harmless to repeat and aimed at a record of the
# administrator user (so a role reaching its own records only is refused too).
def _requests(team: Team) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    other = team.user_ids["administrator"]
    return [
        ("account.read", "GET", "/v1/account", None),
        ("account.write", "PATCH", "/v1/account", {}),
        ("account.export", "GET", "/v1/account/export", None),
        ("agents.read", "GET", "/v1/agents", None),
        ("agents.write", "DELETE", "/v1/agents/AG0", None),
        ("agent_reports.read", "GET", "/v1/agent-reports", None),
        ("api_keys.manage", "GET", "/v1/api-keys", None),
        ("audit.read", "GET", "/v1/audit", None),
        ("billing.read", "GET", "/v1/invoices", None),
        ("billing.write", "POST", "/v1/invoices/INnone/disputes", {"reason": "x"}),
        ("sla.claim", "POST", "/v1/sla/claims", {"rule": "S4", "year": 2026, "month": 1}),
        (
            "usage.write",
            "POST",
            "/v1/usage",
            {
                "events": [
                    {
                        "transaction_id": "perm",
                        "code": "sms",
                        "timestamp": "2026-11-02T09:00:00+00:00",
                        "destination": "+33612345678",
                        "segments": 1,
                    }
                ]
            },
        ),
        ("calls.place", "POST", "/v1/calls", {"user_id": other, "to": "202"}),
        ("calls.read", "GET", "/v1/calls", None),
        ("recordings.read", "GET", "/v1/calls/CA0/recording", None),
        ("recordings.delete", "DELETE", "/v1/calls/CA0/recording", None),
        ("dnc.read", "GET", "/v1/dnc", None),
        ("errors.read", "GET", "/v1/errors", None),
        ("dnc.write", "DELETE", "/v1/dnc/+33612345678", None),
        ("messages.read", "GET", "/v1/messages", None),
        (
            "messages.send",
            "POST",
            "/v1/messages",
            {"from": "ACME", "to": "+33612345678", "body": ""},
        ),
        ("emails.read", "GET", "/v1/emails", None),
        (
            "emails.send",
            "POST",
            "/v1/emails",
            {"to": "ann@example.com", "subject": "", "text": ""},
        ),
        ("consents.read", "GET", "/v1/consents", None),
        ("consents.write", "DELETE", "/v1/consents/CN0", None),
        ("smpp.manage", "GET", "/v1/smpp/logins", None),
        ("numbers.read", "GET", "/v1/numbers", None),
        ("numbers.write", "DELETE", "/v1/numbers/+33999999999", None),
        ("policy.check", "POST", "/v1/policy/check", {"action": "call"}),
        ("registrations.read", "GET", f"/v1/users/{other}/registrations", None),
        ("ring_groups.read", "GET", "/v1/ring-groups", None),
        ("ring_groups.write", "DELETE", "/v1/ring-groups/RG0", None),
        ("trunks.read", "GET", "/v1/trunks", None),
        ("trunks.write", "DELETE", "/v1/trunks/TR0", None),
        ("users.read", "GET", f"/v1/users/{other}", None),
        ("users.self_service", "GET", f"/v1/users/{other}/emergency-location", None),
        ("users.write", "PATCH", f"/v1/users/{other}", {}),
        ("voicemails.read", "GET", "/v1/voicemails", None),
        ("voicemails.write", "DELETE", "/v1/voicemails/VM0", None),
        ("webhooks.read", "GET", "/v1/webhooks", None),
    ]


def test_the_table_covers_every_permission(team: Team) -> None:
    assert {p for p, *_ in _requests(team)} == set(PERMISSIONS)


@pytest.mark.parametrize("role", [*ROLES, "account"])
def test_each_role_reaches_what_it_may_and_no_more(
    client: TestClient, team: Team, role: str
) -> None:
    key = team.keys[role]
    for permission, method, path, body in _requests(team):
        response = client.request(method, path, json=body, headers=auth(key))
        granted = scope_of("administrator" if role == "account" else role, permission)
        if granted is Scope.NONE:
            expected_code: str | None = "permission.denied"
        elif granted is Scope.OWN and permission in {
            "calls.place",
            "registrations.read",
            "users.self_service",
            "users.read",
        }:
            expected_code = "permission.own_only"  # aimed at someone else's record
        else:
            expected_code = None
        if expected_code is None:
            assert response.status_code != 403, (role, permission, response.text)
        else:
            assert response.status_code == 403, (role, permission, response.text)
            body_out = response.json()
            assert (body_out["code"], body_out["rule"]) == (expected_code, "D1"), body_out


def test_a_users_key_sees_its_own_calls_and_voicemail_only(
    client: TestClient, team: Team, sessions: sessionmaker[Session], tmp_path: Any
) -> None:
    mine, theirs = team.user_ids["user"], team.user_ids["manager"]
    with transaction(sessions) as session:
        for n, owner in enumerate((mine, theirs, None)):
            session.add(
                CallRecord(
                    id=f"CA{n}",
                    account_id=team.account_id,
                    direction="inbound",
                    from_number="+33100000000",
                    to_number=NUMBER,
                    started_at=NOW + timedelta(minutes=n),
                    ended_at=NOW + timedelta(minutes=n, seconds=30),
                    duration=Decimal(30),
                    billed_seconds=60,
                    billing_increment="60/60",
                    status="completed",
                    hangup_cause="caller-bye",
                    sip_call_id=f"call-{n}",
                    sip_local_tag=f"tag-{n}",
                    user_id=owner,
                )
            )
        audio = tmp_path / "vm.wav"
        audio.write_bytes(b"")
        for owner in (mine, theirs):
            voicemails.create_voicemail(
                session,
                account_id=team.account_id,
                user_id=owner,
                number=NUMBER,
                from_number="+33100000000",
                duration=Decimal(1),
                path=str(audio),
                now=NOW,
            )
    user_key, manager_key = auth(team.keys["user"]), auth(team.keys["manager"])

    own_calls = client.get("/v1/calls", headers=user_key).json()["calls"]
    assert [c["user_id"] for c in own_calls] == [mine]
    assert len(client.get("/v1/calls", headers=manager_key).json()["calls"]) == 3
    refused = client.get("/v1/calls/CA1", headers=user_key)
    assert (refused.status_code, refused.json()["code"]) == (403, "permission.own_only")
    assert client.get("/v1/calls/CA0", headers=user_key).status_code == 200
    assert client.get("/v1/calls/CA2", headers=user_key).status_code == 403  # nobody's

    boxes = client.get("/v1/voicemails", headers=user_key).json()["voicemails"]
    assert [v["user_id"] for v in boxes] == [mine]
    asked = client.get(f"/v1/voicemails?user_id={theirs}", headers=user_key)
    assert (asked.status_code, asked.json()["code"]) == (403, "permission.own_only")
    all_boxes = client.get("/v1/voicemails", headers=manager_key).json()["voicemails"]
    theirs_id = next(v["id"] for v in all_boxes if v["user_id"] == theirs)
    assert client.delete(f"/v1/voicemails/{theirs_id}", headers=user_key).status_code == 403
    assert client.delete(f"/v1/voicemails/{theirs_id}", headers=manager_key).status_code == 204

    listed = client.get("/v1/users", headers=auth(team.keys["guest"])).json()["users"]
    assert [u["id"] for u in listed] == [team.user_ids["guest"]]
    assert len(client.get("/v1/users", headers=user_key).json()["users"]) == len(ROLES)


def test_a_refusal_is_audited(client: TestClient, team: Team) -> None:
    refused = client.get("/v1/trunks", headers=auth(team.keys["user"]))
    assert refused.status_code == 403
    events = client.get("/v1/audit", headers=auth(team.admin_key)).json()["events"]
    assert any(e["code"] == "permission.denied" and e["rule"] == "D1" for e in events), events


def test_keys_of_disabled_users_and_revoked_keys_stop_working(
    client: TestClient, team: Team
) -> None:
    admin = auth(team.admin_key)
    manager = auth(team.keys["manager"])
    assert client.get("/v1/calls", headers=manager).status_code == 200
    disabled = client.patch(
        f"/v1/users/{team.user_ids['manager']}", json={"status": "disabled"}, headers=admin
    )
    assert disabled.status_code == 200, disabled.text
    assert client.get("/v1/calls", headers=manager).status_code == 401

    keys = client.get("/v1/api-keys", headers=admin).json()["api_keys"]
    by_name = {k["name"]: k for k in keys}
    assert by_name["user"]["role"] == "user"
    assert by_name["default"]["role"] == "administrator"
    assert "key" not in by_name["user"]
    assert client.delete(f"/v1/api-keys/{by_name['user']['id']}", headers=admin).status_code == 204
    assert client.get("/v1/calls", headers=auth(team.keys["user"])).status_code == 401


def test_issue_and_rotate_over_the_api(client: TestClient, team: Team) -> None:
    admin = auth(team.admin_key)
    issued = client.post(
        "/v1/api-keys", json={"name": "crm", "user_id": team.user_ids["scheduler"]}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    made = issued.json()
    assert made["role"] == "scheduler"
    assert made["key"].startswith("dt_")
    assert client.get("/v1/numbers", headers=auth(made["key"])).status_code == 200

    # The customer's own rotation after a suspected compromise: the old key stops now.
    rotated = client.post(f"/v1/api-keys/{made['id']}/rotate?immediately=true", headers=admin)
    assert rotated.status_code == 201, rotated.text
    assert client.get("/v1/numbers", headers=auth(made["key"])).status_code == 401
    assert client.get("/v1/numbers", headers=auth(rotated.json()["key"])).status_code == 200
    again = client.post(f"/v1/api-keys/{made['id']}/rotate", headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "api_key.inactive")

    # Rotation with notice: both keys work until the notice ends.
    noticed = client.post(f"/v1/api-keys/{rotated.json()['id']}/rotate", headers=admin)
    assert noticed.status_code == 201
    assert client.get("/v1/numbers", headers=auth(rotated.json()["key"])).status_code == 200
    assert client.get("/v1/numbers", headers=auth(noticed.json()["key"])).status_code == 200

    unknown = client.post("/v1/api-keys", json={"user_id": "US0"}, headers=admin)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "user.not_found")


def test_failed_requests_reach_the_error_log_with_the_client_address(
    client: TestClient, team: Team
) -> None:
    admin = auth(team.admin_key)
    bad = client.post("/v1/numbers", json={"number": "not a number"}, headers=admin)
    assert bad.status_code == 400
    refused = client.get("/v1/trunks", headers=auth(team.keys["user"]))
    assert refused.status_code == 403
    assert client.get("/v1/trunks").status_code == 401  # nobody's: not the account's log
    errors = client.get("/v1/errors", headers=admin).json()["errors"]
    assert [(e["status"], e["code"], e["path"]) for e in errors] == [
        (403, "permission.denied", "/v1/trunks"),
        (400, "number.invalid", "/v1/numbers"),
    ]
    assert {e["client_ip"] for e in errors} == {"testclient"}
    # The audit log, which is kept for good, never holds a client's address.
    events = client.get("/v1/audit", headers=admin).json()["events"]
    assert all("testclient" not in str(e) for e in events)
