"""dialtone on PostgreSQL from the command line (issue 19): ``migrate`` makes the schema,
commands use it, and a database out of reach is one line and exit status 2 for
``serve``, ``migrate`` and every other command: which database (no password), what
failed, what to check; never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from dialtone.cli import app
from tests import database
from tests.programs import postgres

runner = CliRunner()
PASSWORD = "s3cret-pw"
COMMANDS = [["migrate"], ["serve"], ["accounts", "list"], ["audit", "list"], ["billing", "run"]]


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres.Cluster]:
    """This process's cluster on a PostgreSQL run, else one of this module's own."""
    if database.on_postgresql():
        yield database.cluster()
        return
    with postgres.cluster() as running:
        yield running


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("DIALTONE_DATABASE_CONNECT_TIMEOUT_S", "3")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_line(result: object, *words: str) -> str:
    output: str = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert PASSWORD not in output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_refused_connection_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    port = _closed_port()
    monkeypatch.setenv(
        "DIALTONE_DATABASE_URL", f"postgresql://dialtone:{PASSWORD}@127.0.0.1:{port}/dialtone"
    )
    _one_line(
        runner.invoke(app, args),
        f"error: database postgresql+psycopg://dialtone:***@127.0.0.1:{port}/dialtone",
        "cannot connect",
        "is PostgreSQL running",
    )


@pytest.mark.interop
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_missing_database_is_one_line_and_exit_2(
    cluster: postgres.Cluster, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("DIALTONE_DATABASE_URL", cluster.url("no_such_database"))
    _one_line(runner.invoke(app, args), "no_such_database", "does not exist", "createdb")


@pytest.mark.interop
def test_a_wrong_password_is_one_line_and_exit_2(
    cluster: postgres.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = postgres.PASSWORD_ROLE
    # Made by an earlier run of this test in this process: the same role.
    with suppress(psycopg.errors.DuplicateObject):
        cluster.password_role("the-right-one")
    url = f"postgresql://{role}:{PASSWORD}@127.0.0.1:{cluster.port}/{role}"
    monkeypatch.setenv("DIALTONE_DATABASE_URL", url)
    for args in COMMANDS:
        _one_line(runner.invoke(app, args), "password", "check the user and password")


@pytest.mark.interop
def test_migrate_then_commands_work_on_postgresql(
    cluster: postgres.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = cluster.create_database()
    # postgresql:// without a driver: psycopg 3 all the same.
    monkeypatch.setenv(
        "DIALTONE_DATABASE_URL", url.replace("postgresql+psycopg://", "postgresql://")
    )
    made = runner.invoke(app, ["migrate"])
    assert made.exit_code == 0, made.output
    assert f"database: {url}" in made.output
    created = runner.invoke(app, ["accounts", "create", "Acme"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["accounts", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Acme" in listed.output
    again = runner.invoke(app, ["migrate"])
    assert again.exit_code == 0, again.output
    cluster.drop_database(url.rsplit("/", 1)[1])
