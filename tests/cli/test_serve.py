"""``dialtone serve`` start-up failures: one line naming the path or the socket and what
to do, a non-zero exit, never a traceback. Each case runs the real command.

The tests run as root here and in CI, where permission bits do not stop a write. A
directory dialtone may not write is therefore made honestly in other ways: ``/sys``,
which the kernel lets nobody (root included) create files in, and a recordings directory
that is a symbolic link into it (recordings on another disk are linked like that).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from dialtone.services.sealing_key import fingerprint
from dialtone.store import sealed
from tests.interop.conftest import server_env, start_platform, stop_platform

UNWRITABLE = Path("/sys/kernel")


def _serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialtone.cli", "serve"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert "│" not in output, output  # a rich traceback's box
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def _taken(kind: int, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", port))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    return sock


Case = Callable[[Path, dict[str, str], ExitStack], tuple[str, ...]]


def _data_dir_is_a_file(tmp: Path, env: dict[str, str], _: ExitStack) -> tuple[str, ...]:
    (tmp / "var").write_text("not a directory")
    return (f"data dir {tmp / 'var'}", "is a file", "DIALTONE_DATA_DIR")


def _data_dir_under_a_file(tmp: Path, env: dict[str, str], _: ExitStack) -> tuple[str, ...]:
    (tmp / "plain").write_text("not a directory")
    env["DIALTONE_DATA_DIR"] = str(tmp / "plain" / "var")
    return (str(tmp / "plain" / "var"), f"{tmp / 'plain'} is a file", "DIALTONE_DATA_DIR")


def _data_dir_unwritable(tmp: Path, env: dict[str, str], _: ExitStack) -> tuple[str, ...]:
    if os.geteuid() == 0:
        env["DIALTONE_DATA_DIR"] = str(UNWRITABLE)
        return (f"data dir {UNWRITABLE}", "cannot write", "DIALTONE_DATA_DIR")
    (tmp / "var").mkdir(mode=0o555)
    return (f"data dir {tmp / 'var'}", "cannot write", "DIALTONE_DATA_DIR")


def _recordings_unwritable(tmp: Path, env: dict[str, str], _: ExitStack) -> tuple[str, ...]:
    (tmp / "var").mkdir()
    (tmp / "var" / "recordings").symlink_to(UNWRITABLE, target_is_directory=True)
    return (f"recordings dir {tmp / 'var' / 'recordings'}", "cannot write")


def _recordings_is_a_file(tmp: Path, env: dict[str, str], _: ExitStack) -> tuple[str, ...]:
    (tmp / "var").mkdir()
    (tmp / "var" / "recordings").write_text("not a directory")
    return (f"recordings dir {tmp / 'var' / 'recordings'}", "is a file")


def _key_dir_unwritable_without_sealing(
    tmp: Path, env: dict[str, str], _: ExitStack
) -> tuple[str, ...]:
    # Recordings are not sealed, but the key seals the trunks' passwords all the same.
    env["DIALTONE_SEAL_RECORDINGS"] = "false"
    (tmp / "var").mkdir()
    (tmp / "var" / "keys").symlink_to(UNWRITABLE, target_is_directory=True)
    return (f"recording key dir {tmp / 'var' / 'keys'}", "cannot write")


MALFORMED_KEY = "c2VjcmV0LWJ1dC1zaG9ydA=="  # base64, of 17 bytes


def _recording_key_malformed(tmp: Path, env: dict[str, str], _: ExitStack) -> tuple[str, ...]:
    env["DIALTONE_RECORDING_KEY"] = MALFORMED_KEY
    return ("bad settings", "recording_key", "32 bytes")


def _http_port_taken(tmp: Path, env: dict[str, str], stack: ExitStack) -> tuple[str, ...]:
    port = int(env["DIALTONE_HTTP_PORT"])
    stack.enter_context(_taken(socket.SOCK_STREAM, port))
    return (f"HTTP tcp:127.0.0.1:{port}", "already in use", "DIALTONE_HTTP_PORT")


def _sip_udp_port_taken(tmp: Path, env: dict[str, str], stack: ExitStack) -> tuple[str, ...]:
    port = int(env["DIALTONE_SIP_PORT"])
    stack.enter_context(_taken(socket.SOCK_DGRAM, port))
    return (f"SIP udp:127.0.0.1:{port}", "already in use", "DIALTONE_SIP_PORT")


def _sip_tcp_port_taken(tmp: Path, env: dict[str, str], stack: ExitStack) -> tuple[str, ...]:
    port = int(env["DIALTONE_SIP_TCP_PORT"])
    stack.enter_context(_taken(socket.SOCK_STREAM, port))
    return (f"SIP tcp:127.0.0.1:{port}", "already in use", "DIALTONE_SIP_TCP_PORT")


def _sip_tls_port_taken(tmp: Path, env: dict[str, str], stack: ExitStack) -> tuple[str, ...]:
    port = int(env["DIALTONE_SIP_TLS_PORT"])
    stack.enter_context(_taken(socket.SOCK_STREAM, port))
    return (f"SIP tls:127.0.0.1:{port}", "already in use", "DIALTONE_SIP_TLS_PORT")


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as held:
        yield held


@pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux /sys")
@pytest.mark.parametrize(
    "case",
    [
        _data_dir_is_a_file,
        _data_dir_under_a_file,
        _data_dir_unwritable,
        _recordings_unwritable,
        _recordings_is_a_file,
        _key_dir_unwritable_without_sealing,
        _recording_key_malformed,
        _http_port_taken,
        _sip_udp_port_taken,
        _sip_tcp_port_taken,
        _sip_tls_port_taken,
    ],
)
def test_14_start_up_failures_are_one_line(tmp_path: Path, stack: ExitStack, case: Case) -> None:
    env = server_env(tmp_path)
    wanted = case(tmp_path, env, stack)
    done = _serve(env, tmp_path)
    line = _one_error_line(done)
    for text in wanted:
        assert text in line, line
    assert MALFORMED_KEY not in done.stdout + done.stderr  # a key is never echoed


def test_14_a_second_serve_with_the_same_worker_id_stops_before_touching_it(
    tmp_path: Path,
) -> None:
    """Crash recovery would otherwise seal, mark interrupted or delete the live
    instance's recordings in progress before the second one failed on its SIP port.
    (Workers with other ids may share the data dir: tests/interop/test_workers.py.)"""
    (tmp_path / "first").mkdir()
    first = start_platform(tmp_path / "first", worker_id="w1")
    try:
        in_progress = first.data_dir / "recordings" / "AC1" / "CA1.wav.tmp"
        in_progress.parent.mkdir(parents=True)
        in_progress.write_bytes(b"being written")
        env = server_env(tmp_path / "second", worker_id="w1")  # other ports, the same dir
        env["DIALTONE_DATA_DIR"] = str(first.data_dir)
        line = _one_error_line(_serve(env, tmp_path))
        assert line == (
            f"error: another dialtone serve is worker w1 on {first.data_dir} "
            f"(pid {first.process.pid}): stop it, or give this one another "
            "DIALTONE_WORKER_ID (or DIALTONE_DATA_DIR)"
        )
        assert in_progress.read_bytes() == b"being written"
        assert first.process.poll() is None
    finally:
        assert stop_platform(first) == 0, first.log()
    # The lock goes with the process: a serve after it starts (and recovers).
    again = start_platform(tmp_path / "first", worker_id="w1")
    try:
        assert not in_progress.exists()
    finally:
        assert stop_platform(again) == 0, again.log()


def test_19_an_unreachable_redis_stops_serve_with_one_line_and_status_2(tmp_path: Path) -> None:
    """Redis configured and not answering (issue 19): one line with the URL without its
    password and what failed, status 2, nothing bound."""
    env = server_env(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    env["DIALTONE_REDIS_URL"] = f"redis://:s3cret@127.0.0.1:{port}/0"
    env["DIALTONE_REDIS_CONNECT_TIMEOUT_MS"] = "500"
    done = _serve(env, tmp_path)
    line = _one_error_line(done)
    assert done.returncode == 2
    assert line.startswith(f"error: redis redis://:***@127.0.0.1:{port}/0: cannot reach it (")
    assert "s3cret" not in done.stdout + done.stderr


def test_19_a_worker_with_another_sealing_key_is_refused(tmp_path: Path) -> None:
    """Workers on several machines share a database and are each given the sealing key:
    one started with another key (here its own data dir's generated one) would seal what
    the others cannot open. It stops with one line naming both fingerprints, never the
    keys; a worker given the same key starts."""
    (tmp_path / "first").mkdir()
    first = start_platform(tmp_path / "first", worker_id="w1")
    database_url = f"sqlite:///{first.data_dir / 'dialtone.db'}"
    key = sealed.key_for(None, first.data_dir / "keys" / "recordings.key")
    try:
        env = server_env(tmp_path / "second", worker_id="w2")
        env["DIALTONE_DATABASE_URL"] = database_url
        done = _serve(env, tmp_path)
        line = _one_error_line(done)
        other = sealed.key_for(None, tmp_path / "second" / "var" / "keys" / "recordings.key")
        assert line == (
            f"error: this worker's sealing key (fingerprint {fingerprint(other)}) is not the "
            f"one this database's recordings and trunk passwords are sealed with "
            f"(fingerprint {fingerprint(key)}): give every worker the same recording_key "
            "(DIALTONE_RECORDING_KEY), or start it on the data dir whose key file made them"
        )
        second = start_platform(
            tmp_path / "third",
            worker_id="w3",
            recording_key=base64.b64encode(key).decode(),
            database_url=database_url,
        )
        assert stop_platform(second) == 0, second.log()
    finally:
        assert stop_platform(first) == 0, first.log()
