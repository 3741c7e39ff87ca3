"""A body that is not JSON, or JSON sent without saying so, gets a message that says what
and where (issue 13, item 19)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from .conftest import auth, new_account

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"number": ', "line 1, column 12"),
        (b'{"number": "+33123456789",}', "line 1, column 27"),
        (b'{\n  "number": "+33123456789"\n  "greeting": null\n}', "line 3, column 3"),
        (b"{", "line 1, column 2"),
        (b"nonsense", "line 1, column 1"),
    ],
)
def test_malformed_json_says_what_and_where(
    client: TestClient, sessions: sessionmaker[Session], body: bytes, where: str
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.post("/v1/numbers", content=body, headers={**auth(key), **JSON})
    assert response.status_code == 400
    assert response.json()["code"] == "request.invalid"
    assert response.json()["message"].startswith(f"body is not valid JSON: {where}"), response.text


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_json_without_its_content_type_says_so(
    client: TestClient, sessions: sessionmaker[Session], content_type: str | None
) -> None:
    _, key = new_account(sessions, "Acme")
    headers = auth(key) | ({"Content-Type": content_type} if content_type else {})
    response = client.post("/v1/numbers", content=b'{"number": "+33123456789"}', headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "request.invalid"
    message = response.json()["message"]
    assert "Content-Type: application/json" in message
    assert ("no Content-Type" if content_type is None else "'text/plain'") in message


def test_a_missing_body_is_still_said_plainly(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "Acme")
    response = client.post("/v1/numbers", headers=auth(key))
    assert response.status_code == 400
    assert response.json()["message"] == "Field required"
