"""Two dialtone workers behind the Kamailio edge (issue 19), on one SQLite database file
(``database_url``), each with its own data dir; and pike at the edge.

- A phone registers through the edge and lands on one worker; a call to it that the edge
  gives to the OTHER worker reaches it (the binding and its Path read from the database),
  and the caller's BYE reaches the worker that owns the call.
- kill -9 of one worker under sipp traffic: new calls go to the other one (the first
  request to the dead one waits fr_timer, then fails over; the probe marks it inactive),
  and every call answered 200 and hung up has its CDR exactly once.
- pike: a flood from one source is dropped at the edge; the workers are exempt.
"""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.programs.kamailio import Edge, edge

from .baresip import Baresip, require_baresip
from .conftest import (
    Platform,
    calls,
    free_port,
    poll,
    registrations,
    require_sipp,
)
from .edge_cluster import PASSWORD, read_text, sipp_through, workers_behind_edge
from .sippgen import proxy_call

pytestmark = pytest.mark.interop


@dataclass
class Pair:
    workers: list[Platform]
    edge: Edge
    tmp: Path
    database: Path

    def by_port(self, port: int) -> Platform:
        return next(w for w in self.workers if w.sip_port == port)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Two workers on one database behind an edge; the account and users bob (202)."""
    require_sipp()
    database = tmp_path / "w1" / "var" / "dialtone.db"  # the first worker's, migrated
    with workers_behind_edge(
        tmp_path, lambda index: {"database_url": f"sqlite:///{database}"} if index else {}
    ) as (workers, kamailio):
        yield Pair(workers, kamailio, tmp_path, database)


def test_a_phone_registered_through_one_worker_is_called_through_the_other(
    pair: Pair,
) -> None:
    require_baresip()
    first = pair.workers[0]
    bob = Baresip(pair.tmp, "bob", user="bob", password=PASSWORD, registrar_port=pair.edge.port)
    try:
        registered = poll(lambda: registrations(first))
        assert registered, bob.log()[-3000:] + pair.edge.log()[-3000:]
        # The worker the REGISTER landed on (the edge hashes its Call-ID).
        [home] = [w for w in pair.workers if "user bob registered" in w.log()]
        [other] = [w for w in pair.workers if w is not home]
        # Only the other worker takes new calls now (as after a failed probe; "d":
        # disabled, so the probes do not bring it back during the test).
        pair.edge.kamcmd("dispatcher.set_state", "d", "1", f"sip:127.0.0.1:{home.sip_port}")
        assert pair.edge.worker_flags()[home.sip_port].startswith("D"), pair.edge.worker_flags()
        with first.http() as http:
            routed = http.put(
                f"/v1/numbers/{first.number}/route",
                json={"kind": "user", "target": first.extra["bob"]},
            )
        assert routed.status_code == 200, routed.text
        done = _sipp(pair, proxy_call(first.number, hold_ms=300), calls=1, rate=1)
        assert done.returncode == 0, _sipp_log(pair, "err") + pair.edge.log()[-3000:]
        bob.wait_event("CALL_ESTABLISHED")
        bob.wait_event("CALL_CLOSED")
        # The INVITE went to the other worker, which reached bob through the edge.
        log = pair.edge.log()
        assert f"dispatch INVITE to sip:127.0.0.1:{other.sip_port}" in log, log[-3000:]
        assert f"dispatch INVITE to sip:127.0.0.1:{home.sip_port}" not in log
        # The worker's own INVITE to bob came from its SIP socket, so the edge knew it for a
        # worker's (relayed along the Path, not dispatched to a worker again).
        assert log.count("dispatch INVITE") == 1, log[-3000:]
        [call] = poll(lambda: calls(first))
        # Completed: the caller's BYE reached the worker that owns the call (the CDR is
        # written before the BYE's 200).
        assert call["status"] == "completed", call
        assert [leg["kind"] for leg in call["legs"]] == ["public", "device"], call
        assert call["legs"][1]["source"] == f"udp:127.0.0.1:{bob.sip_port}", call
    finally:
        bob.stop()


def _sipp(
    pair: Pair, xml: str, *, calls: int, rate: float, background: bool = False
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    return sipp_through(
        pair.tmp, pair.edge.port, "sipp", xml, calls=calls, rate=rate, background=background
    )


def _sipp_log(pair: Pair, kind: str) -> str:
    return read_text(pair.tmp, "sipp.err" if kind == "err" else "sipp.log")


def test_kill_9_of_a_worker_under_traffic(pair: Pair) -> None:
    # The number's greeting answers (the default route): each call is answered by the
    # worker the edge gives it to, held 1.5 s, then hung up by sipp through the edge.
    victim, survivor = pair.workers[1], pair.workers[0]
    total, rate = 40, 5
    sipp = _sipp(pair, proxy_call(survivor.number, hold_ms=1500), calls=total, rate=rate,
                 background=True)  # fmt: skip
    assert isinstance(sipp, subprocess.Popen)
    try:
        time.sleep(3)  # traffic on both workers
        victim.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        inactive = poll(
            lambda: pair.edge.worker_flags().get(victim.sip_port, "").startswith("I"), 10
        )
        failover = time.monotonic() - killed
        assert inactive, pair.edge.worker_flags()
        sipp.wait(timeout=90)
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait()
    answered = re.findall(r"answered-and-hung-up (\S+)", _sipp_log(pair, "log"))
    failures = total - len(answered)
    print(f"edge failover: worker marked inactive {failover:.2f} s after kill -9; "
          f"{len(answered)}/{total} calls answered and hung up, {failures} lost")  # fmt: skip
    # Only the calls in progress on the victim are lost (about rate x (hold + set-up) / 2).
    assert failures <= 10, _sipp_log(pair, "err")[-3000:]
    # New calls after the kill went to the survivor: some were answered after it.
    log = pair.edge.log()
    assert "worker silent, now trying" in log or failover < 1.5, log[-3000:]
    # Every call answered and hung up has its CDR exactly once, in the shared database.
    with sqlite3.connect(pair.database, timeout=30) as db:
        counts = dict(
            db.execute(
                "SELECT sip_call_id, count(*) FROM call_records GROUP BY sip_call_id"
            ).fetchall()
        )
    missing = [c for c in answered if counts.get(c, 0) != 1]
    assert not missing, {c: counts.get(c, 0) for c in missing}
    assert failover < 4, f"failover took {failover:.2f} s"


def _options(port: int, *, tag: str, uri: str) -> bytes:
    call_id = uuid.uuid4().hex
    return (
        f"OPTIONS {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id[:12]}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:{tag}@127.0.0.1:{port}>;tag={call_id[:8]}\r\n"
        f"To: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_pike_drops_a_flood_from_one_source_and_spares_the_workers(tmp_path: Path) -> None:
    # A "worker" and a "phone" are plain sockets: what is measured is the edge alone.
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                   for _ in range(3)]  # fmt: skip
        worker, phone, flooder = sockets
        for sock in sockets:
            sock.bind(("127.0.0.1", free_port()))
            sock.settimeout(0.2)
        worker_port = worker.getsockname()[1]
        kamailio = stack.enter_context(
            edge(tmp_path, [("127.0.0.1", worker_port)], pike_density=10)
        )
        edge_uri = f"sip:127.0.0.1:{kamailio.port}"
        flooder_port = flooder.getsockname()[1]
        for _ in range(150):
            flooder.sendto(_options(flooder_port, tag="flood", uri=edge_uri),
                           ("127.0.0.1", kamailio.port))  # fmt: skip
        answered = 0
        while True:
            try:
                flooder.recvfrom(65536)
            except TimeoutError:
                break
            answered += 1
        assert answered < 60, answered  # 10 per 2 s let through, the rest dropped
        assert "pike: flood from 127.0.0.1" in kamailio.log()
        # The source is blocked now (same IP, any port): one more gets no answer.
        flooder.sendto(_options(flooder_port, tag="flood", uri=edge_uri),
                       ("127.0.0.1", kamailio.port))  # fmt: skip
        with pytest.raises(TimeoutError):
            flooder.recvfrom(65536)
        # A worker on that same IP is exempt: its requests are still relayed.
        phone_uri = f"sip:bob@127.0.0.1:{phone.getsockname()[1]}"
        for _ in range(20):
            worker.sendto(_options(worker_port, tag="worker", uri=phone_uri),
                          ("127.0.0.1", kamailio.port))  # fmt: skip
        relayed: set[bytes] = set()  # by Call-ID: the edge retransmits what goes unanswered
        while True:
            try:
                data, _ = phone.recvfrom(65536)
            except TimeoutError:
                break
            found = re.search(rb"Call-ID: (\S+)", data)
            if data.startswith(b"OPTIONS ") and found:
                relayed.add(found.group(1))
        assert len(relayed) == 20, len(relayed)
