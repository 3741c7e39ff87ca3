"""``/v1/calls``: listing newest first with pagination, isolation, recordings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services import calls
from dialtone.store.db import transaction

from .conftest import auth, new_account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _record(
    sessions: sessionmaker[Session], account_id: str, n: int, *, recording: Path | None = None
) -> str:
    with transaction(sessions) as session:
        row = calls.record_call(
            session,
            calls.CallOutcome(
                account_id=account_id,
                direction="inbound",
                from_number="+14155550100",
                to_number="+33123456789",
                started_at=T0 + timedelta(minutes=n),
                answered_at=T0 + timedelta(minutes=n, seconds=1),
                ended_at=T0 + timedelta(minutes=n, seconds=67),
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id=f"call-{account_id}-{n}",
                sip_local_tag="t",
                recording_path=str(recording) if recording else None,
            ),
        )
        return row.id


def test_list_newest_first_with_cursor(client: TestClient, sessions: sessionmaker[Session]) -> None:
    account, key = new_account(sessions, "A")
    ids = [_record(sessions, account, n) for n in range(5)]
    first = client.get("/v1/calls?limit=2", headers=auth(key)).json()
    assert [c["id"] for c in first["calls"]] == [ids[4], ids[3]]
    second = client.get(
        f"/v1/calls?limit=2&before={first['next_cursor']}", headers=auth(key)
    ).json()
    assert [c["id"] for c in second["calls"]] == [ids[2], ids[1]]
    third = client.get(
        f"/v1/calls?limit=2&before={second['next_cursor']}", headers=auth(key)
    ).json()
    assert [c["id"] for c in third["calls"]] == [ids[0]]
    assert third["next_cursor"] is None
    call = first["calls"][0]
    assert call["duration"] == "66.000"
    assert call["billed_seconds"] == 120  # TERMS B2: 66 s bills 2 minutes
    assert call["from"] == "+14155550100"


def test_bad_paging_is_400(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, key = new_account(sessions, "A")
    for query in ["limit=0", "limit=501", "limit=x", "before=CAnope"]:
        response = client.get(f"/v1/calls?{query}", headers=auth(key))
        assert response.status_code == 400, query
        assert response.json()["code"] in ("request.invalid", "request.invalid_cursor")


def test_accounts_cannot_see_each_others_calls(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    account_a, key_a = new_account(sessions, "A")
    _, key_b = new_account(sessions, "B")
    wav = tmp_path / "rec.wav"
    wav.write_bytes(b"RIFF....WAVE")
    call_id = _record(sessions, account_a, 1, recording=wav)
    assert client.get("/v1/calls", headers=auth(key_b)).json()["calls"] == []
    for path in (f"/v1/calls/{call_id}", f"/v1/calls/{call_id}/recording"):
        response = client.get(path, headers=auth(key_b))
        assert response.status_code == 404, path
        assert response.json()["code"] == "call.not_found"
        assert client.get(path, headers=auth(key_a)).status_code == 200
    assert (
        client.get(f"/v1/calls/{call_id}/recording", headers=auth(key_a)).content
        == wav.read_bytes()
    )


def test_missing_recording_is_404(client: TestClient, sessions: sessionmaker[Session]) -> None:
    account, key = new_account(sessions, "A")
    call_id = _record(sessions, account, 1)
    response = client.get(f"/v1/calls/{call_id}/recording", headers=auth(key))
    assert response.status_code == 404
    assert response.json()["code"] == "recording.not_found"
