"""Settings: defaults from the terms, environment over dialtone.toml, clear errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from dialtone.settings import Settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("DIALTONE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "dialtone.toml"))


def test_defaults() -> None:
    s = Settings()
    assert (s.sip_host, s.sip_port, s.http_port) == ("127.0.0.1", 5060, 8000)
    assert (s.rtp_port_min, s.rtp_port_max) == (20000, 22000)  # TERMS V1
    assert s.codecs == ("PCMA", "PCMU")  # TERMS V1 order, G.711 part
    assert s.billing_increment == "60/60"  # TERMS B2
    assert s.data_dir == Path("var")
    assert s.resolved_database_url.endswith("/var/dialtone.db")
    assert s.resolved_database_url.startswith("sqlite:///")


def test_toml_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "dialtone.toml").write_text(
        'sip_port = 5070\nhttp_port = 8100\ncodecs = ["PCMU"]\n'
    )
    s = Settings()
    assert (s.sip_port, s.http_port, s.codecs) == (5070, 8100, ("PCMU",))
    monkeypatch.setenv("DIALTONE_SIP_PORT", "5080")
    monkeypatch.setenv("DIALTONE_CODECS", "pcmu, pcma")
    s = Settings()
    assert (s.sip_port, s.http_port, s.codecs) == (5080, 8100, ("PCMU", "PCMA"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DIALTONE_SIP_PORT", "70000"),
        ("DIALTONE_RTP_PORT_MIN", "30000"),  # above the max
        ("DIALTONE_CODECS", "OPUS"),
        ("DIALTONE_BILLING_INCREMENT", "60"),
        ("DIALTONE_OVERLOAD_LAG_LOW_MS", "251"),  # above the high mark
        ("DIALTONE_OVERLOAD_SETUPS_LOW", "301"),
        ("DIALTONE_OVERLOAD_DB_JOBS_LOW", "301"),
        ("DIALTONE_OVERLOAD_RETRY_AFTER_SECONDS", "-1"),
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("key", "accepted"),
    [
        (base64.b64encode(bytes(31)).decode(), False),  # just under 32 bytes
        (base64.b64encode(bytes(range(32))).decode(), True),
        (base64.b64encode(bytes(33)).decode(), False),  # just over
        ("not base64!", False),
        ("", True),  # empty: unset, the generated key file is used
    ],
)
def test_recording_key_is_checked_with_the_settings(
    monkeypatch: pytest.MonkeyPatch, key: str, accepted: bool
) -> None:
    """A malformed recording_key (TERMS D5) is a bad setting, named, not a ValueError
    from the first command that seals something; its value is never echoed back."""
    monkeypatch.setenv("DIALTONE_RECORDING_KEY", key)
    if accepted:
        assert Settings().recording_key == (key or None)
        return
    with pytest.raises(ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert error["loc"] == ("recording_key",)


def test_overload_marks_reach_the_controller_in_its_units(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = Settings().overload_limits
    assert (limits.lag_high, limits.lag_low) == (0.25, 0.08)
    assert (limits.setups_high, limits.setups_low, limits.jobs_high, limits.jobs_low) == (
        300,
        150,
        300,
        60,
    )
    assert (limits.hold, limits.retry_after) == (1.0, 2)
    monkeypatch.setenv("DIALTONE_OVERLOAD_LAG_HIGH_MS", "400")
    monkeypatch.setenv("DIALTONE_OVERLOAD_LAG_LOW_MS", "400")  # equal marks are allowed
    assert Settings().overload_limits.lag_low == 0.4
