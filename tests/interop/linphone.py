"""Drive the real ``linphonec`` (Debian ``linphone-cli``) through its stdin commands.

Each :class:`Linphone` runs ``linphonec -c <rc>`` with an rc file written here and
``HOME``/``XDG_*`` pointing under the test's tmp dir, so nothing of the user's home is
read or written. SIP listens on a free port (UDP, and TCP for a phone registering over
TCP), RTP on a free range, G.711 only. Audio goes through files: ``soundcard use files``
makes linphone read its microphone from the WAV given to ``play`` and write what it
decodes to the WAV given to ``record`` (its file mode, instead of a sound card), so a
test knows what each side sent and can check what it heard.

linphonec prints one line per state change on its standard output ("Registration on
... successful.", "Call 1 with <...> connected."); a reader thread collects them, and
the test waits for the line it needs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .baresip import write_tone
from .conftest import free_rtp_range, free_sip_port

LINPHONEC = shutil.which("linphonec")
STDBUF = shutil.which("stdbuf")


def require_linphone() -> None:
    """Skip without linphonec, except in CI (``CI=true``), where its absence is a failure."""
    if LINPHONEC is not None:
        return
    why = "linphonec (Debian package linphone-cli) is not installed; .ci/run installs it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


class Linphone:
    """One linphonec process with its own rc and home under ``tmp/name``."""

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
        auto_answer: bool = False,
    ) -> None:
        assert LINPHONEC is not None
        self.name = name
        self.user = user
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "home").mkdir(exist_ok=True)
        self.registrar = f"127.0.0.1:{registrar_port}"
        self.transport = transport
        self.sip_port = free_sip_port()
        # linphone's ports: 0 is off, -1 a random free one (its TCP Contact names its end
        # of the connection anyway).
        tcp_port = -1 if transport == "tcp" else 0
        rtp_low, _ = free_rtp_range(20)
        self.tone = write_tone(self.dir / f"tone-{int(tone_hz)}.wav", tone_hz, seconds=30)
        self.heard = self.dir / "heard.wav"
        self.rc = self.dir / "linphonerc"
        # Only G.711 (the platform's codecs), no STUN/ICE/UPnP, no echo canceller (its
        # calibration would play to the sound card), register whatever the network state.
        self.rc.write_text(
            f"""[sip]
sip_port={self.sip_port}
sip_tcp_port={tcp_port}
sip_tls_port=0
default_proxy=0
register_only_when_network_is_up=0
register_only_when_upnp_is_ok=0
guess_hostname=0
contact=sip:{user}@127.0.0.1
inc_timeout=60
user_agent=Linphonec-interop

[net]
firewall_policy=0
mtu=1300

[rtp]
audio_rtp_port={rtp_low}-{rtp_low + 19}
nortp_timeout=60

[sound]
echocancellation=0
use_files=1

[video]
display=0
capture=0

[audio_codec_0]
mime=PCMU
rate=8000
channels=1
enabled=1

[audio_codec_1]
mime=PCMA
rate=8000
channels=1
enabled=1

[proxy_0]
reg_proxy=<sip:{self.registrar};transport={transport}>
reg_identity=sip:{user}@127.0.0.1
reg_expires=300
reg_sendregister=1
publish=0
dial_escape_plus=0
quality_reporting_enabled=0

[auth_info_0]
username={user}
passwd={password}
realm=dialtone
"""
        )
        home = self.dir / "home"
        env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        }
        (home / ".local/share/linphone").mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "linphonec.log"
        # linphonec writes its state lines with stdio: line-buffer them (stdbuf), or they
        # sit in a pipe buffer until it exits.
        args = [LINPHONEC, "-c", str(self.rc), "-S", "-d", "6", "-l", str(self.log_path)]
        if STDBUF is not None:
            args = [STDBUF, "-oL", *args]
        if auto_answer:
            args.append("-a")
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.dir,
            env=env,
            bufsize=1,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name=f"linphone-{name}", daemon=True)
        self._reader.start()
        # File mode: the tone is the microphone, what is decoded goes to heard.wav.
        self.command("soundcard use files")
        self.command(f"play {self.tone}")
        self.command(f"record {self.heard}")

    # -- control ---------------------------------------------------------------------------

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def command(self, command: str) -> None:
        """Type one command at the ``linphonec>`` prompt."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def wait_line(self, pattern: str, timeout: float = 20.0, *, after: int = 0) -> re.Match[str]:
        """The first output line (from index ``after``) matching ``pattern``, waiting."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._lines[after:]:
                    found = regex.search(line)
                    if found:
                        return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    break
                self._changed.wait(min(remaining, 0.2))
        pytest.fail(
            f"linphone {self.name}: no line matching {pattern!r} within {timeout}s\n"
            + "\n".join(self._lines[-60:])
        )

    def mark(self) -> int:
        """An index into the output: later waits look only at lines printed after it."""
        with self._changed:
            return len(self._lines)

    def output(self, since: int = 0) -> str:
        """What linphonec printed (from the mark ``since``)."""
        with self._changed:
            return "\n".join(self._lines[since:])

    def wait_registered(self, timeout: float = 20.0) -> None:
        """Wait until the account is registered. linphonec 5 prints no line of its own
        for it, so ask (``status register``) until the answer says so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mark = self.mark()
            self.command("status register")
            answer = self.wait_line(r"^(linphonec> )?registered", 5.0, after=mark)
            if answer.string.split("registered", 1)[1].startswith(","):
                return
            time.sleep(0.2)
        pytest.fail(f"linphone {self.name} never registered\n{self.output()[-4000:]}")

    def dial(self, target: str) -> None:
        self.command(f"call sip:{target}@{self.registrar};transport={self.transport}")

    def log(self) -> str:
        """liblinphone's debug log (SIP messages included)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Quit (unregistering, closing the recording), or kill it if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.command("terminate all")
                self.command("quit")
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        self._reader.join(timeout=5)
