"""`make serve` starts the platform on its defaults (ports overridden) and takes a call."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from .conftest import Platform, provision, server_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.interop


@pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed")
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_answers_a_sipp_call(tmp_path: Path) -> None:
    env = server_env(tmp_path)
    sip_port, http_port = int(env["DIALTONE_SIP_PORT"]), int(env["DIALTONE_HTTP_PORT"])
    log = (tmp_path / "make-serve.log").open("w+")
    process = subprocess.Popen(
        ["make", "-s", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120  # the first run may build the venv
        while time.monotonic() < deadline:
            assert process.poll() is None, Path(log.name).read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("make serve did not come up:\n" + Path(log.name).read_text())
        banner = Path(log.name).read_text()
        assert f"SIP udp:127.0.0.1:{sip_port}" in banner
        assert f"HTTP http://127.0.0.1:{http_port}" in banner

        platform = Platform(
            env=env,
            data_dir=tmp_path / "var",
            sip_port=sip_port,
            http_port=http_port,
            process=process,  # type: ignore[arg-type]
            log_path=Path(log.name),
        )
        provision(platform)
        done = platform.sipp("uac_pcap.xml", "33123456789", extra=("-d", "1000"))
        assert done.returncode == 0, done.stdout + done.stderr + platform.log()
        with platform.http() as http:
            calls = http.get("/v1/calls").json()["calls"]
        assert [c["status"] for c in calls] == ["completed"]
    finally:
        # Ctrl-C reaches dialtone (make's child); make then exits with dialtone's status.
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in children or [str(process.pid)]:
            os.kill(int(pid), signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        log.close()
    assert code == 0, Path(log.name).read_text()
