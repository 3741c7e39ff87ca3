"""Carrier trunks against sipp playing the provider: digest authentication with the
sealed password (issue 13, item 5) and registration (item 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import sippgen
from .conftest import SCENARIOS, Platform
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


def test_outbound_call_answers_the_carriers_digest_challenge(
    engine: Platform, tmp_path: Path
) -> None:
    """The password is sealed at rest, yet the leg to the carrier answers its 401 with
    it (sipp verifies the digest response), and it appears in no log."""
    carrier = Sipp(
        engine,
        tmp_path,
        "carrier",
        (SCENARIOS / "uas_trunk_digest.xml").read_text(),
        server=True,
    )
    trunk_id = _trunk(engine, carrier.port, username="acme", password="carrier-s3cret")
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
