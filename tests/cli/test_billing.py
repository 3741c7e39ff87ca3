"""``dialtone billing`` and ``dialtone sla`` end to end on SQLite (TERMS section B, S1)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from dialtone.cli import app
from tests.database import migrated_data_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    migrated_data_dir(tmp_path / "var")  # the schema a first `dialtone migrate` makes
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


def _sepa_invoice(tmp_path: Path, *, export: bool = True) -> str:
    """A SEPA customer whose first invoice (issued 2 March, due 5 March) is in the file
    of 5 March (``export``); the invoice's id."""
    account = re.search(r"account_id: (\S+)", _ok("accounts", "create", "Acme"))
    assert account is not None
    acct = account.group(1)
    _ok("billing", "subscribe", acct, "--plan", "essential", "--now", "2026-03-02T10:00:00Z")
    _ok("billing", "mandate", acct, "--iban", "FR1420041010050500013M02606", "--bic",
        "PSSTFRPPPAR", "--mandate-id", "MD-1", "--signed-on", "2026-01-05")  # fmt: skip
    _ok("billing", "run", "--now", "2026-03-02T10:00:00Z")
    if export:
        out = _ok("billing", "sepa-export", str(tmp_path / "d.xml"), "--day", "2026-03-05",
                  "--now", "2026-03-03T09:00:00Z")  # fmt: skip
        assert "1 debit(s)" in out
    return _ok("billing", "invoices", acct).split()[0]


def test_a_sepa_return_5_days_late_makes_the_retry_due_in_the_next_file(tmp_path: Path) -> None:
    invoice_id = _sepa_invoice(tmp_path)
    # The debit was presented on 5 March; its return arrives on the 10th. B10: the retry
    # is due 72 h after the debit (8 March), so the file of the 10th carries it.
    _ok("billing", "payment", invoice_id, "rejected", "--now", "2026-03-10T09:00:00Z")
    out = _ok("billing", "sepa-export", str(tmp_path / "r.xml"), "--day", "2026-03-10",
              "--now", "2026-03-10T09:30:00Z")  # fmt: skip
    assert "1 debit(s)" in out
    root = ElementTree.parse(tmp_path / "r.xml").getroot()
    assert [e.text for e in root.iter() if e.tag.endswith("InstdAmt")] == ["32.80"]  # + B8 fee


@pytest.mark.parametrize(
    ("day", "debits"),
    [("2026-03-07", False), ("2026-03-08", True)],  # 71:59:59 falls on the 7th, 72:00:00 the 8th
)
def test_a_result_recorded_with_its_attempt_time(tmp_path: Path, day: str, debits: bool) -> None:
    invoice_id = _sepa_invoice(tmp_path, export=False)
    # A debit presented elsewhere on the 5th whose return is keyed in on the 6th.
    _ok("billing", "payment", invoice_id, "rejected", "--attempted-at", "2026-03-05T00:00:00Z",
        "--now", "2026-03-06T09:00:00Z")  # fmt: skip
    out = _ok("billing", "sepa-export", str(tmp_path / "r.xml"), "--day", day, "--now",
              "2026-03-06T09:30:00Z")  # fmt: skip
    assert ("1 debit(s)" in out) is debits
    assert "payment.invalid" in _fails("billing", "payment", invoice_id, "rejected",
                                       "--attempted-at", "2026-03-09T00:00:00Z", "--now",
                                       "2026-03-08T00:00:00Z")  # fmt: skip


def test_tariff_import_prints_every_bad_line_with_its_column(tmp_path: Path) -> None:
    deck = tmp_path / "deck.csv"
    deck.write_text(
        "prefix,destination,rate_per_minute,connect_fee,increment\n"
        "33,France,0.03,,\n"
        "x1,Nowhere,0.01,,\n"
        "\n"  # a blank line is skipped, and the line numbers stay right
        "44,UK,cheap,,\n"
        "49,Germany,0.02,-1,\n"
        "39,Italy,0.02,,6/0\n"
        "33,France again,0.03,,\n"
        "34,Spain,,,\n"
    )
    result = runner.invoke(app, ["billing", "tariff-import", str(deck)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 7, result.output  # one per bad line, then the summary
    assert lines[-1].startswith("error: tariff.invalid [B5]: the rate deck has 6 errors")
    for expected in (
        "line 3, column 1 (prefix): 'x1' is not 1 to 15 digits",
        "line 5, column 3 (rate_per_minute): 'cheap' is not a number",
        "line 6, column 4 (connect_fee): '-1' must be zero or more",
        "line 7, column 5 (increment):",
        "line 8, column 1 (prefix): 33 is listed twice (first on line 2)",
        "line 9, column 3 (rate_per_minute): empty",
    ):
        assert any(expected in line for line in lines), (expected, result.output)


def test_tariff_import_of_a_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["billing", "tariff-import", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip().splitlines() == [
        f"error: cannot read the rate deck {tmp_path / 'nope.csv'}: no such file"
    ]


def test_invoice_pdf_takes_the_invoice_number_or_its_id(tmp_path: Path) -> None:
    account = re.search(r"account_id: (\S+)", _ok("accounts", "create", "Acme"))
    assert account is not None
    acct = account.group(1)
    _ok("billing", "subscribe", acct, "--plan", "essential", "--now", "2026-03-02T10:00:00Z")
    _ok("billing", "run", "--now", "2026-03-02T10:00:00Z")
    invoice_id, number = _ok("billing", "invoices", acct).split()[:2]
    assert number == "INV-000001"
    for reference in (number, invoice_id, number.lower()):
        pdf = tmp_path / f"{reference}.pdf"
        assert _ok("billing", "invoice-pdf", acct, reference, str(pdf)).strip() == str(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
    out = _fails("billing", "invoice-pdf", acct, "INV-000002", str(tmp_path / "x.pdf"))
    assert "invoice.not_found" in out
    assert "INV-000002" in out
    other = re.search(r"account_id: (\S+)", _ok("accounts", "create", "Other"))
    assert other is not None
    assert "invoice.not_found" in _fails(
        "billing", "invoice-pdf", other.group(1), number, str(tmp_path / "y.pdf")
    )


def test_billing_profile_and_the_operator_settings_reach_the_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALTONE_OPERATOR_LEGAL_NAME", "Dialtone SAS")
    monkeypatch.setenv("DIALTONE_OPERATOR_ADDRESS", "12 rue de la Paix\\n75002 Paris")
    monkeypatch.setenv("DIALTONE_OPERATOR_REGISTRATION", "SIREN 123 456 789 RCS Paris")
    monkeypatch.setenv("DIALTONE_OPERATOR_VAT_NUMBER", "FR40123456824")
    monkeypatch.setenv("DIALTONE_OPERATOR_IBAN", "FR7630006000011234567890189")
    monkeypatch.setenv("DIALTONE_OPERATOR_BIC", "AGRIFRPPXXX")
    account = re.search(r"account_id: (\S+)", _ok("accounts", "create", "Acme"))
    assert account is not None
    acct = account.group(1)
    assert "no billing profile" in _ok("billing", "profile", acct)
    shown = _ok("billing", "profile", acct, "--legal-name", "Acme Industries SARL", "--address",
                "4 avenue des Champs / 69002 Lyon", "--vat", "FR12345678901")  # fmt: skip
    assert shown.splitlines() == [
        "legal_name: Acme Industries SARL",
        "address: 4 avenue des Champs / 69002 Lyon",
        "vat_number: FR12345678901",
    ]
    # One field at a time keeps the others.
    assert "vat_number: FR99345678901" in _ok("billing", "profile", acct, "--vat", "FR99345678901")
    assert "billing.profile_invalid" in _fails("billing", "profile", acct, "--vat", "bogus")
    _ok("billing", "subscribe", acct, "--plan", "essential", "--now", "2026-03-02T10:00:00Z")
    _ok("billing", "run", "--now", "2026-03-02T10:00:00Z")
    pdf = tmp_path / "i.pdf"
    _ok("billing", "invoice-pdf", acct, "INV-000001", str(pdf))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    for mention in (
        "Dialtone SAS", "12 rue de la Paix", "SIREN 123 456 789 RCS Paris",
        "VAT no. FR40123456824", "Acme Industries SARL", "69002 Lyon", "VAT no. FR99345678901",
        "IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPPXXX",
    ):  # fmt: skip
        assert mention in text, (mention, text)
