"""What every ``dialtone`` command shares: a command never makes a database of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.cli import app

runner = CliRunner()
ACCOUNT = "AC" + "0" * 32


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A directory the server never ran in: what an operator gets in another directory.
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "elsewhere" / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))


@pytest.mark.parametrize(
    "args",
    [
        ["accounts", "create", "Acme"],
        ["accounts", "list"],
        ["numbers", "add", "+33123456789", "--account", ACCOUNT],
        ["calls", "list", "--account", ACCOUNT],
        ["users", "list", "--account", ACCOUNT],
        ["audit", "list"],
        ["lifecycle", "run"],
        ["billing", "run"],
        ["billing", "invoices", "--account", ACCOUNT],
        ["sla", "incidents"],
    ],
)
def test_13_a_command_refuses_to_create_a_database(tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0, result.output
    database = (tmp_path / "elsewhere" / "var" / "dialtone.db").resolve()
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith("error: no database at ")
    assert str(database) in line
    assert "DIALTONE_DATA_DIR" in line
    assert "dialtone.toml" in line
    assert "DIALTONE_CONFIG" in line
    assert "account.not_found" not in line
    assert not database.exists()
    assert not database.parent.exists()


def test_13_migrate_creates_the_database_then_commands_use_it(tmp_path: Path) -> None:
    made = runner.invoke(app, ["migrate"])
    assert made.exit_code == 0, made.output
    database = (tmp_path / "elsewhere" / "var" / "dialtone.db").resolve()
    assert str(database) in made.output
    assert database.is_file()
    listed = runner.invoke(app, ["accounts", "list"])
    assert listed.exit_code == 0, listed.output
    again = runner.invoke(app, ["migrate"])
    assert again.exit_code == 0, again.output


def test_13_migrate_into_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "var").write_text("not a directory")
    made = runner.invoke(app, ["migrate"])
    assert made.exit_code == 1, made.output
    assert made.output.startswith(f"error: data dir {tmp_path / 'elsewhere' / 'var'} is a file")
    assert len(made.output.strip().splitlines()) == 1, made.output
