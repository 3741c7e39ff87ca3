"""What ``dialtone serve`` needs before it serves, checked so that a failure is one line
naming the path or the socket and what to do, never a traceback."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from dialtone.settings import Settings

from .tls import ensure_certificate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


class StartupError(Exception):
    """The platform cannot start; the message is one line for the operator."""


class MediaEngineUnreachable(StartupError):
    """``media_engine = "rtpengine"`` and rtpengine does not answer a ping (exit 2)."""


def prepare_directories(settings: Settings) -> None:
    """Create the data dir and the directories under it, and prove each writable by
    writing a file there: permission bits alone say nothing for root or a read-only mount."""
    data_dir = settings.data_dir.absolute()
    point = (
        "set DIALTONE_DATA_DIR (or data_dir in dialtone.toml) to a directory this user may write"
    )
    _writable_directory(data_dir, "data dir", point)
    inside = f"make it a directory this user may write, or {point}"
    wanted = [
        (settings.recordings_dir, "recordings dir"),
        (settings.voicemail_dir, "voicemail dir"),
        (settings.greetings_dir, "greetings dir"),
    ]
    # The key seals the trunks' passwords even when recordings are not sealed: it is
    # read (or generated there) at every start unless recording_key gives it.
    if not settings.recording_key:
        wanted.append((settings.recording_key_path.parent, "recording key dir"))
    if settings.sip_tls_port is not None and settings.tls_cert_file is None:
        wanted.append((settings.tls_dir, "TLS certificate dir"))
    for path, what in wanted:
        _writable_directory(path.absolute(), what, inside)


def lock_data_dir(settings: Settings) -> IO[str]:
    """Take ``<data_dir>/serve.<worker_id>.lock`` for the life of this process, or fail
    naming the process that holds it. Workers with distinct ids may share a data dir
    (issue 19: each recovers only its own recordings); two processes with one worker id
    would each take the other's recordings in progress for a crash's leftovers. The
    caller keeps the returned file open; the kernel lets go of the lock when the process
    ends, however it ends."""
    data_dir = settings.data_dir.absolute()
    path = data_dir / f"serve.{settings.worker_id}.lock"
    try:
        lock = path.open("a+", encoding="ascii")
    except OSError as exc:
        raise StartupError(
            f"data dir {data_dir}: cannot open {path.name} ({exc.strerror}): set "
            "DIALTONE_DATA_DIR (or data_dir in dialtone.toml) to a directory this user may write"
        ) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise StartupError(
            f"another dialtone serve is worker {settings.worker_id} on {data_dir} (pid "
            f"{holder}): stop it, or give this one another DIALTONE_WORKER_ID (or "
            "DIALTONE_DATA_DIR)"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


@contextlib.contextmanager
def startup_lock(settings: Settings) -> Iterator[None]:
    """Hold ``<data_dir>/startup.lock`` while what the workers of one data dir share is
    made: the schema brought up to date, the generated recording key and the self-signed
    TLS certificate (:func:`make_shared_files`). Workers of one machine starting at once
    do it one after the other (the second finds it done) instead of racing to create two
    keys. Workers on several machines share no data dir: they are given one
    ``recording_key`` (and certificate), and the database serialises its own migrations
    (PostgreSQL: an advisory lock)."""
    path = settings.data_dir.absolute() / "startup.lock"
    with path.open("a+", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def make_shared_files(settings: Settings) -> None:
    """Generate the recording key and the self-signed certificate now, under
    :func:`startup_lock`, if this data dir has none yet (they would otherwise be made
    later by whichever worker needs them first)."""
    if not settings.recording_key:
        settings.sealing_key()
    tls = settings.sip_tls_port is not None or settings.smpp_tls_port is not None
    if tls and (settings.tls_cert_file is None or settings.tls_key_file is None):
        ensure_certificate(
            settings.tls_cert_file,
            settings.tls_key_file,
            settings.tls_dir,
            settings.advertised_host,
        )


def check_sealing_key(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Refuse to start with a sealing key other than the one the database's files were
    sealed with (issue 19: workers on several machines are each given it; the first
    start records its fingerprint). Called under :func:`startup_lock`, after
    :func:`make_shared_files` made this data dir's key if it needed one."""
    # Here, not at the top: serve checks its directories and ports (this module) before
    # it loads the database models and the rest, so that a bad start fails at once.
    from dialtone.services import sealing_key  # noqa: PLC0415

    with sessions() as session:
        try:
            sealing_key.check(session, settings.sealing_key())
        except sealing_key.KeyMismatch as exc:
            raise StartupError(str(exc)) from None


def _writable_directory(path: Path, what: str, remedy: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StartupError(f"{what} {path} is a file, not a directory: {remedy}") from None
    except NotADirectoryError:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path)
        raise StartupError(
            f"{what} {path}: {blocker} is a file, not a directory: {remedy}"
        ) from None
    except OSError as exc:
        raise StartupError(f"{what} {path}: cannot create it ({exc.strerror}): {remedy}") from None
    try:
        with tempfile.TemporaryFile(dir=path, prefix=".dialtone-write-test-"):
            pass
    except OSError as exc:
        raise StartupError(
            f"{what} {path}: cannot write there ({exc.strerror}): {remedy}"
        ) from None


def bind_failure(
    exc: OSError, where: tuple[str, str, str, int], *, port_setting: str, host_setting: str
) -> StartupError:
    """The one line for a socket that could not be bound, ``where`` being (service,
    transport, host, port): ``SIP udp:host:port``, why, and the setting that moves it."""
    service, transport, host, port = where
    place = f"{service} {transport}:{host}:{port}"
    listing = "ss -lunp" if transport == "udp" else "ss -ltnp"
    if exc.errno == errno.EADDRINUSE:
        return StartupError(
            f"{place}: address already in use (another process listens there: `{listing}` "
            f"shows which): stop it, or set {port_setting} to a free port"
        )
    if exc.errno == errno.EACCES:
        return StartupError(
            f"{place}: permission denied (ports below 1024 need root or "
            f"CAP_NET_BIND_SERVICE): set {port_setting} to a port above 1023"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(
            f"{place}: this machine has no such address: set {host_setting} to one of its "
            "addresses (0.0.0.0 for all)"
        )
    why = exc.strerror or str(exc)
    return StartupError(f"{place}: cannot listen ({why}): check {host_setting} and {port_setting}")


def listen_http(settings: Settings) -> socket.socket:
    """The HTTP API's listening socket, bound before anything else starts so that a taken
    port is reported like SIP's (uvicorn would log a traceback and exit 3)."""
    host, port = settings.http_host, settings.http_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise bind_failure(
            exc,
            ("HTTP", "tcp", host, port),
            port_setting="DIALTONE_HTTP_PORT",
            host_setting="DIALTONE_HTTP_HOST",
        ) from None
