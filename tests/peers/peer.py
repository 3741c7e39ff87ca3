"""What every outside SMPP peer's wrapper shares: skipping when it is missing (failing
under CI) and the loopback ports they listen on, from the interop tests' port space."""

from __future__ import annotations

import os
import socket

import pytest

from tests.interop.conftest import free_port


def require_peer(present: bool, why: str) -> None:
    """Skip unless ``present``, except in CI (``CI=true``), where a missing peer is a
    failure: .ci/run installed it, so its absence is a broken run (as ``require_sipp``)."""
    if present:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


def free_tcp_port() -> int:
    """A TCP port free on 127.0.0.1, never handed out before in this test run."""
    return free_port(socket.SOCK_STREAM)
