"""Compiled or pure (dialtone/native.py): a stale or partial build is never used, and the
modules come from where the decision says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dialtone
from dialtone import native
from dialtone.native import EXTENSION, inspect

ROOT = Path(__file__).resolve().parents[1]


def _tree(root: Path, *, compiled: bool = True) -> Path:
    """A dialtone package directory with one source per package (and errors.py, kept
    pure), each compiled when ``compiled``."""
    for package in native.PACKAGES:
        (root / package).mkdir(parents=True)
        source = root / package / "mod.py"
        source.write_text("x = 1\n")
        os.utime(source, (1_000, 1_000))
        if compiled:
            (root / package / f"mod{EXTENSION}").write_bytes(b"")
    (root / "core" / "errors.py").write_text("class E(Exception): ...\n")
    if compiled:
        stamp = root / native.STAMP
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text("")
        os.utime(stamp, (2_000, 2_000))
    return root


def test_a_fresh_build_is_used(tmp_path: Path) -> None:
    found = inspect(_tree(tmp_path), environ={})
    assert found.compiled, found


def test_nothing_compiled_is_pure(tmp_path: Path) -> None:
    found = inspect(_tree(tmp_path, compiled=False), environ={})
    assert (found.mode, found.why.split(" ")[0]) == ("pure", "not")


@pytest.mark.parametrize(
    ("source_mtime", "mode"),
    [(1_999, "compiled"), (2_000, "compiled"), (2_001, "pure")],
    ids=["source older", "same second", "source newer"],
)
def test_a_source_changed_after_the_build_sends_everything_to_source(
    tmp_path: Path, source_mtime: int, mode: str
) -> None:
    root = _tree(tmp_path)
    os.utime(root / "sip" / "mod.py", (source_mtime, source_mtime))
    found = inspect(root, environ={})
    assert found.mode == mode, found
    if mode == "pure":
        assert "sip/mod.py changed" in found.why


def test_a_new_source_without_its_compiled_module_is_pure(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "call" / "new.py").write_text("y = 2\n")
    found = inspect(root, environ={})
    assert found.mode == "pure"
    assert "call/new.py has no compiled module" in found.why


def test_a_compiled_module_whose_source_is_gone_is_pure(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "rtp" / "mod.py").unlink()
    found = inspect(root, environ={})
    assert found.mode == "pure"
    assert "has no source" in found.why


def test_a_build_without_its_stamp_is_not_used(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / native.STAMP).unlink()
    found = inspect(root, environ={})
    assert found.mode == "pure"
    assert "no build stamp" in found.why


def test_the_kept_pure_module_needs_no_compiled_module(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert not (root / "core" / f"errors{EXTENSION}").exists()
    assert inspect(root, environ={}).compiled


@pytest.mark.parametrize(("value", "mode"), [("", "compiled"), ("0", "compiled"), ("1", "pure")])
def test_dialtone_pure_asks_for_the_sources(tmp_path: Path, value: str, mode: str) -> None:
    assert inspect(_tree(tmp_path), environ={"DIALTONE_PURE": value}).mode == mode


def test_this_process_imports_from_where_the_decision_says() -> None:
    from dialtone.sip import message

    loaded = Path(str(message.__file__))
    if dialtone.BUILD.compiled:
        assert loaded.name.endswith(EXTENSION), loaded
    else:
        assert loaded.suffix == ".py", loaded


@pytest.mark.skipif(not dialtone.BUILD.compiled, reason="no fresh compiled build here")
def test_dialtone_pure_runs_the_sources_beside_a_fresh_build() -> None:
    probe = (
        "import dialtone, dialtone.sip.message as m, dialtone.call.call as c;"
        "print(dialtone.BUILD.mode, m.__file__, c.__file__)"
    )
    for value, mode, suffix in (("1", "pure", ".py"), ("", "compiled", EXTENSION)):
        done = subprocess.run(
            [sys.executable, "-c", probe],
            env={**os.environ, "DIALTONE_PURE": value},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        said, *files = done.stdout.split()
        assert said == mode
        assert all(f.endswith(suffix) for f in files), files


@pytest.mark.parametrize(("argv", "code"), [([], 0), (["status"], 0), (["bogus"], 2)])
def test_the_command_line_says_the_mode_or_refuses_an_unknown_command(
    argv: list[str], code: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dialtone.native", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == code, done.stderr
    if code == 0:
        assert done.stdout.split(":")[0] in ("compiled", "pure")
    else:
        assert "use build, clean or status" in done.stderr
        assert done.stdout == ""


@pytest.mark.skipif(
    os.environ.get("CI") != "true"
    or shutil.which("cc") is None
    or bool(os.environ.get("DIALTONE_PURE")),
    reason="only where CI=true promises a C compiler and asks for the compiled build",
)
def test_under_ci_the_build_is_compiled() -> None:
    """make falls back to plain Python when the compile fails, which is right on a
    machine without a compiler but would hide a package that stopped compiling: under
    CI, where the compiler is there, the tests run compiled or fail."""
    assert dialtone.BUILD.compiled, f"{dialtone.BUILD.why} (see build/native/log)"


def test_a_build_removes_what_it_no_longer_compiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module compiled once and now kept pure (or gone) would make every later build
    look stale; the build deletes it before compiling."""
    root = _tree(tmp_path / "src" / "dialtone")  # its work files go to tmp_path/build
    leftover = root / "core" / f"gone{EXTENSION}"
    leftover.write_bytes(b"")
    kept = root / "core" / f"mod{EXTENSION}"
    monkeypatch.setattr(native.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))
    assert native.build_in_place(root) == 1
    assert not leftover.exists()
    assert kept.exists()
