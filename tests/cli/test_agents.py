"""``dialtone agents``: the API's agents, knowledge and reports from the command line,
in-process through typer's runner; secrets never printed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.cli import app
from dialtone.services.agents import reports
from dialtone.services.agents.reports import Utterance
from dialtone.settings import Settings
from dialtone.store.db import open_database, transaction

runner = CliRunner()
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    assert runner.invoke(app, ["migrate"]).exit_code == 0


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}: (\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_an_agent_from_creation_to_deletion(tmp_path: Path) -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    agent = _field(
        _ok(
            "agents", "create", "--account", account, "--name", "Ava",
            "--purpose", "technical_support", "--business-name", "Acme",
            "--timezone", "Europe/Paris", "--hours", "mon 09:00-12:00",
            "--hours", "2 14:00-18:00", "--target", "number:+33612345678:boss",
            "--calendar-url", "https://dav.example/cal/", "--calendar-username", "ann",
            "--calendar-password", "s3cret", "--language", "fr-FR", "--language", "en-US",
            "--extra", "offer=Ask about plans", "--no-messages",
        ),
        "agent_id",
    )  # fmt: skip
    shown = json.loads(_ok("agents", "show", agent, "--account", account))
    assert shown["hours"] == [
        {"weekday": 0, "opens": "09:00", "closes": "12:00"},
        {"weekday": 2, "opens": "14:00", "closes": "18:00"},
    ]
    assert shown["transfer_targets"] == [{"kind": "number", "ref": "+33612345678", "label": "boss"}]
    assert (shown["languages"], shown["take_messages"]) == (["fr-FR", "en-US"], False)
    assert shown["extra"] == {"offer": "Ask about plans"}
    assert shown["calendar_password_set"] is True
    [listed] = json.loads(_ok("agents", "list", "--account", account, "--json"))
    assert listed["id"] == agent
    assert "s3cret" not in json.dumps(listed)

    updated = json.loads(
        _ok(
            "agents",
            "update",
            agent,
            "--account",
            account,
            "--voice",
            "bella",
            "--clear",
            "calendar",
            "--clear",
            "hours",
        )
    )
    assert (updated["voice"], updated["calendar_url"], updated["hours"]) == ("bella", None, [])

    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\nOpen?,9 to 5\nParking?,Yes\n", encoding="utf-8")
    assert _ok("agents", "knowledge", "import", agent, str(faq), "--account", account) == (
        "imported 2 entries\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nok,yes\nno answer,\n", encoding="utf-8")
    refused = runner.invoke(
        app, ["agents", "knowledge", "import", agent, str(bad), "--account", account]
    )
    assert refused.exit_code == 1
    assert "agent.csv_invalid" in refused.output
    assert "line 3" in refused.output
    entries = json.loads(_ok("agents", "knowledge", "list", agent, "--account", account, "--json"))
    assert [e["question"] for e in entries] == ["Open?", "Parking?"]
    _ok("agents", "knowledge", "delete", agent, entries[0]["id"], "--account", account)
    added = _ok("agents", "knowledge", "add", agent, "--account", account,
                "--question", "Pets?", "--answer", "No")  # fmt: skip
    assert added.startswith("entry_id: AK")

    _ok("numbers", "add", "+33123456789", "--account", account)
    assert _ok("numbers", "route", "+33123456789", "--kind", "agent", "--target", agent) == (
        f"+33123456789 -> agent {agent}\n"
    )
    assert _ok("agents", "delete", agent, "--account", account) == (
        f"deleted {agent}\n+33123456789 -> greeting\n"
    )
    gone = runner.invoke(app, ["agents", "show", agent, "--account", account])
    assert gone.exit_code == 1
    assert "agent.not_found" in gone.output


def test_refusals_are_one_line_with_their_rule() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    for args, expected in [
        (["--instructions", "Pretend to be a human."], "agent.invalid [A4]"),
        (["--hours", "someday"], "agent.invalid"),
        (["--extra", "novalue"], "agent.invalid"),
        (["--timezone", "Mars/Base"], "agent.invalid"),
    ]:
        result = runner.invoke(
            app, ["agents", "create", "--account", account, "--name", "Ava", *args]
        )
        assert result.exit_code == 1, result.output
        assert expected in result.output, result.output
        assert "Traceback" not in result.output


def test_reports_are_listed_and_shown() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _, sessions = open_database(Settings().resolved_database_url)
    with transaction(sessions) as session:
        for n, outcome in enumerate(("booked", "abandoned")):
            reports.save_report(
                session,
                account_id=account,
                agent_id="AG1",
                call_id=f"CA{n}",
                started_at=NOW + timedelta(minutes=n),
                ended_at=NOW + timedelta(minutes=n, seconds=20),
                outcome=outcome,
                summary=f"call {n}",
                transcript=(Utterance("caller", "hello", 0, 1),),
                now=NOW,
            )
    listed = _ok("agents", "reports", "list", "--account", account, "--outcome", "booked")
    assert "booked" in listed
    assert "[AI-generated] call 0" in listed
    assert "abandoned" not in listed
    rows = json.loads(_ok("agents", "reports", "list", "--account", account, "--json"))
    assert [r["call_id"] for r in rows] == ["CA1", "CA0"]
    shown = json.loads(_ok("agents", "reports", "show", rows[0]["id"], "--account", account))
    assert (shown["outcome"], shown["ai_generated"]) == ("abandoned", True)
