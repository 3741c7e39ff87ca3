"""``dialtone webhooks list``: the operator sees failed webhooks with why, without
their bodies or passwords."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.cli import app
from dialtone.services.accounts import webhooks
from dialtone.settings import Settings
from dialtone.store.db import open_database, transaction
from tests.database import migrated_data_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    migrated_data_dir(tmp_path / "var")  # the schema a first `dialtone migrate` makes
    assert runner.invoke(app, ["migrate"]).exit_code == 0


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}: (\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_failed_webhooks_are_listed_for_the_operator() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    settings = Settings()
    _, sessions = open_database(settings.resolved_database_url)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        for n in range(2):
            row = webhooks.enqueue_twilio(
                session,
                account,
                url=f"https://u:secret@app.example/{n}",
                method="POST",
                params={"Body": "private words"},
                event="message.status",
                now=now + timedelta(seconds=n),
            )
            session.flush()
            if n == 0:
                row.state, row.attempts, row.last_error = "failed", 9, "HTTP 500"
    listed = _ok("webhooks", "list", "--state", "failed")
    assert "HTTP 500" in listed
    assert "app.example/0" in listed
    assert "app.example/1" not in listed
    assert "secret" not in listed
    [row] = json.loads(_ok("webhooks", "list", "--account", account, "--state", "failed", "--json"))
    assert (row["account_id"], row["state"], row["attempts"]) == (account, "failed", 9)
    assert row["url"] == "https://u:***@app.example/0"
    assert "private words" not in json.dumps(row)
    assert len(json.loads(_ok("webhooks", "list", "--json"))) == 2
