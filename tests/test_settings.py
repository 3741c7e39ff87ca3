"""Settings: defaults from the terms, environment over dialtone.toml, clear errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from dialtone.settings import SECTIONS, Settings, SipSection


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
        ("DIALTONE_EDGE_ADDRESSES", "edge.example:5060"),  # a name: trusted by address only
        ("DIALTONE_EDGE_ADDRESSES", "10.0.0.5"),  # the port is part of the edge's address
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


# One setting of each section, its environment variable, its dialtone.toml line and the
# value both give: the sections changed neither name.
BY_SECTION = [
    ("storage", "data_dir", "DIALTONE_DATA_DIR", "/srv/dialtone", Path("/srv/dialtone")),
    ("sip", "sip_port", "DIALTONE_SIP_PORT", "5070", 5070),
    ("overload", "overload_setups_high", "DIALTONE_OVERLOAD_SETUPS_HIGH", "500", 500),
    ("calls", "ring_seconds", "DIALTONE_RING_SECONDS", "2.5", 2.5),
    ("media", "rtp_port_max", "DIALTONE_RTP_PORT_MAX", "23000", 23000),
    ("speech", "speech_end_silence_ms", "DIALTONE_SPEECH_END_SILENCE_MS", "700", 700),
    ("destinations", "default_country", "DIALTONE_DEFAULT_COUNTRY", "US", "US"),
    ("numbers", "port_out_notice_days", "DIALTONE_PORT_OUT_NOTICE_DAYS", "45", 45),
    ("accounts", "error_log_days", "DIALTONE_ERROR_LOG_DAYS", "7", 7),
    ("billing", "billing_retry_hours", "DIALTONE_BILLING_RETRY_HOURS", "48", 48),
    ("messaging", "smpp_port", "DIALTONE_SMPP_PORT", "2776", 2776),
    ("email", "smtp_host", "DIALTONE_SMTP_HOST", "mail.example.com", "mail.example.com"),
    (
        "webhooks",
        "webhook_allow_private_targets",
        "DIALTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "true",
        True,
    ),
    ("api", "http_port", "DIALTONE_HTTP_PORT", "8100", 8100),
    ("console", "console_session_hours", "DIALTONE_CONSOLE_SESSION_HOURS", "8", 8),
    ("shared", "redis_timeout_ms", "DIALTONE_REDIS_TIMEOUT_MS", "250", 250),
    ("observability", "log_format", "DIALTONE_LOG_FORMAT", "json", "json"),
    ("process", "log_level", "DIALTONE_LOG_LEVEL", "DEBUG", "DEBUG"),
    (
        "edge",
        "edge_addresses",
        "DIALTONE_EDGE_ADDRESSES",
        "10.0.0.5:5060,[2001:db8::1]:5070",
        ("10.0.0.5:5060", "[2001:db8::1]:5070"),
    ),
    ("workers", "worker_id", "DIALTONE_WORKER_ID", "sip2-a", "sip2-a"),
]


def test_every_section_is_listed_in_the_table() -> None:
    assert [row[0] for row in BY_SECTION] == list(SECTIONS)


@pytest.mark.parametrize("row", BY_SECTION, ids=[row[0] for row in BY_SECTION])
def test_a_sections_setting_keeps_its_flat_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, row: tuple[str, str, str, str, object]
) -> None:
    section, field, env, text, value = row
    assert field in SECTIONS[section].model_fields
    (tmp_path / "dialtone.toml").write_text(f'{field} = "{text}"\n')
    assert getattr(Settings(), field) == value
    (tmp_path / "dialtone.toml").write_text("")
    monkeypatch.setenv(env, text)
    assert getattr(Settings(), field) == value


def test_each_setting_is_in_one_section() -> None:
    names = [name for section in SECTIONS.values() for name in section.model_fields]
    assert len(names) == len(set(names))
    assert set(names) == set(Settings.model_fields)


def test_a_section_stands_alone_with_the_same_defaults() -> None:
    settings = Settings()
    for section in SECTIONS.values():
        alone = section()
        assert isinstance(settings, section)
        assert alone.model_dump() == {
            name: getattr(settings, name) for name in section.model_fields
        }
    # What needs SIP alone can be given a SipSection; its checks come with it.
    assert SipSection(sip_public_host="198.51.100.7").advertised_host == "198.51.100.7"
    with pytest.raises(ValidationError):
        SipSection(digest_algorithms="SHA-1")
    with pytest.raises(ValidationError):
        SipSection(not_a_setting=1)  # type: ignore[call-arg]


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


@pytest.mark.parametrize(
    ("public", "expected"),
    [("", "http://127.0.0.1:8100"), ("https://voice.example/", "https://voice.example")],
)
def test_the_apis_public_address(public: str, expected: str) -> None:
    settings = Settings(http_port=8100, http_public_url=public)
    assert settings.public_http_url == expected


@pytest.mark.parametrize(
    ("host", "port", "derived"),
    [
        ("sip1", 5060, "sip1-5060"),
        ("sip1.example.net", 5070, "sip1-5070"),  # the short name
        ("héte", 5060, "h-te-5060"),  # what a worker id may not hold
        ("", 5060, "host-5060"),
    ],
)
def test_the_default_worker_id_is_the_host_and_the_sip_port(
    monkeypatch: pytest.MonkeyPatch, host: str, port: int, derived: str
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: host)
    monkeypatch.setenv("DIALTONE_SIP_PORT", str(port))
    assert Settings().worker_id == derived


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("w1", True),
        ("sip-1.a_b", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("w 1", False),
        ("w/1", False),
        ("wé", False),
    ],
)
def test_a_worker_id_is_checked(
    monkeypatch: pytest.MonkeyPatch, value: str, accepted: bool
) -> None:
    monkeypatch.setenv("DIALTONE_WORKER_ID", value)
    if accepted:
        assert Settings().worker_id == value
        return
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("lease", "renew", "accepted"), [(15, 5, True), (3, 1, True), (15, 5.1, False), (3, 2, False)]
)
def test_the_lease_is_renewed_three_times_within_its_length(
    monkeypatch: pytest.MonkeyPatch, lease: float, renew: float, accepted: bool
) -> None:
    monkeypatch.setenv("DIALTONE_WORKER_LEASE_SECONDS", str(lease))
    monkeypatch.setenv("DIALTONE_WORKER_LEASE_RENEW_SECONDS", str(renew))
    if accepted:
        assert Settings().worker_lease_renew_seconds == renew
        return
    with pytest.raises(ValidationError):
        Settings()


def test_media_engine_defaults_to_the_python_relay() -> None:
    # Issue 19: rtpengine only when chosen; its recordings read under the data dir.
    s = Settings()
    assert s.media_engine == "python"
    assert s.rtpengine_ng == "127.0.0.1:22222"
    assert (s.rtpengine_retransmit_seconds, s.rtpengine_timeout_seconds) == (0.5, 3.0)
    assert s.rtpengine_recordings == Path("var") / "rtpengine"


@pytest.mark.parametrize(
    ("env", "value", "error"),
    [
        ("DIALTONE_MEDIA_ENGINE", "kernel", "media_engine"),
        ("DIALTONE_RTPENGINE_NG", "127.0.0.1", "host:port"),
        ("DIALTONE_RTPENGINE_NG", "127.0.0.1:ng", "host:port"),
        ("DIALTONE_RTPENGINE_TIMEOUT_SECONDS", "0", "rtpengine_timeout_seconds"),
    ],
)
def test_media_engine_settings_are_checked(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, error: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError, match=error):
        Settings()


def test_rtpengine_recording_dir_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_MEDIA_ENGINE", "rtpengine")
    monkeypatch.setenv("DIALTONE_RTPENGINE_RECORDING_DIR", "/srv/rtpengine")
    assert Settings().rtpengine_recordings == Path("/srv/rtpengine")
