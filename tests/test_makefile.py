"""`make serve` on a fresh clone says what it does while it builds the environment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_18_the_first_make_serve_says_what_it_is_doing(tmp_path: Path) -> None:
    # A clone without .venv, dry run: the commands make would run, in order.
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).symlink_to(ROOT / name)
    done = subprocess.run(
        ["make", "-n", "serve"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    steps = done.stdout.splitlines()
    building = next(i for i, step in enumerate(steps) if " -m venv " in step)
    said = [step for step in steps[:building] if step.startswith("echo ")]
    assert any("setting up .venv" in step for step in said), steps
    assert any("first time" in step for step in said), steps
    pip = next(step for step in steps if " install " in step)
    # pip shows what it downloads
    assert "--quiet" not in pip, pip
    assert " -q" not in pip, pip
    serving = next(i for i, step in enumerate(steps) if step.endswith("dialtone serve"))
    assert steps[serving - 1].startswith("echo "), steps
