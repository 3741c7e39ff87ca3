"""``GET /metrics`` (issue 19): the operator's Prometheus scrapes it from an allowed
network or with its own token; nobody else (the API's port may be public). The numbers
come from the runtime through ``app.state.metrics``; each request's log lines carry the
account its key acts for."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.api.app import create_app
from dialtone.api.deps import CallerDep
from dialtone.api.metrics import CONTENT_TYPE, allowed
from dialtone.logs import configure
from dialtone.settings import Settings

from .conftest import auth, new_account

TOKEN = "s3cret-scrape-token-0123"
SCRAPE = (
    b"# HELP dialtone_live_calls x\n# TYPE dialtone_live_calls gauge\ndialtone_live_calls 2.0\n"
)


class Source:
    def __init__(self) -> None:
        self.scrapes = 0

    async def scrape(self) -> bytes:
        self.scrapes += 1
        return SCRAPE


def client_at(
    address: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    *,
    runtime: bool = True,
    **settings: object,
) -> TestClient:
    app = create_app(
        Settings(data_dir=tmp_path / "var", _env_file=None, **settings),  # type: ignore[call-arg, arg-type]
        sessions,
    )
    if runtime:
        app.state.metrics = Source()
    return TestClient(app, client=(address, 40000))


def test_loopback_scrapes_in_prometheus_text_format(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with client_at("127.0.0.1", sessions, tmp_path) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert (
        answer.headers["content-type"] == CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    )
    assert answer.content == SCRAPE


@pytest.mark.parametrize(
    "case",
    [
        ("198.51.100.7", None, None, 403),  # a stranger, no token configured
        ("198.51.100.7", f"Bearer {TOKEN}", None, 403),  # a token means nothing unset
        ("198.51.100.7", None, TOKEN, 401),
        ("198.51.100.7", "Bearer wrong-token-wrong-token", TOKEN, 401),
        ("198.51.100.7", f"Basic {TOKEN}", TOKEN, 401),
        ("198.51.100.7", f"Bearer {TOKEN}", TOKEN, 200),
        ("198.51.100.7", f"bearer {TOKEN}", TOKEN, 200),
        ("10.1.2.3", None, None, 200),  # a listed network
        ("10.2.0.1", None, None, 403),
        ("::1", None, None, 200),
        ("::ffff:127.0.0.1", None, None, 200),  # IPv4 over an IPv6 socket
        ("testclient", None, None, 403),  # not an address
    ],
)
def test_who_may_scrape(
    sessions: sessionmaker[Session], tmp_path: Path, case: tuple[str, str | None, str | None, int]
) -> None:
    address, header, token, status = case
    networks = "127.0.0.0/8,::1/128,10.1.0.0/16"
    with client_at(
        address, sessions, tmp_path, metrics_token=token, metrics_allowed_networks=networks
    ) as client:
        answer = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert answer.status_code == status, answer.text
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"
    if status != 200:
        assert b"dialtone_" not in answer.content
        code = {401: "metrics.token_invalid", 403: "metrics.forbidden"}[status]
        assert answer.json()["code"] == code, answer.text
        assert TOKEN not in answer.text


def test_off_is_404_and_without_a_runtime_503(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with client_at("127.0.0.1", sessions, tmp_path, metrics_enabled=False) as client:
        off = client.get("/metrics")
    assert (off.status_code, off.json()["code"]) == (404, "metrics.off"), off.text
    with client_at("127.0.0.1", sessions, tmp_path, runtime=False) as client:
        alone = client.get("/metrics")
    assert (alone.status_code, alone.json()["code"]) == (503, "call.engine_unavailable")


def test_the_settings_check_networks_and_tokens() -> None:
    settings = Settings(_env_file=None, metrics_allowed_networks="", metrics_token="  ")  # type: ignore[call-arg]
    assert settings.metrics_allowed_networks == ()
    assert settings.metrics_token is None
    assert allowed(settings, "127.0.0.1", None) == 403  # no network listed: nobody
    with pytest.raises(ValueError, match="metrics_allowed_networks"):
        Settings(_env_file=None, metrics_allowed_networks="10.0.0.0/33")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="16 characters"):
        Settings(_env_file=None, metrics_token="short")  # type: ignore[call-arg]
    assert "s3cret" not in repr(Settings(_env_file=None, metrics_token=TOKEN))  # type: ignore[call-arg]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    handler = configure("INFO", "json", force=True)
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_a_requests_lines_carry_its_account_and_no_key(
    sessions: sessionmaker[Session], settings: Settings, json_lines: io.StringIO
) -> None:
    account_id, key = new_account(sessions, "Acme")
    app = create_app(settings, sessions)
    log = logging.getLogger("dialtone.api.test")

    @app.get("/logs-probe")
    def probe(caller: CallerDep) -> dict[str, str]:  # a sync route: run in the thread pool
        log.info("handled")
        return {}

    with TestClient(app) as client:
        log.info("before")
        assert client.get("/logs-probe", headers=auth(key)).status_code == 200
        log.info("after")
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    mine = [line for line in lines if line["logger"] == log.name]
    assert [(line["message"], line.get("account_id")) for line in mine] == [
        ("before", None),
        ("handled", account_id),
        ("after", None),
    ]
    assert key not in json_lines.getvalue()
