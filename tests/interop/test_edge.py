"""dialtone behind its SIP edge (issue 19): Kamailio with the shipped configuration in
front of one worker. Phones (baresip, sipp) register and call THROUGH the edge; the
edge's OPTIONS probes are answered; the client's address reaches the worker in
``X-Dialtone-Source`` and is believed only from the edge.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialtone.sip import digest
from tests.programs.kamailio import Edge, edge

from .baresip import Baresip, read_samples, require_baresip, rms, tone_power
from .conftest import (
    Platform,
    add_trunk,
    calls,
    free_port,
    free_sip_port,
    poll,
    registrations,
    require_sipp,
    run_sipp,
    serving,
    sipp_errors,
    sippgen,
)
from .edge_cluster import PASSWORD

pytestmark = pytest.mark.interop

ALICE_HZ, BOB_HZ = 440.0, 880.0


@dataclass
class BehindEdge:
    worker: Platform
    edge: Edge
    tmp: Path

    def phone(self, name: str, **options: object) -> Baresip:
        """A baresip whose registrar (and outbound proxy: its domain) is the edge."""
        phone = Baresip(
            self.tmp,
            name,
            user=name,
            password=PASSWORD,
            registrar_port=self.edge.port,
            **options,  # type: ignore[arg-type]
        )
        self._phones.append(phone)
        return phone

    def __post_init__(self) -> None:
        self._phones: list[Baresip] = []


@pytest.fixture
def behind_edge(tmp_path: Path) -> Iterator[BehindEdge]:
    """One worker (users alice 201 and bob 202) behind a Kamailio edge."""
    require_baresip()
    require_sipp()
    edge_port, worker_port = free_sip_port(), free_sip_port()
    with (
        serving(
            tmp_path / "w1",
            users=(("alice", "201"), ("bob", "202")),
            password=PASSWORD,
            ring_seconds="0.2",
            digest_algorithms="MD5",
            sip_port=str(worker_port),
            sip_tcp_port=str(worker_port),
            edge_addresses=f"127.0.0.1:{edge_port}",
        ) as worker,
        edge(tmp_path, [("127.0.0.1", worker_port)], port=edge_port) as kamailio,
    ):
        running = BehindEdge(worker, kamailio, tmp_path)
        try:
            yield running
        finally:
            for phone in running._phones:
                phone.stop()


def registration_of(platform: Platform, user: str) -> dict[str, object] | None:
    user_id = platform.extra[user]
    return next((r for r in registrations(platform) if r["user_id"] == user_id), None)


def wait_registered(setup: BehindEdge, phone: Baresip, user: str) -> dict[str, object]:
    found = poll(lambda: registration_of(setup.worker, user))
    assert found is not None, (
        f"{user} never registered\n--- baresip ---\n{phone.log()[-3000:]}"
        f"\n--- edge ---\n{setup.edge.log()[-3000:]}"
        f"\n--- worker ---\n{setup.worker.log()[-3000:]}"
    )
    return found


def test_the_edge_probes_the_worker_and_phones_register_and_call_through_it(
    behind_edge: BehindEdge,
) -> None:
    setup = behind_edge
    worker_port = setup.worker.sip_port
    # The edge's OPTIONS probes are answered: the worker is active and probed.
    assert poll(lambda: setup.edge.worker_flags().get(worker_port) == "AP", 5), (
        setup.edge.worker_flags()
    )
    bob = setup.phone("bob", transport="tcp", tone_hz=BOB_HZ)  # phones use both
    alice = setup.phone("alice", transport="udp", tone_hz=ALICE_HZ)
    bob_binding = wait_registered(setup, bob, "bob")
    alice_binding = wait_registered(setup, alice, "alice")
    # The bindings name the phones, not the edge (X-Dialtone-Source from the edge).
    assert alice_binding["source"] == f"udp:127.0.0.1:{alice.sip_port}", alice_binding
    source = str(bob_binding["source"])
    assert source.startswith("udp:127.0.0.1:"), bob_binding  # the worker's side is UDP
    assert not source.endswith(f":{setup.edge.port}"), bob_binding
    assert "via tcp 127.0.0.1:" in setup.worker.log()  # the phone's own transport, logged

    alice.dial("202")
    alice.wait_event("CALL_ESTABLISHED")
    bob.wait_event("CALL_ESTABLISHED")
    alice.wait_event("CALL_RTPESTAB")
    bob.wait_event("CALL_RTPESTAB")
    time.sleep(1.5)  # the length of the audio checked
    assert alice.command("hangup").get("ok")
    bob.wait_event("CALL_CLOSED")
    alice.stop()
    bob.stop()
    for listener, heard_hz, other_hz in ((bob, ALICE_HZ, BOB_HZ), (alice, BOB_HZ, ALICE_HZ)):
        samples = read_samples(listener.received())
        assert len(samples) > 4000, f"{listener.name} decoded under half a second"
        assert rms(samples) > 1000, f"{listener.name} heard silence"
        assert tone_power(samples, heard_hz) > 100 * tone_power(samples, other_hz)

    [call] = poll(lambda: calls(setup.worker))
    assert call["status"] == "completed", call
    legs = call["legs"]
    assert [(leg["kind"], leg["id"]) for leg in legs] == [
        ("user", setup.worker.extra["alice"]),
        ("device", setup.worker.extra["bob"]),
    ], legs
    # V11's traceback names the phones' own addresses, not the edge's.
    assert legs[0]["source"] == f"udp:127.0.0.1:{alice.sip_port}", legs
    assert all(not leg["source"].endswith(f":{setup.edge.port}") for leg in legs), legs


def test_a_sipp_call_through_the_edge_reaches_a_registered_baresip(
    behind_edge: BehindEdge,
) -> None:
    setup = behind_edge
    worker = setup.worker
    with worker.http() as http:
        routed = http.put(
            f"/v1/numbers/{worker.number}/route",
            json={"kind": "user", "target": worker.extra["bob"]},
        )
    assert routed.status_code == 200, routed.text
    bob = setup.phone("bob")
    wait_registered(setup, bob, "bob")
    code = asyncio.run(
        run_sipp(
            setup.tmp,
            "caller",
            sippgen.proxy_call(worker.number),
            port=free_port(),
            target=setup.edge.port,
        )
    )
    assert code == 0, sipp_errors(setup.tmp, "caller") + setup.edge.log()[-3000:]
    bob.wait_event("CALL_CLOSED")
    [call] = poll(lambda: calls(worker))
    assert call["status"] == "completed", call
    assert [leg["kind"] for leg in call["legs"]] == ["public", "device"], call


def test_the_source_header_is_believed_from_the_edge_and_not_from_a_client(
    behind_edge: BehindEdge,
) -> None:
    # A trunk is known by its address. Through the edge, a call from the trunk's address
    # is the trunk's (X-Dialtone-Source names it): a call to a number that is not ours
    # gets 404 (a carrier's call has no route). Straight to the worker, a client naming
    # the trunk's address in the same header is a stranger: 407, the header ignored.
    setup = behind_edge
    trunk_port = free_port()
    add_trunk(setup.worker, trunk_port, name="carrier")
    outside = "+442071838750"

    def expect(status: int, *, port: int, target: int, spoof: bool) -> None:
        extra = (f"X-Dialtone-Source: udp:127.0.0.1:{trunk_port}",) if spoof else ()
        xml = sippgen.call(outside, expect=status)
        if extra:
            xml = xml.replace(
                "User-Agent: sipp-interop", "User-Agent: sipp-interop\n      " + extra[0]
            )
        name = f"expect-{status}-{port}"
        code = asyncio.run(run_sipp(setup.tmp, name, xml, port=port, target=target))
        assert code == 0, sipp_errors(setup.tmp, name) + setup.worker.log()[-3000:]

    expect(404, port=trunk_port, target=setup.edge.port, spoof=False)
    # The edge removes a client's copy of the header and writes the real one.
    expect(407, port=free_port(), target=setup.edge.port, spoof=True)
    expect(407, port=free_port(), target=setup.worker.sip_port, spoof=True)


class NatPhone:
    """A phone behind NAT, as the edge sees it: a plain UDP socket on loopback whose
    Contact names a private address nothing can reach (10.255.255.1). Only the edge's
    Path (``received``) and ``;alias=`` (nathelper) can bring requests to it."""

    CONTACT = "<sip:bob@10.255.255.1:5060>"

    def __init__(self, edge_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", free_port()))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.edge = ("127.0.0.1", edge_port)
        self.seen: list[str] = []

    def close(self) -> None:
        self.sock.close()

    def _recv(self) -> str:
        data, _ = self.sock.recvfrom(65536)
        text = data.decode()
        self.seen.append(text.split("\r\n", 1)[0])
        return text

    def register(self, password: str) -> None:
        uri = f"sip:127.0.0.1:{self.edge[1]}"
        authorization = ""
        for cseq in (1, 2):
            self.sock.sendto(
                (
                    f"REGISTER {uri} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 10.255.255.1:5060;branch=z9hG4bKreg{cseq};rport\r\n"
                    f"From: <sip:bob@127.0.0.1:{self.edge[1]}>;tag=nat1\r\n"
                    f"To: <sip:bob@127.0.0.1:{self.edge[1]}>\r\n"
                    f"Call-ID: nat-reg-{self.port}\r\nCSeq: {cseq} REGISTER\r\n"
                    f"Contact: {self.CONTACT}\r\nExpires: 600\r\n{authorization}"
                    "Content-Length: 0\r\n\r\n"
                ).encode(),
                self.edge,
            )
            answer = self._recv()
            status = int(answer.split(" ", 2)[1])
            if status == 200:
                return
            assert status == 401, answer
            challenge_value = re.search(r"WWW-Authenticate: (.*)\r\n", answer)
            assert challenge_value is not None
            value = digest.authorization(
                challenge_value.group(1), method="REGISTER", uri=uri, username="bob",
                password=password, cnonce="c0ffee",
            )  # fmt: skip
            authorization = f"Authorization: {value}\r\n"
        raise AssertionError("not registered")

    def answer_call(self) -> None:
        """Take the INVITE (200, Record-Route echoed, private Contact), then the ACK and
        the BYE of the worker, each reaching it only through the edge."""
        invite = self._recv()
        while not invite.startswith("INVITE "):
            invite = self._recv()
        headers = invite.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        keep = [h for h in headers if h.split(":", 1)[0].lower() in
                ("via", "from", "call-id", "cseq", "record-route")]  # fmt: skip
        to = next(h for h in headers if h.lower().startswith("to:"))
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 10.255.255.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {free_port()} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
        )
        ok = "\r\n".join(
            ["SIP/2.0 200 OK", *keep, f"{to};tag=natphone", f"Contact: {self.CONTACT}",
             "Content-Type: application/sdp", f"Content-Length: {len(sdp)}", "", sdp]
        )  # fmt: skip
        got = ""
        for _ in range(8):  # the 200 again until the ACK comes
            self.sock.sendto(ok.encode(), self.edge)
            try:
                got = self._recv()
            except TimeoutError:
                continue
            if got.startswith("ACK "):
                break
        assert got.startswith("ACK "), self.seen
        bye = self._recv()
        while not bye.startswith("BYE "):
            bye = self._recv()
        bye_headers = bye.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        reply = [h for h in bye_headers if h.split(":", 1)[0].lower() in
                 ("via", "from", "to", "call-id", "cseq")]  # fmt: skip
        self.sock.sendto(("\r\n".join(["SIP/2.0 200 OK", *reply, "Content-Length: 0", "", ""])
                          ).encode(), self.edge)  # fmt: skip


def test_a_phone_behind_nat_is_reached_through_the_edge_in_and_after_the_invite(
    behind_edge: BehindEdge,
) -> None:
    # Registered with a private Contact: the INVITE reaches it through the Path's
    # ``received``; its 200 names the private address again, which the edge aliases, so
    # the worker's ACK and BYE find it too.
    setup = behind_edge
    worker = setup.worker
    with worker.http() as http:
        routed = http.put(
            f"/v1/numbers/{worker.number}/route",
            json={"kind": "user", "target": worker.extra["bob"]},
        )
    assert routed.status_code == 200, routed.text
    phone = NatPhone(setup.edge.port)
    try:
        phone.register(PASSWORD)
        [binding] = poll(lambda: registrations(worker))
        assert binding["source"] == f"udp:127.0.0.1:{phone.port}", binding
        answering = threading.Thread(target=phone.answer_call)
        answering.start()
        code = asyncio.run(
            run_sipp(setup.tmp, "nat-caller", sippgen.proxy_call(worker.number, hold_ms=300),
                     port=free_port(), target=setup.edge.port)
        )  # fmt: skip
        answering.join(20)
        assert code == 0, sipp_errors(setup.tmp, "nat-caller") + str(phone.seen)
        # The worker's ACK and BYE reached the private Contact through the edge's alias.
        assert [line.split()[0] for line in phone.seen[-2:]] == ["ACK", "BYE"], phone.seen
        [call] = poll(lambda: calls(worker))
        assert call["status"] == "completed", call
    finally:
        phone.close()
