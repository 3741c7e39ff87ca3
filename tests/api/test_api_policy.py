"""``POST /v1/policy/check`` (the dry run) and ``GET /v1/audit`` (the audit log): a dry
run lists every check and writes nothing; a real refusal is on the log, with who asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import accounts
from dialtone.services.billing import subscriptions
from dialtone.services.telephony import trunks
from dialtone.store.db import transaction
from tests.policy.test_checklist import DIALLED

from .conftest import auth, new_account

NUMBER = "+33123456789"


def _setup(client: TestClient, key: str) -> str:
    assert client.post("/v1/numbers", json={"number": NUMBER}, headers=auth(key)).status_code == 201
    created = client.post(
        "/v1/users", json={"name": "Alice", "extension": "201"}, headers=auth(key)
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _check(client: TestClient, key: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/policy/check", json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize(
    ("to", "country", "allowed", "code", "rule"),
    [
        ("+33612345678", None, True, None, None),
        ("+33891234567", None, False, "destination.premium_rate", "V5"),
        ("+19005550123", None, False, "destination.premium_rate", "V5"),
        ("+881612345678", None, False, "destination.high_cost", "V5"),
        ("311", "US", False, "destination.x11_unsupported", "V6"),
        ("0", "US", False, "destination.operator_assisted", "V6"),
        # No special service outside the NANP (V6 lets it be), but 311 is no number of
        # France's either: it is never sent out as +311 (V5).
        ("311", "FR", False, "destination.invalid", "V5"),
        ("201", None, True, None, None),  # an extension: only V2 applies
    ],
)
def test_dry_run_of_a_call(
    *,
    client: TestClient,
    sessions: sessionmaker[Session],
    to: str,
    country: str | None,
    allowed: bool,
    code: str | None,
    rule: str | None,
) -> None:
    account_id, key = new_account(sessions, "Acme")
    user_id = _setup(client, key)
    if country is not None:
        with transaction(sessions) as session:
            accounts.set_destination_options(session, account_id, country=country)
    result = _check(client, key, action="call", to=to, user_id=user_id)
    assert (result["allowed"], result["code"], result["rule"]) == (allowed, code, rule), result
    names = [c["check"] for c in result["checks"]]
    assert names[0] == "concurrency"
    assert all(c["rules"] for c in result["checks"])
    if code is not None:
        # The first refusing check decides (V6's refusals leave no number to check either).
        refusing = next(c for c in result["checks"] if not c["allowed"])
        assert (refusing["code"], refusing["rule"]) == (code, rule)


@pytest.mark.parametrize(("to", "country", "code"), DIALLED)
def test_dry_run_reads_what_is_dialled_by_the_accounts_plan(
    *,
    client: TestClient,
    sessions: sessionmaker[Session],
    to: str,
    country: str,
    code: str | None,
) -> None:
    # The same table as the checklist's and the real calls' (issue 13): premium-rate
    # numbers padded or cut short, national digits, short codes.
    account_id, key = new_account(sessions, "Acme")
    user_id = _setup(client, key)
    with transaction(sessions) as session:
        accounts.set_destination_options(session, account_id, country=country)
    result = _check(client, key, action="call", to=to, user_id=user_id)
    assert (result["allowed"], result["code"]) == (code is None, code), result
    if code is not None:
        assert result["rule"] == "V5"


def test_dry_run_follows_the_account_permissions(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = new_account(sessions, "Acme")
    _setup(client, key)
    assert not _check(client, key, action="call", to="+33891234567")["allowed"]
    with transaction(sessions) as session:
        accounts.set_destination_options(session, account_id, premium_rate_allowed=True)
    assert _check(client, key, action="call", to="+33891234567")["allowed"]
    account = client.get("/v1/account", headers=auth(key)).json()
    assert (account["premium_rate_allowed"], account["high_cost_allowed"]) == (True, False)
    assert account["country"] == "FR"  # the operator's default


def test_dry_run_caller_id_and_forward(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _setup(client, key)
    refused = _check(client, key, action="call", to="+33612345678", caller_id="+14155550100")
    assert (refused["code"], refused["rule"]) == ("caller_id.not_held", "V10")
    forward = _check(client, key, action="forward", to="+33891234567")
    assert (forward["allowed"], forward["code"]) == (False, "destination.premium_rate")
    assert [c["check"] for c in forward["checks"]] == ["destination", "endpoint"]


def test_dry_run_of_a_forward_checks_n10_as_the_engine(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    # The engine refuses a forward no trunk can carry (N10, route.inactive_endpoint); the
    # dry run said "allowed" before issue 14.
    _, key = new_account(sessions, "Acme")
    _setup(client, key)
    idle = _check(client, key, action="forward", to="+33612345678")
    assert (idle["allowed"], idle["code"], idle["rule"]) == (
        False,
        "route.inactive_endpoint",
        "N10",
    )
    with transaction(sessions) as session:
        trunks.create_trunk(
            session, account_id=None, name="carrier", host="127.0.0.1", port=5070,
            now=datetime.now(UTC),
        )  # fmt: skip
    assert _check(client, key, action="forward", to="+33612345678")["allowed"] is True


@pytest.mark.parametrize(
    ("plan", "to", "code", "check", "rule"),
    [
        # B14: a trial calls nothing international.
        ("trial", "+442071838750", "billing.trial_destination", "trial", "B14"),
        # B4: a prepaid plan without credit calls nothing outside the plan.
        ("prepaid", "+33612345678", "billing.no_credit", "prepaid_credit", "B4"),
        # The trial's own minutes cover a national call; its B4 check passes.
        ("trial", "+33612345678", None, "prepaid_credit", "B4"),
    ],
)
def test_dry_run_reports_the_plans_limits(
    *,
    client: TestClient,
    sessions: sessionmaker[Session],
    plan: str,
    to: str,
    code: str | None,
    check: str,
    rule: str,
) -> None:
    # B4, B14, B15 were missing from the dry run: it said "allowed" where the engine
    # refused (issue 14). They come after V12 and before V10, as in the engine.
    account_id, key = new_account(sessions, "Acme")
    user_id = _setup(client, key)
    with transaction(sessions) as session:
        subscriptions.subscribe(
            session, account_id, plan_code=plan, currency="EUR", country="FR",
            now=datetime.now(UTC) - timedelta(days=1),
        )  # fmt: skip
    result = _check(client, key, action="call", to=to, user_id=user_id)
    assert (result["allowed"], result["code"]) == (code is None, code)
    names = [c["check"] for c in result["checks"]]
    assert names.index("do_not_call") < names.index(check) < names.index("caller_id")
    assert names[-1] == "caller_id"
    [found] = [c for c in result["checks"] if c["check"] == check]
    assert found["rules"] == [rule]


def test_dry_run_input_errors(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _setup(client, key)
    for body in ({"action": "teleport", "to": "1"}, {"action": "call"}, {"to": "+336"}):
        response = client.post("/v1/policy/check", json=body, headers=auth(key))
        assert (response.status_code, response.json()["code"]) == (400, "request.invalid")
    response = client.post(
        "/v1/policy/check", json={"action": "call", "to": "+33612345678", "user_id": "USnobody"}
    )
    assert response.status_code == 401


def test_refusals_are_audited_and_dry_runs_are_not(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    _setup(client, key)
    _check(client, key, action="forward", to="+33891234567")
    assert client.get("/v1/audit", headers=auth(key)).json() == {"events": [], "next_cursor": None}
    refused = client.put(
        f"/v1/numbers/{NUMBER}/route",
        json={"kind": "forward", "target": "+33891234567"},
        headers=auth(key),
    )
    assert refused.status_code == 403
    assert refused.json()["details"] == {"number": "+33891234567"}
    # A refusal without a rule (bad input) is an error, not a terms decision: not audited.
    assert (
        client.put(
            f"/v1/numbers/{NUMBER}/route", json={"kind": "teleport"}, headers=auth(key)
        ).status_code
        == 400
    )
    events = client.get("/v1/audit", headers=auth(key)).json()["events"]
    assert len(events) == 1, events
    [event] = events
    assert (event["rule"], event["code"], event["outcome"]) == (
        "V5",
        "destination.premium_rate",
        "refused",
    )
    assert event["action"] == "PUT /v1/numbers/{number}/route"
    assert event["actor"].startswith("api_key:KE")
    assert event["details"] == {"number": "+33891234567"}
    assert client.get("/v1/audit", headers=auth(other_key)).json()["events"] == []
    assert client.get("/v1/audit?rule=V2", headers=auth(key)).json()["events"] == []
    assert (
        len(
            client.get("/v1/audit?code=destination.premium_rate", headers=auth(key)).json()[
                "events"
            ]
        )
        == 1
    )


def test_dry_run_of_a_transfer_is_the_direct_calls_checks_but_v2(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    # A REFER to a number meets B10 like a direct call (it met V6/V5 only before issue
    # 14); V2 does not apply (no new call of a user begins), and an extension meets none.
    account_id, key = new_account(sessions, "Acme")
    _setup(client, key)
    with transaction(sessions) as session:
        account = accounts.get_account(session, account_id)
        account.billing_suspended_at = datetime.now(UTC)
    refer = _check(client, key, action="transfer", to="+33612345678", caller_id=NUMBER)
    assert (refer["allowed"], refer["code"], refer["rule"]) == (
        False,
        "billing.suspended",
        "B10",
    )
    names = [c["check"] for c in refer["checks"]]
    assert names[:2] == ["billing_standing", "dialling"]
    assert "concurrency" not in names
    assert _check(client, key, action="transfer", to="201")["checks"] == []
    call = _check(client, key, action="call", to="+33612345678")
    assert (call["code"], call["rule"]) == ("billing.suspended", "B10")
