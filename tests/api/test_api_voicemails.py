"""``/v1/voicemails``: V9 labels, heard filter, audio, deletion, isolation; CDR legs (V11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import calls, voicemails
from dialtone.store.db import transaction

from .conftest import auth, new_account

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _voicemail(
    sessions: sessionmaker[Session], account_id: str, path: Path, minutes: int = 0
) -> str:
    path.write_bytes(b"RIFF....WAVE")
    with transaction(sessions) as session:
        return voicemails.create_voicemail(
            session,
            account_id=account_id,
            user_id=None,
            number="+33123456789",
            from_number="+14155550100",
            duration=Decimal("7.25"),
            path=str(path),
            now=T0 + timedelta(minutes=minutes),
        ).id


def test_list_filter_patch_audio_delete(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    account_id, key = new_account(sessions, "Acme")
    old = _voicemail(sessions, account_id, tmp_path / "old.wav")
    new = _voicemail(sessions, account_id, tmp_path / "new.wav", minutes=1)
    with transaction(sessions) as session:
        voicemails.set_transcript(session, old, "Please call me back.")

    listed = client.get("/v1/voicemails", headers=auth(key)).json()["voicemails"]
    assert [v["id"] for v in listed] == [new, old]
    assert all("transcript_label" in v for v in listed)
    by_id = {v["id"]: v for v in listed}
    assert (by_id[old]["transcript"], by_id[old]["transcript_label"]) == (
        "Please call me back.",
        "machine-generated",  # TERMS V9
    )
    assert by_id[new]["transcript_label"] is None
    assert (by_id[new]["from"], by_id[new]["duration"], by_id[new]["heard"]) == (
        "+14155550100",
        "7.250",
        False,
    )

    patched = client.patch(f"/v1/voicemails/{old}", json={"heard": True}, headers=auth(key))
    assert patched.status_code == 200, patched.text
    assert patched.json()["heard"] is True
    heard = client.get("/v1/voicemails", params={"heard": "true"}, headers=auth(key)).json()
    assert [v["id"] for v in heard["voicemails"]] == [old]
    unheard = client.get("/v1/voicemails", params={"heard": "false"}, headers=auth(key)).json()
    assert [v["id"] for v in unheard["voicemails"]] == [new]

    audio = client.get(f"/v1/voicemails/{new}/audio", headers=auth(key))
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert audio.content == b"RIFF....WAVE"

    assert client.delete(f"/v1/voicemails/{new}", headers=auth(key)).status_code == 204
    assert not (tmp_path / "new.wav").exists()
    missing = client.get(f"/v1/voicemails/{new}", headers=auth(key))
    assert (missing.status_code, missing.json()["code"]) == (404, "voicemail.not_found")


def test_patch_body_is_checked(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    account_id, key = new_account(sessions, "Acme")
    vm = _voicemail(sessions, account_id, tmp_path / "a.wav")
    for payload in ({}, {"heard": "maybe"}, {"heard": True, "transcript": "forged"}):
        response = client.patch(f"/v1/voicemails/{vm}", json=payload, headers=auth(key))
        assert (response.status_code, response.json()["code"]) == (400, "request.invalid")


def test_missing_audio_file(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    account_id, key = new_account(sessions, "Acme")
    vm = _voicemail(sessions, account_id, tmp_path / "a.wav")
    (tmp_path / "a.wav").unlink()
    response = client.get(f"/v1/voicemails/{vm}/audio", headers=auth(key))
    assert (response.status_code, response.json()["code"]) == (404, "voicemail.audio_not_found")


def test_one_account_never_reaches_anothers_voicemail(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    _, other_key = new_account(sessions, "Globex")
    vm = _voicemail(sessions, account_id, tmp_path / "a.wav")
    assert client.get("/v1/voicemails", headers=auth(other_key)).json() == {"voicemails": []}
    for method, path in [
        ("GET", f"/v1/voicemails/{vm}"),
        ("PATCH", f"/v1/voicemails/{vm}"),
        ("DELETE", f"/v1/voicemails/{vm}"),
        ("GET", f"/v1/voicemails/{vm}/audio"),
    ]:
        response = client.request(method, path, json={"heard": True}, headers=auth(other_key))
        assert (response.status_code, response.json()["code"]) == (404, "voicemail.not_found")
    assert (tmp_path / "a.wav").exists()


def test_calls_show_their_legs(client: TestClient, sessions: sessionmaker[Session]) -> None:
    account_id, key = new_account(sessions, "Acme")
    legs: tuple[dict[str, str | None], ...] = (
        {"kind": "trunk", "id": "TR1", "source": "udp:192.0.2.1:5060", "user_agent": None},
        {"kind": "user", "id": "US1", "source": "udp:203.0.113.5:40000", "user_agent": "Snom"},
    )
    with transaction(sessions) as session:
        call_id = calls.record_call(
            session,
            calls.CallOutcome(
                account_id=account_id,
                direction="inbound",
                from_number="+14155550100",
                to_number="+33123456789",
                started_at=T0,
                answered_at=T0 + timedelta(seconds=1),
                ended_at=T0 + timedelta(seconds=11),
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id="legs-1",
                sip_local_tag="t",
                legs=legs,
                user_id="US1",
                trunk_id="TR1",
            ),
        ).id
    body = client.get(f"/v1/calls/{call_id}", headers=auth(key)).json()
    assert body["legs"] == list(legs)
    assert (body["user_id"], body["trunk_id"]) == ("US1", "TR1")
