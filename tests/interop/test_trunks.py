"""Carrier trunks against sipp playing the provider: digest authentication with the
sealed password (issue 13, item 5) and registration (item 21)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from . import sippgen
from .conftest import (
    SCENARIOS,
    Platform,
    require_sipp,
    serving,
)
from .test_call_engine import Sipp, calls, engine, run, stt, wait_for

pytestmark = pytest.mark.interop
__all__ = ["engine", "stt"]  # fixtures used by name


def _trunk(platform: Platform, port: int, **extra: object) -> str:
    with platform.http() as http:
        made = http.post(
            "/v1/trunks",
            json={"name": "provider", "host": "127.0.0.1", "port": port, **extra},
        )
    assert made.status_code == 201, made.text
    assert "carrier-s3cret" not in made.text
    trunk_id: str = made.json()["id"]
    return trunk_id


@pytest.mark.parametrize(
    ("auth_username", "verified_as"),
    [(None, "acme"), ("acme-auth-7", "acme-auth-7")],
    ids=["username", "auth_username"],
)
def test_outbound_call_answers_the_carriers_digest_challenge(
    engine: Platform, tmp_path: Path, auth_username: str | None, verified_as: str
) -> None:
    """The password is sealed at rest, yet the leg to the carrier answers its 401 with
    it (sipp verifies the digest response), and it appears in no log. The digest is
    computed as the trunk's ``auth_username`` when it has one (as its registration is),
    else as its ``username``."""
    carrier = Sipp(
        engine,
        tmp_path,
        "carrier",
        (SCENARIOS / "uas_trunk_digest.xml")
        .read_text()
        .replace('username="acme"', f'username="{verified_as}"'),
        server=True,
    )
    extra = {"auth_username": auth_username} if auth_username else {}
    trunk_id = _trunk(engine, carrier.port, username="acme", password="carrier-s3cret", **extra)
    run(
        engine,
        tmp_path,
        "alice-out",
        sippgen.call("+442071838750", from_user="alice", auth=True),
        user="alice",
    )
    carrier.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["legs"][1]["id"] == trunk_id
    assert "carrier-s3cret" not in engine.log()
    for stored in engine.data_dir.glob("dialtone.db*"):  # the database and its WAL
        assert b"carrier-s3cret" not in stored.read_bytes(), stored.name


# -- registration (item 21) ------------------------------------------------------------


@pytest.fixture
def pbx(tmp_path: Path) -> Iterator[Platform]:
    """A platform holding +33123456789 (greeting route) that reads trunks marked to
    register every half second and retries a failed registration after 1 s, 2 s, …"""
    require_sipp()
    with serving(
        tmp_path,
        ring_seconds="0.3",
        trunk_register_scan_seconds="0.5",
        trunk_register_retry_seconds="1",
    ) as running:
        yield running


def _registering_trunk(platform: Platform, registrar_port: int) -> str:
    # The provider's domain is a name that is not its address: calls it delivers are
    # recognised by the contact we registered, not by where they come from.
    return _trunk(
        platform,
        5060,
        host="sip.provider.example",
        username="acme",
        password="carrier-s3cret",
        register=True,
        registrar_host="127.0.0.1",
        registrar_port=registrar_port,
    )


def _registration(platform: Platform, trunk_id: str) -> dict[str, Any]:
    with platform.http() as http:
        answer = http.get(f"/v1/trunks/{trunk_id}")
    assert answer.status_code == 200, answer.text
    registration: dict[str, Any] = answer.json()["registration"]
    return registration


def _until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_registers_receives_a_call_on_the_contact_and_refreshes(
    pbx: Platform, tmp_path: Path
) -> None:
    """REGISTER, 401, REGISTER with digest (verified by sipp), 200 for 10 s; the
    provider's INVITE to the registered contact reaches the number's greeting (200) as a
    call from that trunk; the refresh comes authenticated before the 10 s run out."""
    provider = Sipp(
        pbx,
        tmp_path,
        "provider",
        (SCENARIOS / "uas_registrar.xml").read_text(),
        server=True,
        timeout=40,
    )
    trunk_id = _registering_trunk(pbx, provider.port)
    registered = _until(lambda: (r := _registration(pbx, trunk_id))["state"] == "registered" and r)
    assert registered["last_error"] is None
    expires_at = datetime.fromisoformat(registered["expires_at"])
    attempted = datetime.fromisoformat(registered["last_attempt_at"])
    assert 9 <= (expires_at - attempted).total_seconds() <= 11
    provider.wait(pbx)
    [call] = wait_for(lambda: calls(pbx))
    assert call["legs"][0]["kind"] == "trunk"
    assert call["legs"][0]["id"] == trunk_id
    assert call["to"] == pbx.number
    assert call["status"] == "completed", call
    # The refresh was answered: registered for 10 s more.
    refreshed = _until(
        lambda: (r := _registration(pbx, trunk_id))["expires_at"] != registered["expires_at"] and r
    )
    assert refreshed["state"] == "registered"
    assert "carrier-s3cret" not in pbx.log()


def test_a_refused_registration_is_reported_and_retried_with_backoff(
    pbx: Platform, tmp_path: Path
) -> None:
    provider = Sipp(
        pbx,
        tmp_path,
        "provider",
        (SCENARIOS / "uas_registrar_403.xml").read_text(),
        server=True,
    )
    trunk_id = _registering_trunk(pbx, provider.port)
    first = _until(lambda: (r := _registration(pbx, trunk_id))["state"] == "failed" and r)
    assert first["last_error"] == "403 Forbidden"
    assert first["expires_at"] is None

    def wait(r: dict[str, Any]) -> float:
        return (
            datetime.fromisoformat(r["next_attempt_at"])
            - datetime.fromisoformat(r["last_attempt_at"])
        ).total_seconds()

    assert wait(first) == pytest.approx(1, abs=0.05)
    second = _until(
        lambda: (
            (r := _registration(pbx, trunk_id))["last_attempt_at"] != first["last_attempt_at"]
            and r["next_attempt_at"] is not None
            and r
        )
    )
    assert second["state"] == "failed"
    assert wait(second) == pytest.approx(2, abs=0.05)
    gap = datetime.fromisoformat(second["last_attempt_at"]) - datetime.fromisoformat(
        first["last_attempt_at"]
    )
    assert gap.total_seconds() >= 1
    provider.wait(pbx)
    with pbx.http() as http:
        listed = http.get("/v1/trunks").json()["trunks"]
    assert listed[0]["registration"]["state"] == "failed"


def test_a_registrar_name_that_does_not_resolve_is_reported(pbx: Platform) -> None:
    with pbx.http() as http:
        made = http.post(
            "/v1/trunks",
            json={
                "name": "provider",
                "host": "sip.provider.example",
                "username": "acme",
                "password": "carrier-s3cret",
                "register": True,
                "registrar_host": "registrar.invalid",  # RFC 2606: never resolves
            },
        )
    assert made.status_code == 201, made.text
    failed = _until(lambda: (r := _registration(pbx, made.json()["id"]))["state"] == "failed" and r)
    assert failed["last_error"].startswith("cannot resolve registrar.invalid")
    assert failed["next_attempt_at"] is not None
