"""``dialtone edge config`` writes a Kamailio configuration that Kamailio accepts, and
refuses options it could not honour; ``dialtone edge check`` runs ``kamailio -c``."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialtone.cli import app
from dialtone.cli.edge_config import shipped_cfg_path
from tests.programs.kamailio import require_kamailio

runner = CliRunner()
BASE = ("edge", "config", "--worker", "10.0.0.11:5060", "--worker", "10.0.0.12")


def _config(out: Path, *extra: str) -> tuple[int, str]:
    done = runner.invoke(app, [*BASE, "--out", str(out), *extra])
    return done.exit_code, done.output


def test_the_command_writes_both_files_and_says_how_to_start(tmp_path: Path) -> None:
    code, output = _config(
        tmp_path / "edge",
        "--listen", "udp:192.0.2.1:5060", "--listen", "tcp:192.0.2.1:5060",
        "--advertise", "203.0.113.5:5060", "--pike-density", "200",
        "--probe-interval", "5", "--fr-timer-ms", "1500",
    )  # fmt: skip
    assert code == 0, output
    cfg = (tmp_path / "edge" / "kamailio.cfg").read_text()
    assert cfg.startswith("#!KAMAILIO\n")
    assert cfg.count("#!KAMAILIO") == 1
    assert "listen=udp:192.0.2.1:5060 advertise 203.0.113.5:5060" in cfg
    assert "listen=tcp:192.0.2.1:5060 advertise 203.0.113.5:5060" in cfg
    for define in ("PIKE_DENSITY 200", "DS_PING_INTERVAL 5", "FR_TIMER 1500"):
        assert f"#!define {define}\n" in cfg
    listed = (tmp_path / "edge" / "dispatcher.list").read_text().splitlines()
    assert [line for line in listed if not line.startswith("#")] == [
        "1 sip:10.0.0.11:5060 0 0",
        "1 sip:10.0.0.12:5060 0 0",  # the port defaults to 5060
    ]
    assert "DIALTONE_EDGE_ADDRESSES=192.0.2.1:5060" in output
    assert "kamailio -f" in output


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (("--listen", "tls:192.0.2.1:5061"), "TLS at the edge"),
        (("--listen", "tcp:192.0.2.1:5060"), "one --listen must be udp"),
        (("--listen", "udp:edge.example:5060"), "IP address"),
        (("--listen", "sctp:192.0.2.1:5060"), "udp or tcp"),
        (("--listen", "udp:192.0.2.1"), "a port"),
        (("--listen", "udp:192.0.2.1:5060", "--pike-density", "0"), "--pike-density"),
        (("--listen", "udp:192.0.2.1:5060", "--probe-interval", "0"), "--probe-interval"),
        (("--listen", "udp:192.0.2.1:5060", "--fr-timer-ms", "50"), "--fr-timer-ms"),
        (("--listen", "udp:192.0.2.1:5060", "--worker", "10.0.0.11:5060"), "twice"),
        (("--listen", "udp:192.0.2.1:5060", "--worker", "2001:db8::1:5060"), "brackets"),
    ],
)
def test_refused_options(tmp_path: Path, extra: tuple[str, ...], complaint: str) -> None:
    code, output = _config(tmp_path / "edge", *extra)
    assert code == 2
    assert complaint in output
    assert not (tmp_path / "edge" / "kamailio.cfg").exists()


@pytest.mark.parametrize("where", ["a file", "under a file", "unwritable"])
def test_an_out_it_cannot_write_is_one_line(tmp_path: Path, where: str) -> None:
    # Root writes through permission bits: /sys is where nobody may create a file.
    out = {
        "a file": tmp_path / "taken",
        "under a file": tmp_path / "taken" / "edge",
        "unwritable": Path("/sys/kernel/dialtone-edge"),
    }[where]
    (tmp_path / "taken").write_text("not a directory")
    code, output = _config(out, "--listen", "udp:192.0.2.1:5060")
    assert code == 2, output
    assert output.startswith(f"error: --out {out}: cannot write there ("), output
    assert len(output.strip().splitlines()) == 1, output


def test_kamailio_accepts_what_the_command_writes(tmp_path: Path) -> None:
    require_kamailio()
    out = tmp_path / "edge"
    code, output = _config(
        out, "--listen", "udp:127.0.0.1:5060", "--listen", "tcp:127.0.0.1:5060",
        "--worker", "[::1]:5062", "--ctl-socket", f"unix:{tmp_path / 'ctl.sock'}",
    )  # fmt: skip
    assert code == 0, output
    checked = runner.invoke(app, ["edge", "check", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "config file ok" in checked.output


def test_check_fails_on_a_broken_cfg(tmp_path: Path) -> None:
    require_kamailio()
    _config(tmp_path, "--listen", "udp:127.0.0.1:5060")
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(cfg.read_text().replace("route[RELAY] {", "route[RELAY] {{"))
    checked = runner.invoke(app, ["edge", "check", str(tmp_path)])
    assert checked.exit_code == 1
    assert "kamailio refused" in checked.output


def test_the_shipped_cfg_runs_on_its_defaults_and_on_defines() -> None:
    # As shipped (package data) with -A defines, the way a test or an operator may start it.
    binary = require_kamailio()
    with tempfile.TemporaryDirectory() as run:
        for defines in ((), ("-A", 'DS_LIST="/dev/null"', "-A", "PIKE_DENSITY=5")):
            done = subprocess.run(
                [binary, "-c", "-f", str(shipped_cfg_path()), "-Y", run, *defines],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert "config file ok" in done.stdout + done.stderr, done.stderr
