"""Past its capacity the API answers 503 ``api.busy`` with Retry-After at once, not 500
after the connection pool's time-out, and writes nothing for it (issue 15)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.admission import RETRY_AFTER_SECONDS, Admission
from dialtone.store.models import ErrorLogEntry
from tests.api.conftest import auth, new_account


@pytest.mark.parametrize(("places", "held", "status"), [(2, 1, 200), (2, 2, 503), (1, 1, 503)])
def test_a_request_without_a_place_is_refused_busy(
    client: TestClient, sessions: sessionmaker[Session], places: int, held: int, status: int
) -> None:
    _, key = new_account(sessions, "Acme")
    admission = Admission(sessions_at_once=places, wait_seconds=0.05)
    client.app.state.admission = admission  # type: ignore[attr-defined]
    holders = [admission.enter() for _ in range(held)]
    for holder in holders:
        holder.__enter__()
    try:
        answer = client.get("/v1/account", headers=auth(key))
    finally:
        for holder in holders:
            holder.__exit__(None, None, None)
    assert answer.status_code == status
    if status == 503:
        assert answer.json()["code"] == "api.busy"
        assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert admission.refused == 1
        with sessions() as session:  # nothing written for it, not even the error log
            assert session.scalar(select(func.count()).select_from(ErrorLogEntry)) == 0
    # The places are given back: the next request passes.
    assert client.get("/v1/account", headers=auth(key)).status_code == 200
