"""The SMSC simulator (``smsc.pl``, on Net::SMPP) as a Python object for the tests.

``Smsc(tmp).start()`` runs ``perl smsc.pl`` on a free SMPP port and a free control port,
and waits until the control port answers. The simulator writes one JSON line per PDU it
receives to ``smsc.jsonl``; ``received()`` reads them back, each a dict with
``command`` (Net::SMPP's name: ``submit_sm``, ``bind_transceiver``, ``deliver_sm_resp``,
...), ``command_id``, ``status``, ``seq``, ``session`` (1, 2, ... per TCP connection),
``tlvs`` ({"0x0424": hex}), and per command: ``system_id``/``password`` (binds),
``source``, ``dest``, ``data_coding``, ``esm_class``, ``registered_delivery``,
``short_message`` (hex) for submit_sm, and ``answer`` ({"status", "message_id"}) for
what the simulator answered a bind or submit_sm, ``dropped`` when it closed the
connection after that submit_sm.

The control port takes one command a line and answers one line, ``ok ...`` or
``error ...``; the methods below send them:

    throttle N                   the next N submit_sm get ESME_RTHROTTLED (0x58)
    drop N [unanswered]          close the connection after the Nth next submit_sm
                                 (answered first, unless ``unanswered``)
    receipt STAT ERR             later receipts say stat:STAT err:ERR (DELIVRD, UNDELIV...)
    dlr-delay SECONDS            later receipts are sent SECONDS after the submit_sm
    mo SRC DST DCS ESM HEX       an inbound deliver_sm (``-`` for an empty text)
    sessions                     ``ok 1:trx 3:rx``: the bound sessions and their modes
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from smpplib import consts, gsm

from .peer import free_tcp_port, require_peer

SCRIPT = Path(__file__).with_name("smsc.pl")
PERL = shutil.which("perl")

Entry = dict[str, Any]


def net_smpp_installed() -> bool:
    """Whether perl can load Net::SMPP."""
    if PERL is None:
        return False
    found = subprocess.run([PERL, "-MNet::SMPP", "-e1"], capture_output=True, check=False)
    return found.returncode == 0


def require_smsc() -> None:
    """Skip without perl's Net::SMPP (failing under CI, as every peer)."""
    require_peer(
        net_smpp_installed(),
        "Net::SMPP (Debian package libnet-smpp-perl) is not installed; .ci/run installs it",
    )


def encode_text(text: str) -> tuple[bytes, int]:
    """``text`` as a short_message and its data_coding: GSM-7 (one septet an octet,
    unpacked, data_coding 0) when it fits the default alphabet, else UCS-2 (8). smpplib's
    encoder, not dialtone's: the peer must not share our code."""
    try:
        return gsm.gsm_encode(text), consts.SMPP_ENCODING_DEFAULT
    except UnicodeError:
        return text.encode("utf-16-be"), consts.SMPP_ENCODING_ISO10646


class Smsc:
    """A running ``smsc.pl`` accepting ``system_id``/``password``; see the module doc."""

    def __init__(
        self,
        directory: Path,
        system_id: str = "dialtone",
        password: str = "secret",
        dlr_delay: float = 0.2,
    ) -> None:
        self.directory = directory
        self.system_id = system_id
        self.password = password
        self.dlr_delay = dlr_delay
        self.log_path = directory / "smsc.jsonl"
        self.stderr_path = directory / "smsc.stderr"
        self.port = 0
        self.control_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._replies = b""

    def start(self, port: int | None = None) -> Self:
        """Run the simulator on ``port`` (a free one when None) and wait until it answers."""
        assert PERL is not None, "require_smsc() first"
        self.port = port if port is not None else free_tcp_port()
        self.control_port = free_tcp_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("ab") as stderr:
            self._process = subprocess.Popen(
                [
                    PERL, str(SCRIPT), "--port", str(self.port),
                    "--control-port", str(self.control_port), "--system-id", self.system_id,
                    "--password", self.password, "--log", str(self.log_path),
                    "--dlr-delay", str(self.dlr_delay),
                ],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while self._control is None:
            if self._process.poll() is not None:
                raise RuntimeError(f"smsc.pl exited: {self.stderr()}")
            try:
                self._control = socket.create_connection(("127.0.0.1", self.control_port), 1)
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"smsc.pl did not start: {self.stderr()}") from None
                time.sleep(0.05)
        self._command("ping")
        return self

    def stop(self) -> None:
        """Stop the simulator (SIGTERM, then SIGKILL after 5 s)."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Self:
        return self if self._process is not None else self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stderr(self) -> str:
        """What the simulator (and Net::SMPP's warnings) wrote to standard error."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    # -- what it received ---------------------------------------------------------------

    def received(self, command: str | None = None) -> list[Entry]:
        """Every PDU received so far (only ``command``'s when given), oldest first."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text().splitlines()
        # The last line may be half written while the simulator writes it.
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return [e for e in entries if command is None or e["command"] == command]

    def wait_received(
        self,
        command: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Entry], bool] = lambda _: True,
    ) -> list[Entry]:
        """The ``command`` PDUs received (those ``where`` holds for), once there are at
        least ``count``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.received(command) if where(e)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(found)} {command} of {count} after {timeout}s: {self.received()}"
                )
            time.sleep(0.05)

    # -- control ------------------------------------------------------------------------

    def _command(self, line: str) -> str:
        assert self._control is not None, "start() first"
        self._control.sendall(line.encode() + b"\n")
        while b"\n" not in self._replies:
            chunk = self._control.recv(4096)
            if not chunk:
                raise RuntimeError(f"smsc.pl closed its control port: {self.stderr()}")
            self._replies += chunk
        reply, self._replies = self._replies.split(b"\n", 1)
        text = reply.decode()
        if not text.startswith("ok"):
            raise RuntimeError(f"smsc.pl refused {line!r}: {text}")
        return text[2:].strip()

    def throttle(self, count: int) -> None:
        """Answer the next ``count`` submit_sm with ESME_RTHROTTLED."""
        self._command(f"throttle {count}")

    def drop_after(self, count: int, *, answered: bool = True) -> None:
        """Close the connection of the ``count``-th next submit_sm, after answering it
        unless not ``answered`` (then the ESME cannot know whether it was taken)."""
        self._command(f"drop {count}" + ("" if answered else " unanswered"))

    def receipt(self, stat: str = "DELIVRD", err: str = "000") -> None:
        """Make later receipts final state ``stat`` with error ``err``."""
        self._command(f"receipt {stat} {err}")

    def set_dlr_delay(self, seconds: float) -> None:
        """Send later receipts ``seconds`` after their submit_sm."""
        self._command(f"dlr-delay {seconds}")

    def send_mo(
        self,
        source: str,
        dest: str,
        text: str | bytes,
        *,
        data_coding: int | None = None,
        esm_class: int = 0,
    ) -> None:
        """Send an inbound (MO) deliver_sm to the first bound receiver (held until one
        binds). A ``str`` is encoded GSM-7 or UCS-2 (``encode_text``); ``bytes`` go as
        they are, with ``data_coding`` (0 when None)."""
        if isinstance(text, str):
            body, coding = encode_text(text)
            coding = coding if data_coding is None else data_coding
        else:
            body, coding = text, data_coding or 0
        self._command(f"mo {source} {dest} {coding} {esm_class} {body.hex() or '-'}")

    def sessions(self) -> list[tuple[int, str]]:
        """The bound sessions: (session number, "tx" | "rx" | "trx")."""
        return [
            (int(number), mode)
            for number, mode in (item.split(":") for item in self._command("sessions").split())
        ]

    def wait_bound(self, count: int = 1, timeout: float = 30.0) -> list[tuple[int, str]]:
        """The bound sessions, once there are ``count``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(bound := self.sessions()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(bound)} sessions bound after {timeout}s")
            time.sleep(0.1)
        return bound
