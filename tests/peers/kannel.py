"""Kannel (Debian's ``kannel``: bearerbox and smsbox) as an ESME we did not write.

``Kannel(tmp, smsc_port=..., system_id=..., password=..., sink=HttpSink())`` writes one
``kannel.conf``: a core group (admin, smsbox and no wapbox, on free loopback ports), one
``smsc = smpp`` transceiver bound to 127.0.0.1:``smsc_port``, an smsbox with a sendsms
user, and a catch-all ``sms-service`` whose get-url sends every inbound (MO) message to
``sink``'s ``/mo``. ``start()`` runs bearerbox and smsbox and waits until the SMPP link
is online; ``send()`` goes through the sendsms HTTP interface, asking for every delivery
report (``dlr-mask=31``) at ``sink``'s ``/dlr``, tagged so a test finds its own.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from .http_sink import Hit, HttpSink
from .peer import free_tcp_port, require_peer
from .smsc import encode_text

BEARERBOX = shutil.which("bearerbox") or (
    "/usr/sbin/bearerbox" if Path("/usr/sbin/bearerbox").exists() else None
)
SMSBOX = shutil.which("smsbox") or (
    "/usr/sbin/smsbox" if Path("/usr/sbin/smsbox").exists() else None
)

ADMIN_PASSWORD = "admin-secret"
SEND_USER, SEND_PASSWORD = "tester", "sendsecret"
# Kannel's delivery report types (dlr-mask bits, its userguide's "%d").
DLR_DELIVERED, DLR_FAILED, DLR_BUFFERED, DLR_SMSC_ACK, DLR_SMSC_NACK = 1, 2, 4, 8, 16


def require_kannel() -> None:
    """Skip without Kannel's bearerbox and smsbox (failing under CI, as every peer)."""
    require_peer(
        BEARERBOX is not None and SMSBOX is not None,
        "Kannel (Debian package kannel) is not installed; .ci/run installs it",
    )


def _config(
    *,
    directory: Path,
    admin_port: int,
    smsbox_port: int,
    sendsms_port: int,
    smsc_port: int,
    system_id: str,
    password: str,
    sink: HttpSink,
) -> str:
    mo_url = sink.url("/mo") + "?from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i"
    return f"""\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = {ADMIN_PASSWORD}
status-password = {ADMIN_PASSWORD}
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox_port}
box-allow-ip = "127.0.0.1"
log-file = "{directory}/bearerbox.log"
log-level = 0
access-log = "{directory}/access.log"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = "{system_id}"
smsc-password = "{password}"
system-type = ""
enquire-link-interval = 30
reconnect-delay = 1
source-addr-ton = 1
source-addr-npi = 1
dest-addr-ton = 1
dest-addr-npi = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{directory}/smsbox.log"
log-level = 0
access-log = "{directory}/smsbox-access.log"

group = sendsms-user
username = {SEND_USER}
password = {SEND_PASSWORD}
max-messages = 10
concatenation = true

# Every inbound message to the test's HTTP sink; its empty answer is no reply.
group = sms-service
keyword = default
catch-all = true
get-url = "{mo_url}"
max-messages = 0
"""


class Kannel:
    """bearerbox and smsbox bound as an ESME to 127.0.0.1:``smsc_port``."""

    def __init__(
        self,
        directory: Path,
        *,
        smsc_port: int,
        system_id: str,
        password: str,
        sink: HttpSink,
    ) -> None:
        self.directory = directory
        self.sink = sink
        self.admin_port = free_tcp_port()
        self.smsbox_port = free_tcp_port()
        self.sendsms_port = free_tcp_port()
        self.config = directory / "kannel.conf"
        directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            _config(
                directory=directory,
                admin_port=self.admin_port,
                smsbox_port=self.smsbox_port,
                sendsms_port=self.sendsms_port,
                smsc_port=smsc_port,
                system_id=system_id,
                password=password,
                sink=sink,
            )
        )
        self._processes: list[subprocess.Popen[bytes]] = []
        self._tags = 0

    def _run(self, program: str, name: str) -> subprocess.Popen[bytes]:
        with (self.directory / f"{name}.out").open("ab") as out:
            process = subprocess.Popen(
                [program, str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=self.directory,
            )
        self._processes.append(process)
        return process

    def logs(self) -> str:
        """What both boxes logged (for an assertion's message)."""
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.directory.glob("*.log")) + sorted(self.directory.glob("*.out"))
        )

    def status(self) -> str:
        """bearerbox's status page (plain text), "" while it does not answer."""
        try:
            answer = httpx.get(
                f"http://127.0.0.1:{self.admin_port}/status.txt",
                params={"password": ADMIN_PASSWORD},
                timeout=2,
            )
        except httpx.HTTPError:
            return ""
        return answer.text if answer.status_code == 200 else ""

    def online(self) -> bool:
        """Whether the SMPP link is bound (the status page says ``online``)."""
        return "(online" in self.status()

    def start(self, timeout: float = 30.0, *, bound: bool = True) -> Self:
        """Run bearerbox, then smsbox; return once sendsms answers and, when ``bound``,
        the SMPP link is online."""
        assert BEARERBOX is not None, "require_kannel() first"
        assert SMSBOX is not None, "require_kannel() first"
        bearerbox = self._run(BEARERBOX, "bearerbox")
        deadline = time.monotonic() + timeout
        self._wait(lambda: bool(self.status()), bearerbox, deadline, "bearerbox's admin port")
        smsbox = self._run(SMSBOX, "smsbox")
        self._wait(self._sendsms_answers, smsbox, deadline, "smsbox's sendsms port")
        if bound:
            self._wait(self.online, bearerbox, deadline, "the SMPP link online")
        return self

    def _wait(
        self,
        ready: Callable[[], bool],
        process: subprocess.Popen[bytes],
        deadline: float,
        what: str,
    ) -> None:
        while not ready():
            if process.poll() is not None:
                self.stop()
                raise RuntimeError(f"Kannel exited waiting for {what}:\n{self.logs()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Kannel: no {what} in time:\n{self.logs()}")
            time.sleep(0.1)

    def _sendsms_answers(self) -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{self.sendsms_port}/", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def send(self, to: str, from_: str, text: str, *, dlr: bool = True) -> str:
        """Send ``text`` through sendsms (GSM-7 or UCS-2, split by Kannel when long);
        returns the tag its delivery reports carry (``Hit.query["tag"]``)."""
        self._tags += 1
        tag = str(self._tags)
        params = {
            "username": SEND_USER,
            "password": SEND_PASSWORD,
            "to": to,
            "from": from_,
            "text": text,
            "charset": "UTF-8",
            # GSM-7 when the text fits its alphabet, else UCS-2 (Kannel's coding 2).
            "coding": "0" if encode_text(text)[1] == 0 else "2",
        }
        if dlr:
            params["dlr-mask"] = str(
                DLR_DELIVERED | DLR_FAILED | DLR_BUFFERED | DLR_SMSC_ACK | DLR_SMSC_NACK
            )
            params["dlr-url"] = self.sink.url("/dlr") + f"?tag={tag}&type=%d&reply=%A&id=%F"
        answer = httpx.get(
            f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms", params=params, timeout=10
        )
        assert answer.status_code == 202, f"sendsms: {answer.status_code} {answer.text}"
        return tag

    def dlrs(self, tag: str) -> list[Hit]:
        """The delivery reports of the message ``send`` tagged ``tag``, oldest first."""
        return [h for h in self.sink.hits("/dlr") if h.query.get("tag") == tag]

    def wait_dlr(self, tag: str, kind: int, timeout: float = 15.0) -> Hit:
        """The first delivery report of ``tag`` of type ``kind`` (DLR_DELIVERED...)."""
        deadline = time.monotonic() + timeout
        while True:
            for hit in self.dlrs(tag):
                if hit.query.get("type") == str(kind):
                    return hit
            if time.monotonic() > deadline:
                raise AssertionError(f"no DLR type {kind} for {tag}: {self.dlrs(tag)}")
            time.sleep(0.05)

    def mo(self) -> list[tuple[str, str, str]]:
        """The inbound messages the sms-service passed on: (from, to, text), the text
        decoded from the charset Kannel named (UTF-8 for GSM-7, UTF-16BE for UCS-2)."""
        return [
            (
                h.query["from"],
                h.query["to"],
                h.query["text"].encode("latin-1").decode(h.query["charset"]),
            )
            for h in self.sink.hits("/mo")
        ]

    def stop(self) -> None:
        """SIGTERM smsbox, then bearerbox (each shuts down cleanly), SIGKILL if slow."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
