"""The Twilio-compatible routes in process: paging edges, filters, accounts kept apart,
credentials, D1 roles, calls through a fake engine, recordings, usage, rotation."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.core.errors import NotFound
from dialtone.services.accounts import api_keys
from dialtone.services.ids import new_id
from dialtone.services.telephony import calls, users, voicemails
from dialtone.services.telephony.calls import CallOutcome, LiveCall
from dialtone.settings import Settings
from dialtone.store.db import transaction
from dialtone.store.models import RatedLine
from dialtone.store.programmable_models import Recording

from .conftest import RECIPIENT, Acme, make_acme

NUMBER = "+33123456789"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _buy(client: TestClient, acme: Acme, number: str = NUMBER) -> dict[str, Any]:
    made = client.post(
        acme.path("IncomingPhoneNumbers.json"), headers=acme.basic, data={"PhoneNumber": number}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def _consent(client: TestClient, acme: Acme) -> None:
    made = client.post(
        "/v1/consents",
        headers=acme.bearer,
        json={"recipient": RECIPIENT, "source": "https://acme.example", "wording": "Yes."},
    )
    assert made.status_code == 201, made.text


def _send(client: TestClient, acme: Acme, body: str = "Hi") -> dict[str, Any]:
    sent = client.post(
        acme.path("Messages.json"),
        headers=acme.basic,
        data={"To": RECIPIENT, "From": NUMBER, "Body": body},
    )
    assert sent.status_code == 201, sent.text
    result: dict[str, Any] = sent.json()
    return result


# --- credentials and accounts ---------------------------------------------------------


def test_bearer_keys_work_here_too(client: TestClient, acme: Acme) -> None:
    got = client.get(f"/2010-04-01/Accounts/{acme.account}.json", headers=acme.bearer)
    assert got.status_code == 200
    assert got.json()["sid"] == acme.account
    listed = client.get("/2010-04-01/Accounts.json", headers=acme.basic).json()
    assert [a["sid"] for a in listed["accounts"]] == [acme.account]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"ACnobody:secret").decode(),
        "Digest x",
    ],
)
def test_bad_credentials_are_20003(client: TestClient, acme: Acme, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    got = client.get(acme.path("Messages.json"), headers=headers)
    assert got.status_code == 401
    assert got.json()["code"] == 20003
    assert got.headers["www-authenticate"].startswith("Basic")


def test_another_account_is_not_found(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session], settings: Settings
) -> None:
    other = make_acme(sessions, settings, "Globex")
    got = client.get(f"/2010-04-01/Accounts/{other.account}/Messages.json", headers=acme.basic)
    assert (got.status_code, got.json()["code"]) == (404, 20404)
    mine = _buy(client, acme)
    theirs = client.get(other.path(f"IncomingPhoneNumbers/{mine['sid']}.json"), headers=other.basic)
    assert theirs.status_code == 404


def test_rotation_over_the_api_keeps_the_old_token_a_business_day(
    client: TestClient, acme: Acme
) -> None:
    rotated = client.post("/v1/account/auth-token/rotate", headers=acme.bearer)
    assert rotated.status_code == 201, rotated.text
    token = rotated.json()["auth_token"]
    assert rotated.json()["previous_expires_at"] is not None
    new = Acme(acme.account, acme.key, token)
    assert client.get(acme.path("Messages.json"), headers=new.basic).status_code == 200
    assert client.get(acme.path("Messages.json"), headers=acme.basic).status_code == 200
    # The /v1 API takes API keys only: a token rotates nothing there.
    again = client.post("/v1/account/auth-token/rotate", headers=acme.basic)
    assert again.status_code == 401
    now = client.post("/v1/account/auth-token/rotate?immediately=true", headers=acme.bearer)
    assert now.status_code == 201
    assert client.get(acme.path("Messages.json"), headers=new.basic).status_code == 401


def test_a_user_key_acts_with_its_role(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        user = users.create_user(
            session, acme.account, name="U", now=T0, role="user", extension="201", realm="d"
        )
        key = api_keys.issue(session, acme.account, now=T0, user_id=user.id)
    sid = "SK" + key.row.id[2:]
    raw = base64.b64encode(f"{sid}:{key.key}".encode()).decode()
    headers = {"Authorization": f"Basic {raw}"}
    assert client.get(acme.path("IncomingPhoneNumbers.json"), headers=headers).status_code == 200
    refused = client.get(acme.path("Messages.json"), headers=headers)
    assert refused.status_code == 403
    assert (refused.json()["code"], refused.json()["rule"]) == (20403, "D1")


# --- paging ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"PageSize": "0"}, 400),
        ({"PageSize": "1001"}, 400),
        ({"PageSize": "1000"}, 200),
        ({"Page": "-1"}, 400),
        ({"PageSize": "x"}, 400),
        ({"PageToken": "nope"}, 400),
        ({"Unknown": "ignored"}, 200),
    ],
)
def test_paging_bounds(client: TestClient, acme: Acme, query: dict[str, str], status: int) -> None:
    got = client.get(acme.path("Messages.json"), headers=acme.basic, params=query)
    assert got.status_code == status, got.text


def test_pages_link_to_each_other(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    _buy(client, acme)
    _consent(client, acme)
    sids = [_send(client, acme, f"m{i}")["sid"] for i in range(5)][::-1]
    first = client.get(
        acme.path("Messages.json"), headers=acme.basic, params={"PageSize": 2}
    ).json()
    assert [m["sid"] for m in first["messages"]] == sids[:2]
    assert (first["page"], first["start"], first["end"], first["previous_page_uri"]) == (
        0,
        0,
        1,
        None,
    )
    second = client.get(first["next_page_uri"], headers=acme.basic).json()
    assert [m["sid"] for m in second["messages"]] == sids[2:4]
    assert (second["page"], second["start"], second["end"]) == (1, 2, 3)
    last = client.get(second["next_page_uri"], headers=acme.basic).json()
    assert [m["sid"] for m in last["messages"]] == sids[4:]
    assert last["next_page_uri"] is None
    back = client.get(last["previous_page_uri"], headers=acme.basic).json()
    assert back["messages"] == second["messages"]
    assert (
        client.get(last["first_page_uri"], headers=acme.basic).json()["messages"]
        == first["messages"]
    )
    empty = client.get(acme.path("Messages.json"), headers=acme.basic, params={"Page": 9}).json()
    assert (empty["messages"], empty["next_page_uri"]) == ([], None)


# --- messages -------------------------------------------------------------------------


def test_message_filters_and_delete(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    _buy(client, acme)
    _consent(client, acme)
    sent = _send(client, acme)
    assert sent["date_created"].endswith("+0000")
    today = datetime.now(UTC).date()
    for query, found in [
        ({"To": RECIPIENT}, 1),
        ({"To": "+33612345679"}, 0),
        ({"From": NUMBER}, 1),
        ({"DateSent": today.isoformat()}, 1),
        ({"DateSent<": (today - timedelta(days=1)).isoformat()}, 0),
        ({"DateSent>": today.isoformat()}, 1),
        ({"DateSent>": (today + timedelta(days=1)).isoformat()}, 0),
    ]:
        got = client.get(acme.path("Messages.json"), headers=acme.basic, params=query).json()
        assert len(got["messages"]) == found, query
    bad = client.get(acme.path("Messages.json"), headers=acme.basic, params={"DateSent": "soon"})
    assert bad.status_code == 400
    # Still queued: not deletable yet (20009).
    busy = client.delete(acme.path(f"Messages/{sent['sid']}.json"), headers=acme.basic)
    assert (busy.status_code, busy.json()["code"]) == (409, 20009)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"From": NUMBER, "Body": "x"}, 21604),
        ({"To": RECIPIENT, "Body": "x"}, 21603),
        ({"To": RECIPIENT, "From": NUMBER}, 21602),
        ({"To": RECIPIENT, "MessagingServiceSid": "MG1", "Body": "x"}, 20400),
        ({"To": RECIPIENT, "From": NUMBER, "Body": "x", "MediaUrl": "https://a/b.png"}, 20400),
    ],
)
def test_message_parameters(
    client: TestClient, acme: Acme, data: dict[str, str], code: int
) -> None:
    got = client.post(acme.path("Messages.json"), headers=acme.basic, data=data)
    assert got.status_code == 400
    assert got.json()["code"] == code


def test_json_bodies_are_not_twilios_wire(client: TestClient, acme: Acme) -> None:
    got = client.post(acme.path("Messages.json"), headers=acme.basic, json={"To": RECIPIENT})
    assert got.status_code == 415


# --- numbers --------------------------------------------------------------------------


def test_numbers_by_area_code_and_bad_urls(client: TestClient, acme: Acme) -> None:
    area = client.post(
        acme.path("IncomingPhoneNumbers.json"), headers=acme.basic, data={"AreaCode": "1"}
    )
    assert area.status_code == 201
    assert area.json()["phone_number"] == "+33123456789"
    none = client.post(
        acme.path("IncomingPhoneNumbers.json"), headers=acme.basic, data={"AreaCode": "9"}
    )
    assert (none.status_code, none.json()["code"]) == (409, 21452)
    taken = client.post(
        acme.path("IncomingPhoneNumbers.json"), headers=acme.basic, data={"PhoneNumber": NUMBER}
    )
    assert (taken.status_code, taken.json()["code"], taken.json()["rule"]) == (409, 21422, "N2")
    sid = area.json()["sid"]
    for data in ({"VoiceUrl": "ftp://x"}, {"VoiceMethod": "PUT"}, {"FriendlyName": "x" * 65}):
        got = client.post(
            acme.path(f"IncomingPhoneNumbers/{sid}.json"), headers=acme.basic, data=data
        )
        assert got.status_code == 400, data
    # The SSRF guard (no private, loopback or link-local target by default).
    for url in ("http://127.0.0.1:8080/voice", "http://169.254.169.254/", "http://localhost/x"):
        refused = client.post(
            acme.path(f"IncomingPhoneNumbers/{sid}.json"), headers=acme.basic, data={"SmsUrl": url}
        )
        assert (refused.status_code, refused.json()["reason"]) == (
            400,
            "webhook.target_refused",
        ), url
    cleared = client.post(
        acme.path(f"IncomingPhoneNumbers/{sid}.json"), headers=acme.basic, data={"VoiceUrl": ""}
    )
    assert cleared.json()["voice_url"] is None
    kinds = client.get(acme.path("AvailablePhoneNumbers/FR/Fax.json"), headers=acme.basic)
    assert kinds.status_code == 404


# --- calls through a fake engine ------------------------------------------------------


@dataclass
class FakeEngine:
    placed: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    live: list[LiveCall] = field(default_factory=list)

    async def place(self, account_id: str, to: str, from_: str, **kwargs: Any) -> str:
        self.placed.append({"account_id": account_id, "to": to, "from": from_, **kwargs})
        sid = new_id("CA")
        self.live.append(
            LiveCall(
                sid, account_id, "outbound", from_, to, "ringing", datetime.now(UTC), None, "x"
            )
        )
        return sid

    async def update(self, account_id: str, call_sid: str, **kwargs: Any) -> None:
        if not any(c.id == call_sid for c in self.live):
            raise NotFound("call.not_found", "no such call")
        self.updated.append({"sid": call_sid, **kwargs})

    def live_calls(self, account_id: str) -> Sequence[LiveCall]:
        return [c for c in self.live if c.account_id == account_id]


def test_calls_created_listed_updated_through_the_engine(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    engine = FakeEngine()
    client.app.state.twilio_calls = engine  # type: ignore[attr-defined]
    made = client.post(
        acme.path("Calls.json"),
        headers={**acme.basic, "Content-Type": "application/x-www-form-urlencoded"},
        content=urlencode(
            [
                ("To", RECIPIENT),
                ("From", NUMBER),
                ("Twiml", "<Response><Say>Hi</Say></Response>"),
                ("StatusCallback", "https://app.example/status"),
                ("StatusCallbackEvent", "initiated"),
                ("StatusCallbackEvent", "answered completed"),
                ("Timeout", "20"),
            ]
        ),
    )
    assert made.status_code == 201, made.text
    sid = made.json()["sid"]
    assert made.json()["status"] == "queued"
    placed = engine.placed[0]
    assert (placed["twiml"], placed["url"], placed["timeout"], placed["record"]) == (
        "<Response><Say>Hi</Say></Response>",
        None,
        20,
        False,
    )
    assert placed["status_callback_events"] == ["initiated", "answered", "completed"]
    with transaction(sessions) as session:
        calls.record_call(
            session,
            CallOutcome(
                account_id=acme.account,
                direction="inbound",
                from_number=RECIPIENT,
                to_number=NUMBER,
                started_at=T0,
                answered_at=T0,
                ended_at=T0 + timedelta(seconds=42),
                status="completed",
                hangup_cause="bye",
                sip_call_id="c1",
                sip_local_tag="t1",
            ),
        )
    listed = client.get(acme.path("Calls.json"), headers=acme.basic).json()["calls"]
    assert [(c["status"], c["direction"]) for c in listed] == [
        ("ringing", "outbound-api"),
        ("completed", "inbound"),
    ]
    assert listed[1]["duration"] == "42"
    by_status = client.get(
        acme.path("Calls.json"), headers=acme.basic, params={"Status": "completed"}
    )
    assert [c["status"] for c in by_status.json()["calls"]] == ["completed"]
    later = client.get(
        acme.path("Calls.json"), headers=acme.basic, params={"StartTime>": "2026-12-02"}
    )
    assert [c["sid"] for c in later.json()["calls"]] == [sid]
    assert (
        client.get(acme.path(f"Calls/{sid}.json"), headers=acme.basic).json()["status"] == "ringing"
    )
    ended = client.post(
        acme.path(f"Calls/{sid}.json"), headers=acme.basic, data={"Status": "completed"}
    )
    assert ended.status_code == 200, ended.text
    assert engine.updated == [
        {"sid": sid, "status": "completed", "url": None, "twiml": None, "method": "POST"}
    ]
    for data, code in [
        ({"Status": "busy"}, 400),
        ({}, 400),
        ({"Url": "not a url"}, 400),
    ]:
        got = client.post(acme.path(f"Calls/{sid}.json"), headers=acme.basic, data=data)
        assert got.status_code == code, data
    missing = client.post(
        acme.path("Calls.json"), headers=acme.basic, data={"To": RECIPIENT, "From": NUMBER}
    )
    assert (missing.status_code, missing.json()["code"]) == (400, 21205)


# --- recordings -----------------------------------------------------------------------


def test_recordings_over_cdrs_voicemail_and_applications(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF" + bytes(40))
    with transaction(sessions) as session:
        cdr = calls.record_call(
            session,
            CallOutcome(
                account_id=acme.account,
                direction="inbound",
                from_number=RECIPIENT,
                to_number=NUMBER,
                started_at=T0,
                answered_at=T0,
                ended_at=T0 + timedelta(seconds=5),
                status="completed",
                hangup_cause="bye",
                sip_call_id="c2",
                sip_local_tag="t2",
                recording_path=str(wav),
            ),
        )
        box = voicemails.create_voicemail(
            session,
            account_id=acme.account,
            user_id=None,
            number=NUMBER,
            from_number=RECIPIENT,
            duration=Decimal("3.5"),
            path=str(tmp_path / "vm.wav"),
            now=T0 + timedelta(hours=1),
        )
        session.add(
            Recording(
                id="RE" + "a" * 32,
                account_id=acme.account,
                call_sid=cdr.id,
                path=str(tmp_path / "r.wav"),
                duration=Decimal(7),
                channels=1,
                created_at=T0 + timedelta(hours=2),
            )
        )
        cdr_id, box_id = cdr.id, box.id
    listed = client.get(acme.path("Recordings.json"), headers=acme.basic).json()["recordings"]
    assert [(r["sid"], r["kind"]) for r in listed] == [
        ("RE" + "a" * 32, "application"),
        ("RE" + box_id[2:], "voicemail"),
        ("RE" + cdr_id[2:], "call"),
    ]
    by_call = client.get(
        acme.path("Recordings.json"), headers=acme.basic, params={"CallSid": cdr_id}
    )
    assert {r["kind"] for r in by_call.json()["recordings"]} == {"call", "application"}
    sid = "RE" + cdr_id[2:]
    assert (
        client.get(acme.path(f"Recordings/{sid}.json"), headers=acme.basic).json()["channels"] == 2
    )
    assert client.delete(acme.path(f"Recordings/{sid}.json"), headers=acme.basic).status_code == 204
    gone = client.get(acme.path(f"Recordings/{sid}.json"), headers=acme.basic)
    assert (gone.status_code, gone.json()["code"]) == (404, 20404)
    # The CDR stays (V15), without its recording.
    assert client.get(acme.path(f"Calls/{cdr_id}.json"), headers=acme.basic).status_code == 200


# --- usage ----------------------------------------------------------------------------


def test_usage_records_from_rated_lines(
    client: TestClient, acme: Acme, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        for key, kind, quantity, price, day in [
            ("cdr:1", "call", 90, "0.05", 1),
            ("cdr:2", "forward", 30, "0.02", 2),
            ("sms:1", "sms", 2, "0.10", 2),
        ]:
            session.add(
                RatedLine(
                    usage_key=key,
                    account_id=acme.account,
                    kind=kind,
                    started_at=T0 + timedelta(days=day),
                    destination=RECIPIENT,
                    quantity=quantity,
                    included=0,
                    currency="EUR",
                    price=Decimal(price),
                    credits=Decimal(0),
                    overage=Decimal(price),
                    penalty=Decimal(0),
                    buckets="",
                    rules="",
                    status="rated",
                    rated_at=T0,
                )
            )
    params = {"StartDate": "2026-12-01", "EndDate": "2026-12-31"}
    total = client.get(acme.path("Usage/Records.json"), headers=acme.basic, params=params).json()
    by = {r["category"]: r for r in total["usage_records"]}
    assert (by["calls"]["count"], by["calls"]["usage"], by["calls"]["usage_unit"]) == (
        "2",
        "2",
        "minutes",
    )
    assert (by["sms"]["count"], by["sms"]["usage"], by["sms"]["price"]) == ("1", "2", "0.10000")
    assert (by["totalprice"]["price"], by["totalprice"]["price_unit"]) == ("0.17000", "eur")
    daily = client.get(
        acme.path("Usage/Records/Daily.json"),
        headers=acme.basic,
        params={**params, "Category": "calls", "EndDate": "2026-12-03"},
    ).json()["usage_records"]
    assert [(r["start_date"], r["count"]) for r in daily] == [
        ("2026-12-01", "0"),
        ("2026-12-02", "1"),
        ("2026-12-03", "1"),
    ]
    for query in ({"Category": "fax"}, {"StartDate": "2026-12-05", "EndDate": "2026-12-01"}):
        assert (
            client.get(
                acme.path("Usage/Records.json"), headers=acme.basic, params=query
            ).status_code
            == 400
        )
    assert client.get(acme.path("Usage/Records/Weekly.json"), headers=acme.basic).status_code == 404
