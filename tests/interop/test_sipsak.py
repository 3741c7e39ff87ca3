"""sipsak, the usual SIP monitoring probe, against the running server over loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Platform, serving

pytestmark = pytest.mark.interop

SIPSAK = shutil.which("sipsak")


def require_sipsak() -> None:
    """Skip without sipsak, except in CI (``CI=true``), where its absence is a failure."""
    if SIPSAK is not None:
        return
    why = "sipsak (Debian package sipsak) is not installed; .ci/run installs it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Platform]:
    require_sipsak()
    with serving(tmp_path, provisioned=False) as running:
        yield running


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipsak_options_probe_gets_200(server: Platform, transport: str) -> None:
    # sipsak's default OPTIONS carries `Accept: text/plain`; a 200 to OPTIONS has no body,
    # so that Accept cannot be unmet (RFC 3261 §11.2). Exit 0 means a 200 came back.
    assert SIPSAK is not None
    args = [SIPSAK, "-vv", "-s", f"sip:ping@127.0.0.1:{server.sip_port}"]
    # -H: the address sipsak puts in its Via, so the answer comes back over loopback.
    args += ["-H", "127.0.0.1"]
    if transport == "tcp":
        args += ["-E", "tcp"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- server ---\n{server.log()}"
    assert "SIP/2.0 200" in done.stdout
