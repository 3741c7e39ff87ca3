"""``dialtone console``: the README's "The web console" block run as written (in-process
through typer's runner), then the printed invitation link used in the real console."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dialtone.api.app import create_app
from dialtone.cli import app
from dialtone.dashboard.app import install
from dialtone.settings import Settings
from dialtone.store.db import open_database

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
PASSWORD = "a password of the README"
PRINTED = {"AC": r"\bAC[0-9a-f]{32}\b", "US": r"\bUS[0-9a-f]{32}\b"}


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("DIALTONE_CONSOLE_PASSWORD", PASSWORD)
    assert runner.invoke(app, ["migrate"]).exit_code == 0


def readme_block() -> list[str]:
    """The commands of the ```sh block under "### The web console", comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### The web console\n") :]
    block = section[section.index("```sh\n") + len("```sh\n") :]
    block = block[: block.index("```")]
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line]


def _run(line: str, printed: str) -> str:
    def value(match: re.Match[str]) -> str:
        found = re.search(PRINTED[match.group(1)], printed)
        assert found, f"nothing printed before {line!r} fills {match.group(0)}"
        return found.group(0)

    line = re.sub(r"\b(AC|US)\.\.\.", value, line)
    words = shlex.split(line)
    assert words[0] == ".venv/bin/dialtone", line
    result = runner.invoke(app, words[1:])
    assert result.exit_code == 0, f"{line}\n{result.output}"
    return result.output


def test_the_readme_block_invites_a_user_who_then_signs_in(tmp_path: Path) -> None:
    printed = ""
    for line in readme_block():
        printed += _run(line, printed)
    link = re.search(r"http://\S+/console/invitation/(\S+)", printed)
    assert link, printed
    settings = Settings(data_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
    engine, sessions = open_database(settings.resolved_database_url, settings.sealing_key)
    console = create_app(settings, sessions)
    install(console)
    with TestClient(console, follow_redirects=False) as client:
        page = client.get(f"/console/invitation/{link.group(1)}")
        assert page.status_code == 200, page.text
        assert "Ann" in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        answer = client.post(
            f"/console/invitation/{link.group(1)}",
            data={"password": PASSWORD, "repeat": PASSWORD, "csrf": token.group(1)},
        )
        assert answer.status_code == 303, answer.text
        overview = client.get("/console/")
        assert overview.status_code == 200
        assert "Acme" in overview.text
        # The operator the block added signs in too, and sees the account.
        client.cookies.clear()
        form = client.get("/console/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        signed = client.post(
            "/console/sign-in",
            data={"email": "you@example.com", "password": PASSWORD, "csrf": csrf.group(1)},
        )
        assert signed.status_code == 303
        assert "Acme" in client.get("/console/accounts").text
    engine.dispose()
