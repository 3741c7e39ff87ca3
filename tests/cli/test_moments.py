"""Every date-time or date option of the CLI needs its offset and a year the platform can
mean: otherwise one line naming the option and a non-zero exit, never a traceback
(issue 13, item 1; the same checks as the API's, dialtone.core.moments)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from dialtone.cli import app
from tests.database import migrated_data_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    # Commands other than serve and migrate refuse to create a database (item 13): the
    # one a first `dialtone migrate` makes is put there (tests/database.py).
    migrated_data_dir(tmp_path / "var")


# (command, option) → the arguments around it; the value goes where "{}" is.
MOMENTS: dict[tuple[str, str], list[str]] = {
    ("numbers deactivate", "--at"): ["+33123456789", "--at", "{}"],
    ("lifecycle run", "--now"): ["--now", "{}"],
    ("billing tariff-import", "--effective-from"): ["deck.csv", "--effective-from", "{}"],
    ("billing subscribe", "--now"): ["--account", "AC0", "--now", "{}"],
    ("billing add", "--now"): ["--account", "AC0", "access", "--now", "{}"],
    ("billing credits-buy", "--now"): ["--account", "AC0", "10", "--now", "{}"],
    ("billing dispute-decide", "--now"): ["DI0", "--now", "{}"],
    ("billing price-change", "--effective"): ["essential", "20", "--effective", "{}"],
    ("billing price-change", "--now"): ["essential", "20", "--now", "{}"],
    ("billing terminate", "--now"): ["--account", "AC0", "--now", "{}"],
    ("billing run", "--now"): ["--now", "{}"],
    ("billing payment", "--now"): ["IN0", "paid", "--now", "{}"],
    ("billing payment", "--attempted-at"): ["IN0", "rejected", "--attempted-at", "{}"],
    ("billing sepa-export", "--now"): ["out.xml", "--now", "{}"],
    ("sla incident", "--start"): ["paris-1", "--start", "{}"],
    ("sla incident", "--end"): ["paris-1", "--start", "2026-11-01T10:00Z", "--end", "{}"],
    ("sla incident", "--now"): ["paris-1", "--start", "2026-11-01T10:00Z", "--now", "{}"],
    ("sla close", "--end"): ["SI0", "--end", "{}"],
    ("sms consents add", "--given-at"): [
        "--account",
        "AC0",
        "--recipient",
        "+33612345678",
        "--source",
        "form",
        "--wording",
        "yes",
        "--given-at",
        "{}",
    ],
}
DAYS: dict[tuple[str, str], list[str]] = {
    ("ports out", "--period-end"): ["+33123456700", "--period-end", "{}"],
    ("ports out", "--requested-on"): [
        "+33123456700", "--period-end", "2099-01-10", "--requested-on", "{}"
    ],
    ("billing mandate", "--signed-on"): [
        "--account", "AC0", "--iban", "FR1420041010050500013M02606", "--bic", "PSSTFRPPPAR",
        "--mandate-id", "MD-1", "--signed-on", "{}",
    ],
    ("billing sepa-export", "--day"): ["out.xml", "--day", "{}"],
}  # fmt: skip
MONTHS: dict[tuple[str, str], list[str]] = {
    ("fair-use", "--month"): ["--account", "AC0", "--month", "{}"],
}

# The boundaries of each check are tested once, in tests/core/test_moments.py; here each
# option meets one case of each kind of refusal.
BAD_MOMENTS = [
    "2026-12-06T10:00:00",  # no offset
    "soon",
    "0001-01-01T00:00:00+01:00",
    "2200-01-01T00:00:00Z",
]
BAD_DAYS = ["0001-01-01", "2200-01-01", "06/12/2026"]
BAD_MONTHS = ["9999-12", "2026-13"]

# Help text that announces a date or a moment (not "ISO 3166 country").
_DATED = re.compile(r"\bISO\b(?! (3166|country))|YYYY-MM|as of this moment", re.IGNORECASE)


def _options(command: Any, path: list[str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for name, sub in getattr(command, "commands", {}).items():
        found |= _options(sub, [*path, name])
    for param in getattr(command, "params", []):
        help_text = getattr(param, "help", None) or ""
        if param.opts[0].startswith("--") and _DATED.search(help_text):
            found.add((" ".join(path), param.opts[0]))
    return found


def test_the_tables_cover_every_dated_option() -> None:
    """A new date option must join a table (and so this test's cases)."""
    assert _options(typer.main.get_command(app), []) == set(MOMENTS) | set(DAYS) | set(MONTHS)


CASES = [
    *((case, MOMENTS[case], value) for case in MOMENTS for value in BAD_MOMENTS),
    *((case, DAYS[case], value) for case in DAYS for value in BAD_DAYS),
    *((case, MONTHS[case], value) for case in MONTHS for value in BAD_MONTHS),
]


@pytest.mark.parametrize(
    ("case", "template", "value"), CASES, ids=[f"{c[0]} {c[1]} {v}" for c, _, v in CASES]
)
def test_a_bad_date_is_one_line_naming_the_option(
    case: tuple[str, str], template: list[str], value: str
) -> None:
    args = [*case[0].split(), *(value if a == "{}" else a for a in template)]
    result = runner.invoke(app, args)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {case[1]}: "), lines


def test_a_good_moment_still_runs() -> None:
    result = runner.invoke(app, ["lifecycle", "run", "--now", "2026-12-06T10:00:00+01:00"])
    assert result.exit_code == 0, result.output
