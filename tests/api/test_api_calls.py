"""``/v1/calls``: listing newest first with pagination, isolation, recordings."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.core.errors import Conflict, NotFound
from dialtone.services.telephony import calls
from dialtone.settings import Settings
from dialtone.store import sealed
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


def _sealed_call(
    sessions: sessionmaker[Session], settings: Settings, account_id: str, audio: bytes
) -> tuple[str, Path]:
    """A finished call whose recording ``audio`` is sealed at rest, as the engine leaves
    it (TERMS D5); its id and the sealed file."""
    wav = settings.recordings_dir / account_id / "CA1.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    wav.write_bytes(audio)
    stored = sealed.seal(wav, sealed.key_for(None, settings.recording_key_path))
    with transaction(sessions) as session:
        record = calls.record_call(
            session,
            calls.CallOutcome(
                account_id=account_id,
                direction="inbound",
                from_number="+14155550100",
                to_number="+33123456789",
                started_at=T0,
                answered_at=T0,
                ended_at=T0 + timedelta(seconds=5),
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id=f"sealed-{account_id}",
                sip_local_tag="t",
                recording_path=str(stored),
            ),
        )
        return record.id, stored


def test_d5_a_sealed_recording_opens_over_the_api_and_can_be_deleted(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, key = new_account(sessions, "Acme")
    plain = b"RIFF" + bytes(range(256)) * 600
    call_id, stored = _sealed_call(sessions, settings, account_id, plain)
    got = client.get(f"/v1/calls/{call_id}/recording", headers=auth(key))
    assert got.status_code == 200, got.text
    assert (got.headers["content-type"], got.content) == ("audio/wav", plain)

    altered = bytearray(stored.read_bytes())
    altered[-3] ^= 1
    stored.write_bytes(bytes(altered))
    broken = client.get(f"/v1/calls/{call_id}/recording", headers=auth(key))
    assert (broken.status_code, broken.json()["code"], broken.json()["rule"]) == (
        500,
        "recording.unreadable",
        "D5",
    )

    assert client.delete(f"/v1/calls/{call_id}/recording", headers=auth(key)).status_code == 204
    assert not stored.exists()
    assert client.get(f"/v1/calls/{call_id}", headers=auth(key)).status_code == 200  # V15
    gone = client.get(f"/v1/calls/{call_id}/recording", headers=auth(key))
    assert (gone.status_code, gone.json()["code"]) == (404, "recording.not_found")


class LiveCalls:
    """Stands in for the call engine: one live call, CAlive, recorded until objected to."""

    def __init__(self) -> None:
        self.recording = True
        self.asked: list[tuple[str, str, str, str | None]] = []

    async def click_to_call(
        self, account_id: str, user_id: str, to: str, caller_id: str | None = None
    ) -> str:
        raise NotImplementedError

    async def object_to_recording(
        self, account_id: str, call_id: str, *, actor: str, user_id: str | None = None
    ) -> None:
        self.asked.append((account_id, call_id, actor, user_id))
        if call_id != "CAlive":
            raise NotFound("call.not_found", f"No call {call_id} is in progress.")
        if not self.recording:
            raise Conflict("recording.not_recording", "Not being recorded.")
        self.recording = False

    def live_call(self, account_id: str, call_id: str) -> None:
        return None  # no call is ringing or up: GET /v1/calls/{id} reads the records


def test_v8_objection_without_an_engine_is_503(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = new_account(sessions, "A")
    response = client.post("/v1/calls/CAlive/recording/objection", headers=auth(key))
    assert (response.status_code, response.json()["code"]) == (503, "call.engine_unavailable")


@pytest.fixture
def live(client: TestClient) -> LiveCalls:
    engine = LiveCalls()
    client.app.state.call_placer = engine  # type: ignore[attr-defined]
    return engine


def test_v8_objection_stops_the_recording_once(
    client: TestClient, sessions: sessionmaker[Session], live: LiveCalls
) -> None:
    account_id, key = new_account(sessions, "A")
    missing = client.post("/v1/calls/CAgone/recording/objection", headers=auth(key))
    assert (missing.status_code, missing.json()["code"]) == (404, "call.not_found")
    done = client.post("/v1/calls/CAlive/recording/objection", headers=auth(key))
    assert done.status_code == 204, done.text
    again = client.post("/v1/calls/CAlive/recording/objection", headers=auth(key))
    assert (again.status_code, again.json()["code"]) == (409, "recording.not_recording")
    # The account's own key reaches every call of the account; the engine gets who asked.
    assert [(a, c, u) for a, c, _, u in live.asked] == [
        (account_id, "CAgone", None),
        (account_id, "CAlive", None),
        (account_id, "CAlive", None),
    ]
    assert all(actor.startswith("api_key:") for _, _, actor, _ in live.asked)


def test_d5_recordings_export_is_kept_until_the_transfer_is_confirmed(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, key = new_account(sessions, "Acme")
    call_id, stored = _sealed_call(sessions, settings, account_id, b"RIFF-call-audio")
    made = client.post("/v1/account/recordings/exports", headers=auth(key))
    assert made.status_code == 201, made.text
    export = made.json()
    assert (export["files"], export["available"]) == (1, True)
    archive = client.get(
        f"/v1/account/recordings/exports/{export['id']}/archive", headers=auth(key)
    )
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.read(f"calls/{call_id}.wav") == b"RIFF-call-audio"
    on_disk = list((settings.data_dir / "exports" / account_id).iterdir())
    assert [p.suffix for p in on_disk] == [".sealed"]  # the backup, sealed
    confirmed = client.post(
        f"/v1/account/recordings/exports/{export['id']}/confirm", headers=auth(key)
    )
    assert confirmed.json()["available"] is False
    assert list((settings.data_dir / "exports" / account_id).iterdir()) == []
    gone = client.get(f"/v1/account/recordings/exports/{export['id']}/archive", headers=auth(key))
    assert (gone.status_code, gone.json()["code"]) == (409, "export.confirmed")
    assert stored.exists()  # the recordings themselves stay until the customer deletes them


def test_a_call_neither_recorded_nor_live_is_404(
    client: TestClient, sessions: sessionmaker[Session], live: LiveCalls
) -> None:
    # With an engine present, GET asks it for the live call (on the event loop, from the
    # handler's worker thread) before answering 404.
    _, key = new_account(sessions, "A")
    response = client.get("/v1/calls/CAnothing", headers=auth(key))
    assert (response.status_code, response.json()["code"]) == (404, "call.not_found")
