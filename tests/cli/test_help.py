"""The ``dialtone`` command speaks one language: every command's help, the account passed
the same way everywhere, choices listed, list commands with ``--json``, ``--version``."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import typer
import typer.rich_utils
from typer.core import TyperGroup
from typer.testing import CliRunner

from dialtone import __version__
from dialtone.cli import accounts, app, billing
from dialtone.policy.lifecycle import PLANS
from dialtone.rating.plans import DEFAULT_CATALOGUE

runner = CliRunner()
# Lines of help text end a sentence, a clause or a parenthesis; a line that ends on a
# word and is followed by one starting in lower case is a sentence broken over lines.
ENDS = (".", ":", ";", "!", "?", ")", "]", ",")
BOX = "│╭╮╰╯─ "


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALTONE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def _leaves() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)
    found = []
    for path in _commands(root):
        command = root
        for name in path:
            assert isinstance(command, TyperGroup)
            command = command.commands[name]
        if not isinstance(command, TyperGroup):
            found.append((path, command))
    return found


PATHS = [path for path in _commands(typer.main.get_command(app))]


def _help(monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], width: int) -> str:
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", width)
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "dialtone")
def test_18_help_has_no_rest_markup_and_no_sentence_broken_over_lines(
    monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...]
) -> None:
    # So wide that the terminal wraps nothing: every break left is in the text itself.
    wide = _help(monkeypatch, path, 300)
    narrow = _help(monkeypatch, path, 80)
    for output in (wide, narrow):
        assert "``" not in output, output
        assert ":option:" not in output, output
        assert ":func:" not in output, output
    # A panel's top and bottom border (its title) end what came before.
    lines = [
        "" if line.lstrip().startswith(("╭", "╰")) else line.strip(BOX)
        for line in wide.splitlines()
    ]
    for before, after in itertools.pairwise(lines):
        broken = before and not before.endswith(ENDS) and after[:1].islower()
        assert not broken, f"a sentence is broken over lines:\n{before}\n{after}\n\n{wide}"


def test_18_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"dialtone {__version__}"


def test_18_serve_help_names_the_main_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _help(monkeypatch, ("serve",), 300)
    for name in (
        "DIALTONE_DATA_DIR",
        "DIALTONE_SIP_HOST",
        "DIALTONE_SIP_PORT",
        "DIALTONE_SIP_TCP_PORT",
        "DIALTONE_SIP_TLS_PORT",
        "DIALTONE_HTTP_PORT",
        "DIALTONE_RTP_PORT_MIN",
        "DIALTONE_CONFIG",
        "dialtone.toml",
    ):
        assert name in shown, shown


@pytest.mark.parametrize(
    ("path", "choices"),
    [
        (("accounts", "set"), ("personal", "professional", "business", "enterprise")),
        (("billing", "subscribe"), ("essential", "unlimited", "prepaid", "smart", "trial")),
    ],
)
def test_18_plan_choices_are_listed(
    monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], choices: tuple[str, ...]
) -> None:
    shown = _help(monkeypatch, path, 300)
    line = next(line for line in shown.splitlines() if "--plan" in line)
    for choice in choices:
        assert choice in line, line
    wrong = runner.invoke(app, [*path, "--account", "AC" + "0" * 32, "--plan", "gold"])
    assert wrong.exit_code == 2, wrong.output
    assert "gold" in wrong.output
    assert choices[0] in wrong.output


def test_18_the_account_is_always_the_account_option() -> None:
    taking = []
    for path, command in _leaves():
        for param in command.params:
            if param.name in ("account", "account_id"):
                assert param.param_type_name == "option", f"{' '.join(path)}: {param.name}"
                assert param.opts == ["--account"], f"{' '.join(path)}: {param.opts}"
                taking.append(path)
    assert len(taking) > 30, taking


def test_18_list_commands_take_json() -> None:
    lists = [path for path, _ in _leaves() if path[-1] in ("list", "invoices", "incidents")]
    assert len(lists) >= 12, lists
    for path, command in _leaves():
        if path in lists:
            assert any("--json" in getattr(p, "opts", []) for p in command.params), path


def test_18_json_output_and_the_old_positional_account() -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    made = runner.invoke(app, ["accounts", "create", "Acme"])
    assert made.exit_code == 0, made.output
    account = re.search(r"account_id: (\S+)", made.output)
    assert account
    created = runner.invoke(
        app, ["users", "create", "--account", account.group(1), "--name", "Alice"]
    )
    assert created.exit_code == 0, created.output
    for args in (
        ["accounts", "list", "--json"],
        ["users", "list", "--account", account.group(1), "--json"],
        # The form before --account everywhere is still read: an account id is unmistakable.
        ["users", "list", account.group(1), "--json"],
        ["keys", "list", "--account", account.group(1), "--json"],
        ["billing", "invoices", "--account", account.group(1), "--json"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        rows = json.loads(result.output)
        assert isinstance(rows, list), result.output
        assert args[0] == "billing" or rows, args
        for row in rows:
            assert not {"key_hash", "ha1_md5", "ha1_sha256", "password"} & set(row), row


def test_18_the_listed_plans_are_the_real_ones() -> None:
    assert get_args(accounts.Plan) == PLANS
    assert get_args(billing.CataloguePlan) == tuple(DEFAULT_CATALOGUE)
