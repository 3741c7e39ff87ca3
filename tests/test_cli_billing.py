"""``dialtone billing`` and ``dialtone sla`` end to end on SQLite (TERMS section B, S1)."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from dialtone.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    assert runner.invoke(app, ["migrate"]).exit_code == 0  # as `dialtone serve` would
    monkeypatch.setenv("DIALTONE_SEPA_CREDITOR_NAME", "Dialtone SAS")
    monkeypatch.setenv("DIALTONE_SEPA_CREDITOR_IBAN", "DE89370400440532013000")
    monkeypatch.setenv("DIALTONE_SEPA_CREDITOR_BIC", "COBADEFFXXX")
    monkeypatch.setenv("DIALTONE_SEPA_CREDITOR_ID", "DE98ZZZ09999999999")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    return result.output


def test_a_sepa_customer_from_subscription_to_suspension(tmp_path: Path) -> None:
    account = re.search(r"account_id: (\S+)", _ok("accounts", "create", "Acme"))
    assert account is not None
    acct = account.group(1)
    deck = tmp_path / "deck.csv"
    deck.write_text("prefix,destination,rate_per_minute\n33,France,0.03\n")
    assert "1 prefixes" in _ok("billing", "tariff-import", str(deck), "--effective-from",
                               "2026-01-01T00:00:00Z")  # fmt: skip
    _ok("billing", "subscribe", acct, "--plan", "essential", "--now", "2026-03-02T10:00:00Z")
    _ok("billing", "mandate", acct, "--iban", "FR14 2004 1010 0505 0001 3M02 606",
        "--bic", "PSSTFRPPPAR", "--mandate-id", "MD-1", "--signed-on", "2026-01-05")  # fmt: skip
    issued = _ok("billing", "run", "--now", "2026-03-02T10:00:00Z")
    number = re.search(r"issued (INV-\d+)", issued)
    assert number is not None
    invoice_id = _ok("billing", "invoices", acct).split()[0]
    # B7: the debit goes out on the due date, 3 days after the invoice (the notice).
    early = _ok("billing", "sepa-export", str(tmp_path / "a.xml"), "--day", "2026-03-04",
                "--now", "2026-03-03T09:00:00Z")  # fmt: skip
    assert "nothing to collect" in early
    _ok("billing", "sepa-export", str(tmp_path / "d.xml"), "--day", "2026-03-05", "--now",
        "2026-03-03T09:00:00Z")  # fmt: skip
    root = ElementTree.parse(tmp_path / "d.xml").getroot()
    assert [e.text for e in root.iter() if e.tag.endswith("InstdAmt")] == ["22.80"]
    pdf = tmp_path / "i.pdf"
    _ok("billing", "invoice-pdf", acct, invoice_id, str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
    for hours in ("2026-03-05T10:00:00Z", "2026-03-08T10:00:00Z", "2026-03-11T10:00:00Z"):
        _ok("billing", "payment", invoice_id, "rejected", "--now", hours)
    out = _fails("billing", "payment", invoice_id, "bogus")
    assert "payment.invalid" in out
    # Third rejection: suspended (B10); the audit log says so.
    assert "billing.suspended" in _ok("audit", "list", "--account", acct)


def test_sla_incidents_from_the_command_line() -> None:
    out = _ok("sla", "incident", "paris-1", "--start", "2026-11-01T10:00:00Z", "--end",
              "2026-11-01T10:31:00Z", "--now", "2026-11-02T00:00:00Z")  # fmt: skip
    incident = out.split()[0]
    assert "paris-1" in _ok("sla", "incidents")
    assert "sla.incident_closed" in _fails("sla", "close", incident)
