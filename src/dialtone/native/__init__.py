"""Compiled or pure: the sans-I/O packages may run as C extensions built by mypyc.

``make`` compiles :data:`PACKAGES` in place (``python -m dialtone.native build``) where a C
compiler exists; the Python sources stay the reference and always work alone. At
``import dialtone`` this module decides, once, which of the two every ``dialtone`` module
comes from:

- compiled, when every source of those packages has its extension module, none is newer
  than the start of the last successful build, and no extension module has lost its
  source;
- pure, when ``DIALTONE_PURE=1`` asks for it, when nothing is compiled, or when the build
  is stale. A stale build is never half used: mypyc links the modules of one build to each
  other natively, so a module imported from its newer source beside the others' old
  compiled code would run two versions of the same classes. One stale module sends every
  module to its source.

Only this module and ``dialtone/__init__.py`` are imported before the decision; neither is
compiled.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# The packages with no I/O (mypy --strict), in the order their modules depend: listed in
# packages.txt, which the Makefile reads too.
PACKAGES = tuple(
    word
    for line in (Path(__file__).parent / "packages.txt").read_text().splitlines()
    if not line.startswith("#")
    for word in line.split()
)
# Modules left to the interpreter: exception classes whose subclasses override a class
# attribute (``status = 404``) lose the default under mypyc, and raising is no hot path;
# smpp/multipart's generic dataclasses fail at import once compiled ("attribute
# '__dict__' of 'type' objects is not writable"), and long messages are no hot path.
KEPT_PURE = frozenset({"core/errors.py", "smpp/multipart.py"})
PURE_VARIABLE = "DIALTONE_PURE"

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = importlib.machinery.EXTENSION_SUFFIXES[0]
# Written after a successful build, dated when the build began: a source newer than that
# may not be in the build. (The compiled files' own dates do not tell: the build copies
# an unchanged module's old file.)
STAMP = "native/build-stamp"


@dataclass(frozen=True)
class Build:
    """What the import of ``dialtone`` found: ``mode`` is ``compiled`` or ``pure``,
    ``why`` says what decided it (for the server's start-up log and the benchmarks)."""

    mode: str
    why: str

    @property
    def compiled(self) -> bool:
        return self.mode == "compiled"


def sources(root: Path = ROOT) -> list[Path]:
    """The Python files the build compiles, relative to ``root``."""
    found: list[Path] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if relative.as_posix() not in KEPT_PURE:
                found.append(relative)
    return found


def inspect(root: Path = ROOT, environ: dict[str, str] | os._Environ[str] = os.environ) -> Build:
    """Decide compiled or pure from the files under ``root`` (see the module's docstring)."""
    if environ.get(PURE_VARIABLE, "") not in ("", "0"):
        return Build("pure", f"{PURE_VARIABLE} is set")
    wanted = sources(root)
    extensions = {path.relative_to(root) for path in _extensions(root)}
    if not extensions:
        return Build("pure", "not compiled (make compiles where a C compiler exists)")
    for source in wanted:
        if source.with_name(source.stem + EXTENSION) not in extensions:
            return Build("pure", f"stale build: {source} has no compiled module")
    stamp = root / STAMP
    if not stamp.is_file():
        return Build("pure", "stale build: no build stamp (an interrupted build?)")
    started = stamp.stat().st_mtime
    for source in wanted:
        if (root / source).stat().st_mtime > started:
            return Build("pure", f"stale build: {source} changed after it was compiled")
    orphans = extensions - {s.with_name(s.stem + EXTENSION) for s in wanted}
    if orphans:
        return Build("pure", f"stale build: {sorted(orphans)[0]} has no source")
    return Build("compiled", f"mypyc build of {len(wanted)} modules")


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds ``dialtone.*`` modules as source only, ahead of the extension finder."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("dialtone.") or not path:
            return None
        source_only = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, source_only).find_spec(fullname)
            if spec is not None and spec.loader is not None:
                return spec
        return None


def install(build: Build) -> None:
    """Make the imports follow ``build``: in pure mode, sources win over extensions."""
    if not build.compiled and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())


def build_in_place(root: Path = ROOT, jobs: int = 2) -> int:
    """Compile :data:`PACKAGES` with mypyc next to their sources; the exit status of the
    compiler (0: built). Its work files go under ``build/`` beside ``src``."""
    src = root.parent
    work = src.parent / "build" / "native"
    work.mkdir(parents=True, exist_ok=True)
    files = [str(Path(root.name) / path) for path in sources(root)]
    # The project's mypy settings name ``src`` relative to the repository; the compiler
    # runs inside ``src`` and needs none of them (``make lint`` does the type checking).
    config = work / "mypy.ini"
    config.write_text("[mypy]\n")
    script = (
        "import sys\n"
        "from setuptools import setup\n"
        "from mypyc.build import mypycify\n"
        "setup(name='dialtone-native', ext_modules=mypycify(sys.argv[1:], opt_level='3',"
        " debug_level='0', multi_file=True),\n"
        f"      script_args=['build_ext', '--inplace', '-j', '{jobs}',"
        f" '--build-temp', {str(work / 'temp')!r}])\n"
    )
    started = time.time()
    (root / STAMP).unlink(missing_ok=True)
    # A module compiled once but no longer built (now kept pure, or its source gone)
    # would make the next build look stale: it goes first.
    wanted = {path.with_suffix("") for path in sources(root)}
    for extension in _extensions(root):
        relative = extension.relative_to(root)
        if relative.parent / relative.name[: -len(EXTENSION)] not in wanted:
            extension.unlink()
    done = subprocess.run(
        [sys.executable, "-c", script, "--config-file", str(config), *files],
        cwd=src,
        env={**os.environ, "MYPY_CACHE_DIR": str(work / "mypy_cache")},
        check=False,
    )
    if done.returncode == 0:
        stamp = root / STAMP
        stamp.write_text(
            "the compiled modules were built from the sources as of this file's date\n"
        )
        os.utime(stamp, (started, started))
    return done.returncode


def remove(root: Path = ROOT) -> list[Path]:
    """Delete the compiled modules (``make clean``): the sources are used again."""
    gone = [path for path in _extensions(root) if path.is_file()]
    gone += list(root.parent.glob(f"*__mypyc{EXTENSION}"))
    gone += [stamp for stamp in [root / STAMP] if stamp.is_file()]
    for path in gone:
        path.unlink()
    return gone


def _extensions(root: Path) -> list[Path]:
    """The compiled module files of :data:`PACKAGES` under ``root``."""
    return [path for package in PACKAGES for path in (root / package).rglob(f"*{EXTENSION}")]
