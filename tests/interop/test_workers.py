"""Two ``dialtone serve`` workers on one SQLite data dir (issue 19): both start; one
leads and alone binds the carrier and sends what either worker's API queued; kill -9 of
the leader and the other takes over within the lease, sends what was queued meanwhile,
nothing twice; a worker restarted with its id recovers its own interrupted recording,
never the other worker's recording in progress, and the leader adopts a dead worker's.
"""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dialtone.runtime.sealing import AudioFile, CallFacts, claim, recording_file
from dialtone.services.telephony import trunks
from dialtone.store import sealed
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.peers.smsc import Smsc, require_smsc

from .conftest import Platform, poll, provision, start_platform, stop_platform
from .test_sms_carriers import _database, accepted, add_carrier, all_in, opt_in, send, text_of

pytestmark = [pytest.mark.interop, pytest.mark.serial]

LEASE = 3.0
TIMINGS = {"worker_lease_seconds": str(LEASE), "worker_lease_renew_seconds": "1"}


def _worker(
    tmp: Path, worker_id: str, first: Platform | None = None, timings: dict[str, str] = TIMINGS
) -> Platform:
    """A worker under ``tmp``; with ``first``, on its data dir and SMPP port (only the
    leader listens there)."""
    extra = dict(timings, worker_id=worker_id)
    if first is not None:
        extra["data_dir"] = str(first.data_dir)
        extra["smpp_port"] = first.env["DIALTONE_SMPP_PORT"]
    tmp.mkdir(parents=True, exist_ok=True)
    platform = start_platform(tmp, **extra)
    if first is not None:
        platform.data_dir = first.data_dir
        platform.account_id, platform.api_key = first.account_id, first.api_key
    return platform


class Registrar:
    """A provider's registrar on loopback: answers every REGISTER 200 (expires 60) and
    notes the port each came from (a worker's SIP port)."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.sources: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.socket.recvfrom(65535)
            except TimeoutError:
                continue
            head = data.decode(errors="replace").split("\r\n\r\n", 1)[0].split("\r\n")
            if not head[0].startswith("REGISTER "):
                continue
            self.sources.append(source[1])
            keep = [
                line
                for line in head[1:]
                if line.split(":", 1)[0].strip().lower()
                in ("via", "v", "from", "f", "call-id", "i", "cseq", "contact", "m")
            ]
            to = next(line for line in head[1:] if line.lower().startswith(("to:", "t:")))
            answer = ["SIP/2.0 200 OK", *keep, f"{to};tag=reg", "Expires: 60"]
            self.socket.sendto(
                ("\r\n".join(answer) + "\r\nContent-Length: 0\r\n\r\n").encode(), source
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


def add_registering_trunk(platform: Platform, registrar: Registrar) -> None:
    with transaction(_database(platform)) as session:
        trunks.create_trunk(
            session,
            account_id=None,
            name="provider",
            host="127.0.0.1",
            port=registrar.port,
            username="acme",
            password="never-asked",  # the registrar challenges nobody
            key=sealed.key_for(None, platform.data_dir / "keys" / "recordings.key"),
            now=datetime.now(UTC),
            register=True,
            register_expires=60,
        )


def _role(platform: Platform) -> str:
    found = re.search(r"worker \S+ \((leader|follower)\)", platform.log())
    return found.group(1) if found else ""


def _kill(platform: Platform) -> float:
    platform.process.send_signal(signal.SIGKILL)
    platform.process.wait()
    return time.monotonic()


def test_one_leader_sends_and_the_other_takes_over_after_kill_9(tmp_path: Path) -> None:
    require_smsc()
    registrar = Registrar()
    with Smsc(tmp_path / "smsc", dlr_delay=0.1).start() as smsc:
        w1 = _worker(tmp_path / "w1", "w1")
        w2: Platform | None = None
        try:
            provision(w1)
            opt_in(w1)
            w2 = _worker(tmp_path / "w2", "w2", w1)
            assert (_role(w1), _role(w2)) == ("leader", "follower"), w2.log()
            add_carrier(w1, smsc, "sim")
            add_registering_trunk(w1, registrar)
            smsc.wait_bound(1)
            assert poll(lambda: registrar.sources)
            time.sleep(1.5)  # the follower's rounds: it binds and registers nothing
            assert len(smsc.sessions()) == 1
            # One REGISTER per trunk, from the leader's SIP port alone.
            assert set(registrar.sources) == {w1.sip_port}
            # Queued on either worker's API: sent by the leader, once.
            before = [send(w, f"before {n}")["id"] for n, w in enumerate([w1, w2, w2, w1])]
            assert poll(lambda: all_in(w2, before, ("delivered",)), 15), w1.log()[-2000:]
            killed = _kill(w1)
            # Queued while no worker leads: the follower's API still takes them.
            after = [send(w2, f"after {n}")["id"] for n in range(5)]
            assert poll(lambda: "w2 leads" in w2.log(), LEASE + 5), w2.log()
            took = time.monotonic() - killed
            assert poll(lambda: all_in(w2, before + after, ("delivered",)), 20), w2.log()[-3000:]
            # Each worker's bind a session of its own: the dead leader's, then the new one's.
            sessions = {e["session"] for e in accepted(smsc)}
            assert len(sessions) == 2, sessions
            counts = Counter(text_of(e) for e in accepted(smsc))
            texts = [f"before {n}" for n in range(4)] + [f"after {n}" for n in range(5)]
            assert {t: counts[t] for t in texts} == dict.fromkeys(texts, 1)
            assert sum(counts.values()) == len(texts)
            # The trunk registered again by the new leader.
            assert poll(lambda: w2.sip_port in registrar.sources, 10)
            assert set(registrar.sources) == {w1.sip_port, w2.sip_port}
            # Within the lease (the dead leader's last renewal was at most a round before).
            assert took < LEASE + 1.5, took
            print(f"takeover {took:.2f} s after kill -9 (lease {LEASE:.0f} s)")
        finally:
            registrar.close()
            if w2 is not None:
                assert stop_platform(w2) == 0, w2.log()
            stop_platform(w1)


PCM = b"\x01\x02" * 16000  # two seconds of mono: more than one sealed chunk


def _call_in_progress(platform: Platform, record_id: str, owner: str) -> Path:
    """A recording being written by ``owner`` with its note, as a live call leaves it
    (the process's own files, with the platform's key): chunks on disk, never closed."""
    key = sealed.key_for(None, platform.data_dir / "keys" / "recordings.key")
    folder = platform.data_dir / "recordings" / platform.account_id
    path = recording_file(folder, record_id, key)
    claim(path, owner)
    now = datetime.now(UTC)
    facts = CallFacts(
        account_id=platform.account_id,
        direction="inbound",
        from_number="+14155550100",
        to_number=platform.number,
        started_at=now - timedelta(seconds=5),
        answered_at=now - timedelta(seconds=4),
        sip_call_id=f"sip-{record_id}",
        sip_local_tag="tag",
        record_id=record_id,
    )
    audio = AudioFile(path, channels=1, key=key, facts=facts)
    audio.write(PCM)
    writer = audio._sealed
    assert writer is not None
    out: Any = writer._out
    out.close()  # what was written stays, as when the process dies
    return path


def _cdrs(platform: Platform) -> dict[str, str]:
    with transaction(_database(platform)) as session:
        return {r.id: r.status for r in session.scalars(select(CallRecord))}


# w1's heartbeat and lease outlast its restart (a loaded machine takes seconds to start
# a worker): nobody adopts its call meanwhile, its own start recovers it.
LONG = {"worker_lease_seconds": "45", "worker_lease_renew_seconds": "1"}


def test_a_restarted_worker_recovers_its_own_recording_never_a_live_worker_s(
    tmp_path: Path,
) -> None:
    w1 = _worker(tmp_path / "w1", "w1", timings=LONG)
    w2: Platform | None = None
    try:
        provision(w1)
        w2 = _worker(tmp_path / "w2", "w2", w1)
        assert (_role(w1), _role(w2)) == ("leader", "follower")
        mine = _call_in_progress(w1, "CAw1cut", "w1")
        theirs = _call_in_progress(w1, "CAw2live", "w2")
        their_files = {p.name: p.read_bytes() for p in theirs.parent.glob("CAw2live*")}
        _kill(w1)
        w1 = _worker(tmp_path / "w1", "w1", timings=LONG)  # the same id and data dir
        assert "interrupted call(s) recorded" in w1.log()  # at its start, by itself
        assert _cdrs(w1) == {"CAw1cut": "interrupted"}
        assert sorted(p.name for p in mine.parent.glob("CAw1cut*")) == ["CAw1cut.wav.sealed"]
        assert {p.name: p.read_bytes() for p in theirs.parent.glob("CAw2live*")} == their_files
        assert "is dead" not in w2.log()
        # w2 dies in turn: the leader adopts its call once its heartbeat has expired,
        # without waiting for w2's restart.
        _kill(w2)
        w2 = None
        assert poll(lambda: _cdrs(w1).get("CAw2live") == "interrupted", 4 * LEASE), w1.log()
        assert sorted(p.name for p in theirs.parent.glob("CAw2live*")) == ["CAw2live.wav.sealed"]
        # Logged once the adoption's recovery returns (its CDR is committed before).
        assert poll(lambda: "worker w2 is dead: 1 interrupted call(s)" in w1.log()), w1.log()
    finally:
        if w2 is not None:
            stop_platform(w2)
        assert stop_platform(w1) == 0, w1.log()
