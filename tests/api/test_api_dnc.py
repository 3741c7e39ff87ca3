"""``/v1/dnc`` (TERMS V12): the account's do-not-call list over the API, and the dry
run that shows it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import accounts
from dialtone.services.compliance import dnc
from dialtone.store.db import transaction

from .conftest import auth, new_account


def _csv(client: TestClient, key: str, text: str | bytes) -> dict[str, object]:
    response = client.post(
        "/v1/dnc", content=text, headers={**auth(key), "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_import_list_check_remove(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    # National forms are read in the account's country (the operator's default, FR).
    result = _csv(client, key, "number\n06 12 34 56 78\n+14155550100\nnope\n")
    assert result == {"added": 2, "already_listed": 0, "invalid_lines": [4]}
    listed = client.get("/v1/dnc", headers=auth(key)).json()["numbers"]
    assert [e["number"] for e in listed] == ["+14155550100", "+33612345678"]
    status = client.get("/v1/dnc/+33612345678", headers=auth(key)).json()
    assert status == {"number": "+33612345678", "listed_by": "account"}
    assert client.get("/v1/dnc/+33612345678", headers=auth(other_key)).json()["listed_by"] is None
    assert client.get("/v1/dnc", headers=auth(other_key)).json() == {"numbers": []}
    assert client.delete("/v1/dnc/+33612345678", headers=auth(other_key)).status_code == 404
    assert client.delete("/v1/dnc/+33612345678", headers=auth(key)).status_code == 204
    assert client.get("/v1/dnc/+33612345678", headers=auth(key)).json()["listed_by"] is None


def test_bad_uploads(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.post(
        "/v1/dnc", content=b"\xff\xfe\x00bad", headers={**auth(key), "Content-Type": "text/csv"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "dnc.invalid")
    assert client.get("/v1/dnc/hello", headers=auth(key)).status_code == 400


def test_dry_run_shows_the_lists_by_account_kind(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, key = new_account(sessions, "Acme")
    assert client.post("/v1/numbers", json={"number": "+33123456789"}, headers=auth(key))
    with transaction(sessions) as session:
        dnc.import_csv(session, None, "+33612345679\n", now=datetime.now(UTC), list_name="bloctel")
    _csv(client, key, "+33612345678\n")

    def check(to: str) -> dict[str, object]:
        body = {"action": "call", "to": to}
        result: dict[str, object] = client.post(
            "/v1/policy/check", json=body, headers=auth(key)
        ).json()
        return result

    assert check("+33612345678")["code"] == "dnc.listed"
    assert check("+33612345679")["allowed"] is True  # a register: telemarketing only
    with transaction(sessions) as session:
        accounts.set_destination_options(session, account_id, telemarketing=True)
    assert check("+33612345679")["code"] == "dnc.listed"
    assert client.get("/v1/account", headers=auth(key)).json()["telemarketing"] is True
    # A telemarketing account's dry run also shows the calling hours it met.
    names = [c["check"] for c in check("+33612345670")["checks"]]  # type: ignore[union-attr]
    assert "calling_window" in names
