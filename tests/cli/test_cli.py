"""The ``dialtone`` command: users, trunks, routes and voicemail, end to end on SQLite."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dialtone.cli import app
from dialtone.services.numbering import kyc, numbers, porting
from dialtone.services.telephony import users
from dialtone.settings import Settings
from dialtone.sip.digest import ha1
from dialtone.store.db import open_database, transaction
from tests.database import migrated_data_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    migrated_data_dir(tmp_path / "var")  # the schema a first `dialtone migrate` makes
    assert runner.invoke(app, ["migrate"]).exit_code == 0  # as `dialtone serve` would
    monkeypatch.setenv("DIALTONE_SIP_REALM", "pbx.example")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_users_trunks_routes_voicemail() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _ok("numbers", "add", "+33123456789", "--account", account)
    user_id = _field(
        _ok(
            "users",
            "create",
            account,
            "--name",
            "Alice",
            "--extension",
            "101",
            "--sip-username",
            "alice",
            "--sip-password",
            "correct horse",
            "--channels",
            "2",
        ),
        "user_id",
    )
    listed = _ok("users", "list", account)
    assert user_id in listed
    assert "alice" in listed
    assert "2ch" in listed

    _ok("users", "passwd", user_id, "--sip-password", "battery staple")
    settings = Settings()
    _, sessions = open_database(settings.resolved_database_url)
    with transaction(sessions) as session:
        user = users.get_user(session, account, user_id)
        assert user.ha1_md5 == ha1("alice", "pbx.example", "battery staple", "MD5")

    assert "-> user " + user_id in _ok(
        "numbers",
        "route",
        "+33 1 23 45 67 89",
        "--kind",
        "user",
        "--target",
        user_id,
        "--no-answer-seconds",
        "25",
    )

    operator = _field(
        _ok("trunks", "add", "--name", "Carrier", "--host", "192.0.2.10", "--priority", "5"),
        "trunk_id",
    )
    own = _field(
        _ok("trunks", "add", "--name", "Own", "--host", "sip.own.example", "--account", account),
        "trunk_id",
    )
    assert operator in _ok("trunks", "list")
    assert own not in _ok("trunks", "list")
    assert own in _ok("trunks", "list", "--account", account)
    _ok("trunks", "remove", own)
    assert own not in _ok("trunks", "list", "--account", account)

    assert _ok("voicemails", "list", account) == ""
    _ok("accounts", "set", account, "--channels-per-user", "3", "--recording-policy", "notice")


def test_trunk_passwords_are_sealed_and_never_shown() -> None:
    """Issue 13 item 5: the CLI seals the password it is given and never prints it."""
    added = _ok(
        "trunks", "add", "--name", "Carrier", "--host", "192.0.2.10",
        "--username", "acme", "--password", "cli-s3cret",
    )  # fmt: skip
    listed = _ok("trunks", "list")
    assert _field(added, "trunk_id") in listed
    assert "cli-s3cret" not in added + listed
    _, sessions = open_database(Settings().resolved_database_url)
    with transaction(sessions) as session:
        raw = repr(session.execute(text("SELECT * FROM trunks")).all())
    assert "cli-s3cret" not in raw
    registering = _field(
        _ok(
            "trunks", "add", "--name", "Provider", "--host", "sip.provider.example",
            "--username", "acme", "--password", "cli-s3cret", "--register",
            "--register-expires", "600", "--registrar-port", "5070",
        ),
        "trunk_id",
    )  # fmt: skip
    assert f"{registering}" in _ok("trunks", "list")
    assert "    registration: registering" in _ok("trunks", "list")
    refused = runner.invoke(
        app, ["trunks", "add", "--name", "P", "--host", "sip.provider.example", "--register"]
    )
    assert refused.exit_code == 1
    assert "trunk.invalid" in refused.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "create", "{account}", "--name", "A", "--extension", "1"], "user.invalid"),
        (["users", "create", "{account}", "--name", "A", "--role", "boss"], "user.invalid [D1]"),
        (
            [
                "users",
                "create",
                "{account}",
                "--name",
                "A",
                "--sip-username",
                "alice",
                "--sip-password",
                "7chars!",
            ],
            "user.invalid",
        ),
        (["users", "passwd", "US0", "--sip-password", "long enough"], "user.not_found"),
        (["trunks", "add", "--name", "T", "--host", "bad host"], "trunk.invalid"),
        (["trunks", "remove", "TR0"], "trunk.not_found"),
        (["numbers", "route", "+33999999999", "--kind", "greeting"], "number.not_found"),
        (["voicemails", "list", "--account", "AC0"], "account.not_found"),
        (["accounts", "set", "{account}", "--recording-policy", "always"], "account.invalid [V8]"),
        (["accounts", "set", "{account}", "--country", "XX"], "account.invalid [V6]"),
    ],
)
def test_errors_exit_1_with_the_code(args: list[str], message: str) -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    result = runner.invoke(app, [a.replace("{account}", account) for a in args])
    assert result.exit_code == 1, result.output
    assert f"error: {message}" in result.output


def test_destination_permissions_dry_run_and_audit_log() -> None:
    """V5/V6 from the operator's side: permissions and country set with ``accounts set``,
    checked with ``policy check`` (exit 1 when refused), refusals read with ``audit list``."""
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _ok("numbers", "add", "+33123456789", "--account", account)
    refused = runner.invoke(app, ["policy", "check", account, "--to", "+33891234567"])
    assert refused.exit_code == 1, refused.output
    assert "destination  V5       REFUSED destination.premium_rate" in refused.output
    assert "caller_id    V10,N13  ok" in refused.output
    shown = _ok("accounts", "set", account, "--premium-rate", "--country", "us")
    assert "country=US  premium_rate=yes  high_cost=no" in shown
    assert "REFUSED" not in _ok("policy", "check", account, "--to", "+33891234567")
    x11 = runner.invoke(app, ["policy", "check", account, "--to", "311"])
    assert (x11.exit_code, "destination.x11_unsupported" in x11.output) == (1, True)
    assert "country=FR" in _ok("accounts", "set", account, "--country", "")
    forward = runner.invoke(
        app, ["numbers", "route", "+33123456789", "--kind", "forward", "--target", "+881612345678"]
    )
    assert forward.exit_code == 1
    assert "error: destination.high_cost [V5]" in forward.output
    # Refused by a rule, so on the audit log, with the operator as who asked; a dry run
    # (policy check) is not.
    [line] = _ok("audit", "list").splitlines()
    assert "refused   V5    destination.high_cost  numbers route  by operator:cli" in line
    assert '"number": "+881612345678"' in line
    assert _ok("audit", "list", "--rule", "V2") == ""


def test_fair_use_report() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    report = _ok("fair-use", account, "--month", "2026-11").split()
    assert report == ["short_calls", "ok", "autodialing", "ok", "redial", "ok", "usage", "ok"]
    bad = runner.invoke(app, ["fair-use", account, "--month", "Nov"])
    assert bad.exit_code == 2  # a bad option, named (issue 13)
    assert "error: --month: 'Nov' is not a month" in bad.output


def test_api_keys_issue_list_rotate_revoke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_KEY_ROTATION_NOTICE_BUSINESS_DAYS", "2")
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    user_id = _field(_ok("users", "create", account, "--name", "Ann"), "user_id")
    issued = _ok("keys", "issue", "--account", account, "--user", user_id, "--name", "crm")
    key_id = _field(issued, "key_id")
    assert _field(issued, "api_key").startswith("dt_")
    listed = _ok("keys", "list", "--account", account)
    assert key_id in listed
    assert user_id in listed
    rotated = _ok("keys", "rotate", key_id, "--account", account)
    assert f"old key {key_id} stops at" in rotated
    assert "expires" in _ok("keys", "list", "--account", account)
    new_id = _field(rotated, "key_id")
    assert f"revoked {new_id}" in _ok("keys", "revoke", new_id, "--account", account)
    refused = runner.invoke(app, ["keys", "rotate", new_id, "--account", account])
    assert refused.exit_code == 1
    assert "api_key.inactive" in refused.output


def test_f5_suspend_remedy_reinstate_and_the_dry_run() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _ok("numbers", "add", "+33123456789", "--account", account)
    out = _ok("accounts", "suspend", account, "--rule", "F1", "--reason", "short calls")
    assert f"{account} suspended (F1) until" in out
    refused = runner.invoke(app, ["policy", "check", account, "--to", "+33612345678"])
    assert refused.exit_code == 1, refused.output
    assert "fair_use.suspended" in refused.output
    assert "remedied" in _ok("accounts", "remedy", account)
    assert "0 action(s)" in _ok("lifecycle", "run")
    assert "reinstated" in _ok("accounts", "reinstate", account)
    assert "fair_use     F5       ok" in _ok("policy", "check", account, "--to", "+33612345678")
    bad = runner.invoke(app, ["accounts", "suspend", account, "--rule", "Z9", "--reason", "x"])
    assert bad.exit_code == 1


def test_v15_export_and_purge(tmp_path: Path) -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    target = tmp_path / "export.json"
    assert f"wrote {target}" in _ok("accounts", "export", account, "--output", str(target))
    assert json.loads(target.read_text())["account"]["id"] == account
    refused = runner.invoke(app, ["accounts", "purge", account])
    assert refused.exit_code == 1
    assert "retention.account_open [V15]" in refused.output
    _ok("accounts", "close", account)
    held = runner.invoke(app, ["accounts", "purge", account])
    assert "retention.hold" in held.output
    assert f"{account}  purged after retention  [V15]" in _ok(
        "lifecycle", "run", "--now", "2099-01-01T00:00:00+00:00"
    )


def test_n1_n11_n13_number_commands() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    added = _ok("numbers", "add", "+33491234567", "--account", account)
    assert "notice (N1):" in added
    assert "Marseille" in added
    declared = _ok(
        "numbers", "declare", "+33491234567", "--account", account,
        "--use", "sales", "--end-user", "Acme",
    )  # fmt: skip
    assert "declared: sales / Acme" in declared
    assert "inbound_only=True" in _ok("numbers", "set", "+33491234567", "--inbound-only")
    refused = runner.invoke(
        app, ["policy", "check", account, "--to", "+33142345678", "--caller-id", "+33491234567"]
    )
    assert refused.exit_code == 1
    assert "caller_id.inbound_only" in refused.output


def test_n1_an_account_gets_its_numbers_at_sign_up() -> None:
    out = _ok("accounts", "create", "Acme", "--number", "+33612345678", "--number", "+14155550100")
    account = _field(out, "account_id")
    assert re.findall(r"^number: (\S+)$", out, re.MULTILINE) == ["+33612345678", "+14155550100"]
    assert "notice (N1): +14155550100 is a number of US, outside FR" in out
    assert "+33612345678" in _ok("numbers", "list", "--account", account)


def test_n4_n5_ports_complete_and_out() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _, sessions = open_database(Settings().resolved_database_url)
    with transaction(sessions) as session:
        port_id = porting.create(session, account, ["+33123456700"], now=datetime.now(UTC)).id
    refused = runner.invoke(app, ["ports", "complete", port_id])
    assert refused.exit_code == 1
    assert "port_in.wrong_state" in refused.output  # a draft is not completed
    with transaction(sessions) as session:
        row = porting.get(session, None, port_id)
        row.state = "scheduled"  # the file went through (the API test covers those steps)
    assert "completed: +33123456700" in _ok("ports", "complete", port_id)
    assert "scheduled" not in _ok("ports", "list", "--account", account)
    short = runner.invoke(
        app, ["ports", "out", "+33123456700", "--period-end", "2099-01-10",
              "--requested-on", "2099-01-01", "--address-proven"],
    )  # fmt: skip
    assert short.exit_code == 1
    assert "port_out.notice_too_short [N5]" in short.output
    done = _ok(
        "ports", "out", "+33123456700", "--period-end", "2099-03-01",
        "--requested-on", "2099-01-01", "--address-proven",
    )  # fmt: skip
    assert "ported out" in done
    assert "+33123456700" not in _ok("numbers", "list", "--account", account)


def test_n14_renumber_with_notice() -> None:
    account = _field(_ok("accounts", "create", "Acme", "--number", "+33123456789"), "account_id")
    out = _ok("numbers", "renumber", "+33123456789", "+33123456790", "--reason", "zone change")
    assert "+33123456789 -> +33123456790: +33123456789 stops" in out
    assert "+33123456790" in _ok("numbers", "list", "--account", account)
    ran = _ok("lifecycle", "run", "--now", "2099-01-01T00:00:00+00:00")
    assert "+33123456789  released after its renumbering notice  [N14]" in ran
    assert "+33123456789" not in _ok("numbers", "list", "--account", account)


def test_n3_kyc_review_activates_numbers() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    _, sessions = open_database(Settings().resolved_database_url)
    settings = Settings()
    with transaction(sessions) as session:
        numbers.add_number(session, account, "+33123456789", now=datetime.now(UTC), activated=False)
        for kind, country in (
            ("company_registration", None),
            ("identity", None),
            ("proof_of_address", "FR"),
        ):
            kyc.upload(
                session, account, kind, b"scan", country=country, now=datetime.now(UTC),
                documents_dir=settings.data_dir / "documents", key=bytes(32),
            )  # fmt: skip
    listed = _ok("kyc", "list", account)
    assert "+33123456789  waiting: kyc.documents_pending" in listed
    _ok("kyc", "approve", account, "company_registration")
    _ok("kyc", "approve", account, "identity")
    assert "+33123456789 activated" in _ok("kyc", "approve", account, "proof_of_address")
    rejected = _ok("kyc", "reject", account, "identity", "--note", "blurred")
    assert "identity rejected" in rejected


def test_n1_the_operator_stocks_and_assigns_numbers() -> None:
    account = _field(_ok("accounts", "create", "Acme"), "account_id")
    assert "2 number(s) added" in _ok("numbers", "stock", "+33491234500", "+14155550100")
    assigned = _ok("numbers", "assign", "--account", account, "--country", "US")
    assert "+14155550100 -> " in assigned
    assert "notice (N1): +14155550100 is a number of US, outside FR" in assigned
    empty = runner.invoke(app, ["numbers", "assign", "--account", account, "--country", "US"])
    assert empty.exit_code == 1
    assert "inventory.empty" in empty.output


def test_accounts_create_prints_the_auth_token_and_rotate_replaces_it() -> None:
    created = _ok("accounts", "create", "Acme")
    account, token = _field(created, "account_id"), _field(created, "auth_token")
    assert len(token) == 32
    rotated = _ok("accounts", "auth-token", "rotate", account)
    assert _field(rotated, "auth_token") not in ("", token)
    assert "old token stops at" in rotated
