"""``/v1/port-ins`` (TERMS N4): the file, its documents sealed, submission, the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.settings import Settings

from .conftest import auth, new_account


def _next(weekday: int, hour: int) -> str:
    """The next such weekday (0 Monday) at ``hour`` Paris time in winter (UTC+1)."""
    today = datetime.now(UTC).date() + timedelta(days=2)
    ahead = (weekday - today.weekday()) % 7
    day = today + timedelta(days=ahead)
    return f"{day.isoformat()}T{hour:02d}:00:00+01:00"


def test_a_port_in_over_the_api(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    account_id, key = new_account(sessions, "Acme")
    made = client.post("/v1/port-ins", json={"numbers": ["+33123456700"]}, headers=auth(key))
    assert made.status_code == 201, made.text
    port = made.json()
    assert (port["state"], port["documents"]) == ("draft", [])
    assert port["documents_required"] == ["carrier_bill", "identity", "mandate"]

    early = client.post(f"/v1/port-ins/{port['id']}/submit", headers=auth(key))
    assert (early.status_code, early.json()["code"], early.json()["rule"]) == (
        422,
        "port_in.incomplete",
        "N4",
    )
    for kind in ("mandate", "carrier_bill", "identity"):
        put = client.put(
            f"/v1/port-ins/{port['id']}/documents/{kind}",
            content=b"%PDF-1.7 scan",
            headers={**auth(key), "Content-Type": "application/pdf"},
        )
        assert put.status_code == 200, put.text
    stored = settings.data_dir / "documents" / account_id / port["id"] / "identity.sealed"
    assert stored.read_bytes().startswith(b"DTSEAL1\n")
    wrong_kind = client.put(
        f"/v1/port-ins/{port['id']}/documents/selfie", content=b"x", headers=auth(key)
    )
    assert wrong_kind.status_code == 400
    huge = client.put(
        f"/v1/port-ins/{port['id']}/documents/identity",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers=auth(key),
    )
    assert (huge.status_code, huge.json()["code"]) == (413, "http.too_large")

    assert client.post(f"/v1/port-ins/{port['id']}/submit", headers=auth(key)).status_code == 200
    saturday = client.post(
        f"/v1/port-ins/{port['id']}/schedule",
        json={"effective_at": _next(5, 9)},
        headers=auth(key),
    )
    assert (saturday.status_code, saturday.json()["code"]) == (422, "port_in.outside_window")
    monday = client.post(
        f"/v1/port-ins/{port['id']}/schedule",
        json={"effective_at": _next(0, 9)},
        headers=auth(key),
    )
    assert monday.status_code == 200, monday.text
    assert (monday.json()["state"], monday.json()["out_of_window_fee"]) == ("scheduled", False)
    cancelled = client.post(f"/v1/port-ins/{port['id']}/cancel", headers=auth(key))
    assert cancelled.json()["state"] == "cancelled"
    listed = client.get("/v1/port-ins", headers=auth(key)).json()["port_ins"]
    assert [p["id"] for p in listed] == [port["id"]]
    other_key = new_account(sessions, "Globex")[1]
    assert client.get(f"/v1/port-ins/{port['id']}", headers=auth(other_key)).status_code == 404
