"""Voicemail pages: a user hears its own box only (TERMS D1), another account's message
is not found, the audio plays inline, the transcript is labelled machine-generated (V9),
mark heard and delete change the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import voicemails
from dialtone.store.db import transaction
from tests.dashboard.conftest import form_token, new_account, new_person, sign_in

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _voicemail(
    sessions: sessionmaker[Session],
    account_id: str,
    user_id: str | None,
    path: Path,
    caller: str,
    *,
    minutes: int = 0,
) -> str:
    path.write_bytes(b"RIFF....WAVE")
    with transaction(sessions) as session:
        return voicemails.create_voicemail(
            session,
            account_id=account_id,
            user_id=user_id,
            number="+33123456789",
            from_number=caller,
            duration=Decimal("7.25"),
            path=str(path),
            now=T0 + timedelta(minutes=minutes),
        ).id


@pytest.fixture
def boxes(sessions: sessionmaker[Session], tmp_path: Path) -> dict[str, str]:
    account_id, _ = new_account(sessions, "Acme")
    new_person(sessions, account_id, "administrator", "ada@acme.test", "Ada")
    ugo = new_person(sessions, account_id, "user", "ugo@acme.test", "Ugo")
    una = new_person(sessions, account_id, "user", "una@acme.test", "Una")
    mine = _voicemail(sessions, account_id, ugo.user_id, tmp_path / "a.wav", "+14155550101")
    theirs = _voicemail(
        sessions, account_id, una.user_id, tmp_path / "b.wav", "+14155550102", minutes=1
    )
    with transaction(sessions) as session:
        voicemails.set_transcript(session, mine, "Please call me back.")
    other_account, _ = new_account(sessions, "Globex")
    new_person(sessions, other_account, "administrator", "gil@globex.test", "Gil")
    foreign = _voicemail(sessions, other_account, None, tmp_path / "c.wav", "+14155550103")
    return {"account": account_id, "mine": mine, "theirs": theirs, "foreign": foreign}


def test_a_user_sees_and_hears_its_own_box_only(client: TestClient, boxes: dict[str, str]) -> None:
    sign_in(client, "ugo@acme.test")
    page = client.get("/console/voicemail")
    assert page.status_code == 200, page.text
    assert "+14155550101" in page.text
    assert "+14155550102" not in page.text
    assert "+14155550103" not in page.text
    assert (
        f'<audio controls preload="metadata" src="/console/voicemail/{boxes["mine"]}/audio"'
        in page.text
    )
    assert 'class="label-ai"' in page.text
    assert "Please call me back." in page.text
    audio = client.get(f"/console/voicemail/{boxes['mine']}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert audio.headers["content-disposition"].startswith("inline")
    assert audio.content == b"RIFF....WAVE"
    theirs = client.get(f"/console/voicemail/{boxes['theirs']}/audio")
    assert theirs.status_code == 403
    assert "permission.own_only" in theirs.text
    foreign = client.get(f"/console/voicemail/{boxes['foreign']}/audio")
    assert foreign.status_code == 404
    assert "voicemail.not_found" in foreign.text


def test_the_administrator_sees_every_box_of_the_account_only(
    client: TestClient, boxes: dict[str, str]
) -> None:
    sign_in(client, "ada@acme.test")
    page = client.get("/console/voicemail")
    assert "+14155550101" in page.text
    assert "+14155550102" in page.text
    assert "+14155550103" not in page.text
    token = form_token(page.text)
    gone = client.post(
        f"/console/voicemail/{boxes['foreign']}/heard", data={"heard": "1", "csrf": token}
    )
    assert gone.status_code == 404


def test_mark_heard_new_and_delete_change_the_store(
    client: TestClient, sessions: sessionmaker[Session], boxes: dict[str, str], tmp_path: Path
) -> None:
    sign_in(client, "ugo@acme.test")
    token = form_token(client.get("/console/voicemail").text)
    heard = client.post(
        f"/console/voicemail/{boxes['mine']}/heard", data={"heard": "1", "csrf": token}
    )
    assert heard.status_code == 303
    with transaction(sessions) as session:
        assert voicemails.get_voicemail(session, boxes["account"], boxes["mine"]).heard is True
    assert "+14155550101" in client.get("/console/voicemail?show=heard").text
    assert "+14155550101" not in client.get("/console/voicemail?show=new").text
    client.post(f"/console/voicemail/{boxes['mine']}/heard", data={"csrf": token})
    with transaction(sessions) as session:
        assert voicemails.get_voicemail(session, boxes["account"], boxes["mine"]).heard is False
    refused = client.post(f"/console/voicemail/{boxes['theirs']}/delete", data={"csrf": token})
    assert refused.status_code == 403
    deleted = client.post(f"/console/voicemail/{boxes['mine']}/delete", data={"csrf": token})
    assert deleted.status_code == 303
    assert not (tmp_path / "a.wav").exists()
    assert "+14155550101" not in client.get("/console/voicemail").text


@pytest.mark.parametrize("action", ["heard", "delete"])
def test_forms_are_refused_without_their_token(
    client: TestClient, sessions: sessionmaker[Session], boxes: dict[str, str], action: str
) -> None:
    sign_in(client, "ugo@acme.test")
    answer = client.post(f"/console/voicemail/{boxes['mine']}/{action}", data={"heard": "1"})
    assert answer.status_code == 403
    assert "console.csrf_failed" in answer.text
    with transaction(sessions) as session:
        assert voicemails.get_voicemail(session, boxes["account"], boxes["mine"]).heard is False


def test_a_role_without_voicemail_is_refused(
    client: TestClient, sessions: sessionmaker[Session], boxes: dict[str, str]
) -> None:
    new_person(sessions, boxes["account"], "scheduler", "sam@acme.test", "Sam")
    sign_in(client, "sam@acme.test")
    page = client.get("/console/voicemail")
    assert page.status_code == 403
    assert "permission.denied" in page.text
    assert "D1" in page.text
