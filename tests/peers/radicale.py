"""Radicale (Debian's ``radicale``), a CalDAV server we did not write, for the booking
calendar's tests (issue 17).

``Radicale(tmp)`` writes a config-free command line: a free loopback port (from the
interop tests' port space, so xdist workers never share one), a storage folder in ``tmp``
and an htpasswd file with one user (plain text: the tests' own password) or no
authentication. ``start()`` runs ``/usr/bin/radicale`` and waits until it answers;
``make_calendar(name)`` creates a calendar collection with MKCALENDAR through the
``caldav`` client and returns its URL. ``stop()`` (or leaving the ``with``) ends it.
``radicale_calendar(tmp)`` does all of it and yields a ``CalendarAccess`` (the
collection's URL, the credentials, the server) for a test's fixture.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from caldav.collection import Calendar as DavCollection
from caldav.davclient import DAVClient
from caldav.davobject import DAVObject

from .peer import free_tcp_port, require_peer

RADICALE = shutil.which("radicale") or (
    "/usr/bin/radicale" if Path("/usr/bin/radicale").exists() else None
)
USER, PASSWORD = "agent", "calendar-secret"


def require_radicale() -> None:
    """Skip without Radicale (failing under CI, as every peer)."""
    require_peer(RADICALE is not None, "Radicale (Debian package radicale) is not installed")


class Radicale:
    """``radicale`` on 127.0.0.1:``port`` storing into ``directory``."""

    def __init__(self, directory: Path, *, auth: bool = True) -> None:
        self.directory = directory
        self.port = free_tcp_port()
        self.auth = auth
        self.username = USER if auth else ""
        self.password = PASSWORD if auth else ""
        self.log_path = directory / "radicale.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        assert RADICALE is not None
        storage = self.directory / "collections"
        # No config file: every setting on the command line, the system's /etc/radicale
        # ignored (an empty --config), so the machine's own setup cannot change a test.
        command = [
            RADICALE,
            "--config",
            "",
            "--server-hosts",
            f"127.0.0.1:{self.port}",
            "--storage-filesystem-folder",
            str(storage),
            "--logging-level",
            "info",
        ]
        if self.auth:
            users = self.directory / "users"
            users.write_text(f"{USER}:{PASSWORD}\n")
            command += [
                "--auth-type",
                "htpasswd",
                "--auth-htpasswd-filename",
                str(users),
                "--auth-htpasswd-encryption",
                "plain",
                "--auth-delay",
                "0",
                "--rights-type",
                "owner_only",
            ]
        else:
            # With no authentication, "authenticated" lets anyone read and write.
            command += ["--auth-type", "none", "--rights-type", "authenticated"]
        return command

    def start(self, timeout: float = 20.0) -> Self:
        """Run it and wait until it answers HTTP."""
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"radicale exited {self._process.returncode}:\n{self.log()}")
            try:
                httpx.get(self.base_url + "/.web/", timeout=1)
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"radicale never answered:\n{self.log()}") from None
                time.sleep(0.05)

    def client(self) -> DAVClient:
        """A caldav client logged in as the test user (anonymous without auth)."""
        return DAVClient(
            url=self.base_url + f"/{USER}/",
            username=self.username or None,
            password=self.password or None,
            timeout=10,
            enable_rfc6764=False,
        )

    def make_calendar(self, name: str = "bookings") -> str:
        """MKCALENDAR ``/agent/<name>/`` through the caldav client; its URL."""
        url = f"{self.base_url}/{USER}/{name}/"
        with self.client() as client:
            # The collection's parent named outright: an anonymous user has no principal
            # to discover the calendar home from, and Radicale makes none for it.
            home = DAVObject(client=client, url=f"{self.base_url}/{USER}/")
            if not self.auth:
                client.mkcol(str(home.url), "")
            DavCollection(client=client, parent=home, name=name, id=name).save()
        return url

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Terminate it (kill after 5 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class CalendarAccess:
    """One calendar collection on a running Radicale: what the booking adapter needs."""

    url: str
    username: str
    password: str
    server: Radicale


@contextmanager
def radicale_calendar(directory: Path, *, auth: bool = True) -> Iterator[CalendarAccess]:
    """A running Radicale (skipped without it, failing under CI) holding one empty
    calendar collection ``bookings``; stopped on exit."""
    require_radicale()
    with Radicale(directory, auth=auth) as server:
        server.start()
        yield CalendarAccess(server.make_calendar(), server.username, server.password, server)
