"""The systemd units shipped under deploy/systemd (issue 19, docs/deployment.md): read
as systemd reads them (``systemd-analyze verify``, where installed: it needs no running
systemd), and their keys and the workers' environment files checked here in any case."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialtone.settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "systemd"


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections, keys and their values (a key may repeat, as systemd allows)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _env(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_the_worker_unit_runs_serve_with_the_instance_as_worker_id() -> None:
    unit = _unit(DEPLOY / "dialtone@.service")
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["ExecStart"] == ["/opt/dialtone/.venv/bin/dialtone serve"]
    assert "DIALTONE_WORKER_ID=%i" in service["Environment"]
    # The instance's file comes last: it may override what is shared.
    assert service["EnvironmentFile"] == ["/etc/dialtone/common.env", "/etc/dialtone/%i.env"]
    assert service["KillSignal"] == ["SIGTERM"]  # serve ends its calls cleanly on it
    assert unit["Install"]["WantedBy"] == ["dialtone.target"]
    assert _unit(DEPLOY / "dialtone.target")["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.parametrize("worker", ["w1", "w2"])
def test_each_worker_s_environment_is_valid_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, worker: str
) -> None:
    env = {**_env(DEPLOY / "env" / "common.env"), **_env(DEPLOY / "env" / f"{worker}.env")}
    env["DIALTONE_WORKER_ID"] = worker  # the unit's Environment=
    for name in list(os.environ):
        if name.startswith("DIALTONE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DIALTONE_CONFIG", str(tmp_path / "absent.toml"))
    for name, value in env.items():
        field = name.removeprefix("DIALTONE_").lower()
        assert field in Settings.model_fields, name
        monkeypatch.setenv(name, value.replace("CHANGE-ME", _placeholder(name)))
    settings = Settings()
    assert settings.worker_id == worker
    assert settings.recording_key is not None  # one key for every worker (docs)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def _placeholder(name: str) -> str:
    return "A" * 43 + "=" if name == "DIALTONE_RECORDING_KEY" else "secret"


def test_two_workers_of_one_machine_listen_on_their_own_ports() -> None:
    one, two = (_env(DEPLOY / "env" / f"{w}.env") for w in ("w1", "w2"))
    ports = ("SIP_PORT", "SIP_TLS_PORT", "HTTP_PORT")
    for name in ports:
        assert one[f"DIALTONE_{name}"] != two[f"DIALTONE_{name}"], name
    low = {w: int(e["DIALTONE_RTP_PORT_MIN"]) for w, e in (("w1", one), ("w2", two))}
    high = {w: int(e["DIALTONE_RTP_PORT_MAX"]) for w, e in (("w1", one), ("w2", two))}
    assert high["w1"] < low["w2"]  # RTP ranges apart
    # Only the leader listens for customers' SMPP: one port, moving with the lease.
    assert one["DIALTONE_SMPP_PORT"] == two["DIALTONE_SMPP_PORT"]


def test_systemd_reads_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing (Debian package systemd)")
        pytest.skip("systemd-analyze is not installed")
    # ExecStart must name an executable: this checkout's own command.
    command = Path(sys.executable).with_name("dialtone")
    for name in ("dialtone@.service", "dialtone.target"):
        text = (DEPLOY / name).read_text()
        text = text.replace("/opt/dialtone/.venv/bin/dialtone", str(command))
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", "--man=no", "dialtone@w1.service", "dialtone.target"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
    assert done.returncode == 0, done.stderr
    assert complaints == []
