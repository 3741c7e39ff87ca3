"""What workers sharing a data dir make once at start (issue 19): the recording key and
the self-signed certificate, under the start-up lock, are the same for every worker;
the data dir lock is per worker id."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dialtone.runtime.startup import (
    StartupError,
    lock_data_dir,
    make_shared_files,
    startup_lock,
)
from dialtone.settings import Settings
from dialtone.store import sealed


def _settings(data_dir: Path, worker_id: str) -> Settings:
    return Settings(data_dir=data_dir, worker_id=worker_id, sip_tls_port=5061)


def test_workers_starting_at_once_make_one_key_and_one_certificate(tmp_path: Path) -> None:
    start = threading.Barrier(4)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        settings = _settings(tmp_path, f"w{n}")
        start.wait()
        try:
            with startup_lock(settings):
                make_shared_files(settings)
            keys.append(settings.sealing_key())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(keys)) == 1
    assert keys[0] == sealed.load_or_create_key(tmp_path / "keys" / "recordings.key")
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == ["sip-cert.pem", "sip-key.pem"]


def test_the_data_dir_lock_is_per_worker_id(tmp_path: Path) -> None:
    first = lock_data_dir(_settings(tmp_path, "w1"))
    other = lock_data_dir(_settings(tmp_path, "w2"))  # another worker: welcome
    try:
        with pytest.raises(StartupError, match="another dialtone serve is worker w1"):
            lock_data_dir(_settings(tmp_path, "w1"))
    finally:
        first.close()
        other.close()
    lock_data_dir(_settings(tmp_path, "w1")).close()  # the lock went with its holder
