"""The README's "Try a call" block, run as written against a fresh server, so the README
cannot drift from the software again.

The block runs in a directory of its own that links to the repository's Makefile, .venv,
sources and scenarios, so that `make serve`, `.venv/bin/dialtone` and the relative paths
work as they do for a newcomer in a fresh clone (the database lands in its own ./var).
What is changed, and only that: the ports (the server gets free ones through its
documented DIALTONE_* variables, and the block's 127.0.0.1:5060 and :8000 follow), and the
placeholders the README asks the reader to fill in (`dt_...`, `CA...`) get the first value
of that kind the earlier commands printed.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import time
import wave
from array import array
from pathlib import Path

import httpx
import pytest

from .conftest import require_sipp, server_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.interop

PRINTED = {"dt_": r"dt_[A-Za-z0-9_-]+", "CA": r"\bCA[0-9a-f]{32}\b", "AC": r"\bAC[0-9a-f]{32}\b"}
PLACEHOLDER = re.compile(r"\b(dt_|CA|AC)\.\.\.")
ASSIGNMENT = re.compile(r"^[A-Z_]+=")


def readme_block() -> list[str]:
    """The commands of the first ```sh block under "## Try a call", comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Try a call\n") :]
    block = section[section.index("```sh\n") + len("```sh\n") :]
    block = block[: block.index("```")]
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
    return [line for line in lines if line]


def _fill(line: str, printed: str, sip_port: str, http_port: str) -> str:
    line = line.replace("127.0.0.1:5060", f"127.0.0.1:{sip_port}")
    line = line.replace("127.0.0.1:8000", f"127.0.0.1:{http_port}")

    def value(match: re.Match[str]) -> str:
        found = re.search(PRINTED[match.group(1)], printed)
        assert found, f"nothing printed before {line!r} fills {match.group(0)}:\n{printed}"
        return found.group(0)

    return PLACEHOLDER.sub(value, line)


def _rms(path: Path) -> float:
    with wave.open(str(path)) as wav:
        assert wav.getsampwidth() == 2, wav.getparams()
        samples = array("h", wav.readframes(wav.getnframes()))
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Ctrl-C reaches dialtone (make's child); make then exits with dialtone's status.
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in children or [str(process.pid)]:
        os.kill(int(pid), signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_readme_try_a_call_block_runs_as_written(tmp_path: Path) -> None:
    require_sipp()
    if not (ROOT / ".venv" / "bin" / "dialtone").exists():
        pytest.skip("the block runs .venv/bin/dialtone: `make` builds it")
    work = tmp_path / "clone"
    work.mkdir()
    for name in ("Makefile", "pyproject.toml", ".venv", "src", "tests", "build"):
        if (ROOT / name).exists():  # build/: make's record of the compiled modules
            (work / name).symlink_to(ROOT / name)
    env = server_env(tmp_path)
    del env["DIALTONE_DATA_DIR"]  # the default, ./var, as for a newcomer
    sip_port, http_port = env["DIALTONE_SIP_PORT"], env["DIALTONE_HTTP_PORT"]

    commands = readme_block()
    assert any(c.startswith("sipp ") for c in commands), commands
    assert commands[0].endswith("&"), "the block starts the server in the background"
    log = (tmp_path / "serve.log").open("w")
    server: subprocess.Popen[bytes] | None = None
    printed = ""
    assignments: list[str] = []
    try:
        for command in commands:
            line = _fill(command, printed, sip_port, http_port)
            if line.endswith("&"):
                assert server is None, "one background command: the server"
                server = subprocess.Popen(
                    ["bash", "-c", line.removesuffix("&")],
                    cwd=work,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
                _wait_until_listening(server, http_port, tmp_path / "serve.log")
                continue
            if ASSIGNMENT.match(line):
                assignments.append(line)
                continue
            done = subprocess.run(
                ["bash", "-c", "\n".join([*assignments, line])],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            printed += done.stdout
        recording = work / "call.wav"
        assert recording.is_file(), "the block downloads call.wav"
        assert recording.read_bytes()[:4] == b"RIFF"
        level = _rms(recording)
        assert level > 300, f"the recording is silence (rms {level:.0f})"
        assert list((work / "var" / "recordings").glob("AC*/CA*.wav.sealed")), (
            "the README names var/recordings/<account id>/<call id>.wav.sealed"
        )
    finally:
        if server is not None:
            _stop(server)
        log.close()


def _wait_until_listening(server: subprocess.Popen[bytes], http_port: str, log: Path) -> None:
    deadline = time.monotonic() + 120  # the first run may build the venv
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).is_success:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("make serve did not come up:\n" + log.read_text())
