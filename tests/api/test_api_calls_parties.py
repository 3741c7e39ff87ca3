"""TERMS D1 on a call between colleagues: both parties' own keys reach its record.

A device's call to a colleague is recorded once, naming the user who took it (or whose
voicemail did) as ``user_id`` and the user who placed it as ``caller_user_id``; a key
reaching its own records only sees the calls it took and the calls it placed, and no
one else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import api_keys
from dialtone.services.telephony import calls, users
from dialtone.store.db import transaction

from .conftest import auth, new_account

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Office:
    account_id: str
    user_ids: dict[str, str]  # caller, callee, other -> user id
    keys: dict[str, str]  # the same -> that user's own API key


def _office(sessions: sessionmaker[Session]) -> Office:
    account_id, _ = new_account(sessions, "Acme")
    user_ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    with transaction(sessions) as session:
        for n, who in enumerate(("caller", "callee", "other")):
            user = users.create_user(
                session,
                account_id,
                name=who.title(),
                now=T0,
                role="user",  # calls.read and recordings.read: own records only
                extension=str(201 + n),
                realm="dialtone",
            )
            user_ids[who] = user.id
            keys[who] = api_keys.issue(session, account_id, now=T0, name=who, user_id=user.id).key
    return Office(account_id, user_ids, keys)


def _internal_call(
    sessions: sessionmaker[Session], office: Office, how: str, recording: Path | None
) -> str:
    """The record the engine writes for 201's call to 202: taken by 202's device
    (``answered``) or by 202's voicemail (``voicemail``, whose audio is a message)."""
    with transaction(sessions) as session:
        row = calls.record_call(
            session,
            calls.CallOutcome(
                account_id=office.account_id,
                direction="internal",
                from_number="201",
                to_number="202",
                started_at=T0,
                answered_at=T0 + timedelta(seconds=5),
                ended_at=T0 + timedelta(seconds=40),
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id=f"internal-{how}",
                sip_local_tag="t",
                recording_path=str(recording) if recording is not None else None,
                user_id=office.user_ids["callee"],
                caller_user_id=office.user_ids["caller"],
            ),
        )
        return row.id


# (how the call ended, whose own key asks, whether it reaches the call)
CASES = [
    ("answered", "caller", True),
    ("answered", "callee", True),
    ("answered", "other", False),
    ("voicemail", "caller", True),
    ("voicemail", "callee", True),
    ("voicemail", "other", False),
]


@pytest.mark.parametrize("case", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_d1_both_parties_of_an_internal_call_see_it_and_no_one_else(
    client: TestClient,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    case: tuple[str, str, bool],
) -> None:
    how, who, sees = case
    office = _office(sessions)
    recording = None
    if how == "answered":
        recording = tmp_path / "rec.wav"
        recording.write_bytes(b"RIFF....WAVE")
    call_id = _internal_call(sessions, office, how, recording)
    key = auth(office.keys[who])

    listed = client.get("/v1/calls", headers=key).json()["calls"]
    assert [c["id"] for c in listed] == ([call_id] if sees else [])
    one = client.get(f"/v1/calls/{call_id}", headers=key)
    if sees:
        assert one.status_code == 200, one.text
        body = one.json()
        assert (body["user_id"], body["caller_user_id"], body["direction"]) == (
            office.user_ids["callee"],
            office.user_ids["caller"],
            "internal",
        )
    else:
        assert (one.status_code, one.json()["code"]) == (403, "permission.own_only")
    if recording is not None:
        audio = client.get(f"/v1/calls/{call_id}/recording", headers=key)
        if sees:
            assert (audio.status_code, audio.content) == (200, recording.read_bytes())
        else:
            assert (audio.status_code, audio.json()["code"]) == (403, "permission.own_only")


def test_d1_a_call_from_outside_is_the_callees_only(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """No placing user (a carrier's caller): only the user who took it sees it."""
    office = _office(sessions)
    with transaction(sessions) as session:
        call_id = calls.record_call(
            session,
            calls.CallOutcome(
                account_id=office.account_id,
                direction="inbound",
                from_number="+14155550100",
                to_number="202",
                started_at=T0,
                answered_at=None,
                ended_at=T0 + timedelta(seconds=20),
                status="no-answer",
                hangup_cause="no-answer",
                sip_call_id="from-outside",
                sip_local_tag="t",
                user_id=office.user_ids["callee"],
            ),
        ).id
    seen = {
        who: [c["id"] for c in client.get("/v1/calls", headers=auth(key)).json()["calls"]]
        for who, key in office.keys.items()
    }
    assert seen == {"caller": [], "callee": [call_id], "other": []}
    body = client.get(f"/v1/calls/{call_id}", headers=auth(office.keys["callee"])).json()
    assert body["caller_user_id"] is None
