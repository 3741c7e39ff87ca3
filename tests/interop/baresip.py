"""Drive the real ``baresip`` softphone headless, and read the audio it recorded.

Each :class:`Baresip` runs ``baresip -f <dir>`` with a config written here: SIP on a free
loopback port, G.711 only, a tone from a WAV file as its microphone (``aufile``) and the
``sndfile`` filter recording what it sends and what it receives. baresip 1.0 has no file
*player* (``aufile`` is a source only there), so the receive side is checked through
``sndfile``'s ``dump-*-dec.wav``, written as frames are decoded, before any player.
It is controlled over ``ctrl_tcp`` (netstring-framed JSON): commands in, events out.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port, free_sip_port

BARESIP = shutil.which("baresip")
# Debian's baresip-core: /usr/bin/baresip and /usr/lib/baresip/modules/*.so.
MODULES = Path(BARESIP or "/usr/bin/baresip").resolve().parent.parent / "lib/baresip/modules"
RATE = 8000


def _free_port_for_baresip() -> int:
    """A SIP port free on UDP and TCP whose next port is free on TCP too: baresip 1.0
    always opens SIP over TLS on the port after its ``sip_listen`` port and exits when
    that one is taken."""
    for _ in range(50):
        port = free_sip_port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no port pair free for baresip")


def require_baresip() -> None:
    """Skip without baresip, except in CI (``CI=true``), where its absence is a failure."""
    if BARESIP is not None:
        return
    why = "baresip (Debian package baresip-core) is not installed; .ci/run installs it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


def write_tone(path: Path, hz: float, seconds: float = 15.0, amplitude: int = 12000) -> Path:
    """A 16-bit 8 kHz mono sine WAV (``aufile`` wants the codec's rate, S16LE)."""
    frames = bytearray()
    for n in range(int(RATE * seconds)):
        value = int(amplitude * math.sin(2 * math.pi * hz * n / RATE))
        frames += value.to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(frames))
    return path


def read_samples(path: Path) -> list[int]:
    """The 16-bit mono samples of a WAV file."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getsampwidth(), wav.getnchannels()) == (2, 1), path
        return list(memoryview(wav.readframes(wav.getnframes())).cast("h"))


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def tone_power(samples: list[int], hz: float, rate: int = RATE) -> float:
    """Goertzel: the power of ``samples`` at ``hz`` (normalised by length)."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    before, earlier = 0.0, 0.0
    for sample in samples:
        before, earlier = sample + coefficient * before - earlier, before
    power = before * before + earlier * earlier - coefficient * before * earlier
    return power / max(1, len(samples)) ** 2


class Baresip:
    """One baresip process with its own config dir, one account, and a control socket."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        *,
        user: str,
        password: str,
        registrar_port: int,
        transport: str = "udp",
        tone_hz: float = 440.0,
        regint: int = 300,
        source: Path | None = None,
    ) -> None:
        assert BARESIP is not None
        self.name = name
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.recordings = self.dir / "recordings"
        self.recordings.mkdir(exist_ok=True)
        self.sip_port = _free_port_for_baresip()
        self.ctrl_port = free_port(socket.SOCK_STREAM)
        # What the phone sends: a tone, or a recording (``source``, 8 kHz mono WAV).
        self.tone = source or write_tone(self.dir / f"tone-{int(tone_hz)}.wav", tone_hz)
        self.registrar = f"127.0.0.1:{registrar_port}"
        # Only what the test needs: no sound card (alsa), no NAT helpers (stun/ice).
        # ``aubridge`` is a player that plays nowhere unless a matching source exists,
        # which it never does here: it costs no CPU and never blocks.
        (self.dir / "config").write_text(
            f"""poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
call_local_timeout 20
audio_source aufile,{self.tone}
audio_player aubridge,{name}-nowhere
audio_alert aubridge,{name}-nowhere
ausrc_srate {RATE}
auplay_srate {RATE}
ausrc_channels 1
auplay_channels 1
rtp_timeout 0
snd_path {self.recordings}
module_path {MODULES}
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
"""
        )
        # ``answermode=auto``: an incoming call is answered at once (bob's side).
        (self.dir / "accounts").write_text(
            f"<sip:{user}@{self.registrar};transport={transport}>"
            f";auth_pass={password};answermode=auto;regint={regint}"
            ";audio_codecs=PCMU,PCMA;medianat=;mwi=no\n"
        )
        self.log_path = self.dir / "baresip.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [BARESIP, "-f", str(self.dir), "-s"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        self._sock: socket.socket | None = None
        self._messages: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None
        self._token = 0
        self._connect()

    # -- control -------------------------------------------------------------------------

    def _connect(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"baresip {self.name} exited at start:\n{self.log()}")
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"baresip {self.name}: no ctrl_tcp socket:\n{self.log()}")
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, name=f"baresip-{self.name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Collect every netstring (``<len>:<json>,``) the control socket sends."""
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            while True:
                length, colon, rest = buffer.partition(b":")
                if not colon or not length.isdigit() or len(rest) < int(length) + 1:
                    break
                payload, buffer = rest[: int(length)], rest[int(length) + 1 :]
                with self._changed:
                    self._messages.append(json.loads(payload))
                    self._changed.notify_all()

    def command(self, command: str, params: str = "", timeout: float = 5.0) -> dict[str, Any]:
        """Run a menu command (``dial``, ``hangup``, ``quit``...) and return its response."""
        assert self._sock is not None
        self._token += 1
        token = f"{self.name}-{self._token}"
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(b"%d:%s," % (len(body), body))
        response = self.wait_for(
            lambda m: bool(m.get("response")) and m.get("token") == token, timeout, command
        )
        return response

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """The first control message (event or response) that matches, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    break
                self._changed.wait(min(remaining, 0.2))
        pytest.fail(f"baresip {self.name}: no {what} within {timeout}s\n{self.log()[-8000:]}")

    def wait_event(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for a baresip event such as ``REGISTER_OK`` or ``CALL_ESTABLISHED``."""
        return self.wait_for(
            lambda m: bool(m.get("event")) and m.get("type") == kind, timeout, kind
        )

    def events(self) -> list[str]:
        with self._changed:
            return [str(m.get("type")) for m in self._messages if m.get("event")]

    def dial(self, target: str) -> None:
        """Call ``target`` (an extension or a number) at the registrar."""
        response = self.command("dial", f"sip:{target}@{self.registrar}")
        assert response.get("ok"), response

    # -- results -------------------------------------------------------------------------

    def received(self) -> Path:
        """The WAV of what this phone decoded from the network (``sndfile``'s ``-dec``)."""
        return self._dump("dec")

    def sent(self) -> Path:
        """The WAV of what this phone encoded and sent (``sndfile``'s ``-enc``)."""
        return self._dump("enc")

    def _dump(self, kind: str) -> Path:
        found = sorted(self.recordings.glob(f"dump-*-{kind}.wav"))
        assert found, f"baresip {self.name} recorded nothing:\n{self.log()[-4000:]}"
        return found[-1]

    def log(self) -> str:
        """baresip's output so far, SIP trace included (``-s``)."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Quit (unregistering, closing the recordings), or kill it if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, AssertionError, pytest.fail.Exception):
                assert self._sock is not None
                body = json.dumps({"command": "quit", "params": "", "token": "quit"}).encode()
                self._sock.sendall(b"%d:%s," % (len(body), body))
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._log.close()
