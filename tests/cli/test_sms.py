"""``dialtone sms``: consents, sending (refusals with their rule), listing, SMPP carriers
and logins, sender IDs, end to end on SQLite."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.cli import app
from tests.database import migrated_data_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("DIALTONE_KYC_REQUIRED", "false")
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


def test_consent_send_list_and_a_refusal_with_its_rule() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _ok("numbers", "add", "+33123456789", "--account", account)
    refused = runner.invoke(
        app,
        ["sms", "send", "--account", account, "--from", "+33123456789", "--to", "0612345678",
         "--body", "Hello"],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "sms.consent_missing [M3]" in refused.output
    _ok(
        "sms", "consents", "add", "--account", account, "--recipient", "06 12 34 56 78",
        "--source", "paper form at the counter", "--wording", "Texts from Acme: yes",
    )  # fmt: skip
    sent = _ok(
        "sms", "send", "--account", account, "--from", "+33123456789", "--to", "0612345678",
        "--body", "Hello",
    )  # fmt: skip
    message_id = _field(sent, "message_id")
    assert "status: queued" in sent
    assert message_id in _ok("sms", "list", "--account", account)
    [row] = json.loads(_ok("sms", "list", "--account", account, "--json"))
    assert (row["recipient"], row["origin"], row["segments"]) == ("+33612345678", "cli", 1)
    proof = json.loads(
        _ok("sms", "consents", "proof", "--account", account, "--recipient", "+33612345678")
    )
    assert proof["consents"][0]["source"] == "paper form at the counter"


def test_carriers_logins_and_sender_ids() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    carrier = _field(
        _ok(
            "sms",
            "carriers",
            "add",
            "--name",
            "Carrier A",
            "--host",
            "smsc.example",
            "--system-id",
            "dialtone",
            "--password",
            "s3cret",
            "--prefix",
            "+33",
        ),
        "carrier_id",
    )
    listed = _ok("sms", "carriers", "list")
    assert carrier in listed
    assert "+33" in listed
    assert "s3cret" not in _ok("sms", "carriers", "list", "--json")
    bad = runner.invoke(
        app,
        ["sms", "carriers", "add", "--name", "B", "--host", "h", "--system-id", "x",
         "--password", "far-too-long-for-smpp"],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "password" in bad.output
    _ok("sms", "carriers", "remove", carrier)
    assert carrier not in _ok("sms", "carriers", "list")

    made = _ok("sms", "logins", "create", "--account", account, "--system-id", "acme")
    login, password = _field(made, "login_id"), _field(made, "password")
    assert len(password) == 8
    assert password not in _ok("sms", "logins", "list", "--account", account, "--json")
    taken = runner.invoke(
        app, ["sms", "logins", "create", "--account", account, "--system-id", "acme"]
    )
    assert taken.exit_code == 1
    assert "smpp_login.taken" in taken.output
    _ok("sms", "logins", "revoke", login, "--account", account)
    assert "revoked" in _ok("sms", "logins", "list", "--account", account)

    _ok("sms", "senders", "add", "--account", account, "ACME Bistro")
    assert json.loads(_ok("sms", "senders", "list", "--account", account, "--json")) == [
        "ACME Bistro"
    ]
    assert (
        runner.invoke(app, ["sms", "senders", "add", "--account", account, "12345"]).exit_code == 1
    )


def test_m3_a_proof_not_produced_in_24_hours_suspends_messaging() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _ok("numbers", "add", "+33123456789", "--account", account)
    _ok(
        "sms", "consents", "add", "--account", account, "--recipient", "+33612345678",
        "--source", "web form", "--wording", "yes",
    )  # fmt: skip
    made = _ok(
        "sms", "consents", "request-proof", "--account", account, "--recipient",
        "+33612345678", "--requested-by", "carrier X",
    )  # fmt: skip
    due = _field(made, "due_at")
    later = (datetime.fromisoformat(due) + timedelta(minutes=1)).isoformat()
    assert "proof of consent overdue  [M3]" in _ok("lifecycle", "run", "--now", later)
    refused = runner.invoke(
        app,
        ["sms", "send", "--account", account, "--from", "+33123456789", "--to", "+33612345678",
         "--body", "Hello"],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "sms.proof_overdue [M3]" in refused.output


def test_m7_a_us_long_code_sends_to_the_us_once_its_campaign_is_set() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _ok("accounts", "set", account, "--plan", "personal")  # international SMS allowed (M1)
    _ok("numbers", "add", "+12025550123", "--account", account)
    _ok(
        "sms", "consents", "add", "--account", account, "--recipient", "+12025550199",
        "--source", "web form", "--wording", "yes",
    )  # fmt: skip
    send = ["sms", "send", "--account", account, "--from", "+12025550123", "--to", "+12025550199",
            "--body", "Hi"]  # fmt: skip
    refused = runner.invoke(app, send)
    assert refused.exit_code == 1
    assert "sms.campaign_unregistered [M7]" in refused.output
    assert "campaign: CX7Y2Z1" in _ok("sms", "campaign", "+12025550123", "--campaign-id", "CX7Y2Z1")
    assert "status: queued" in _ok(*send)
