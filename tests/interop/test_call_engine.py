"""The call engine against real SIP peers (sipp) over loopback: registrar and digest,
calls to registered phones, trunks with failover, CANCEL, hold, transfer, DTMF, voicemail
and the one-call-per-user rule (TERMS V2, V10, V11, N10)."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import math
import socket
import ssl
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dialtone.policy.telemarketing import calling_window
from dialtone.runtime.sealing import CallFacts
from dialtone.services.telephony.greetings import recording_notice_path
from dialtone.sip.digest import authorization
from dialtone.sip.framing import StreamFramer
from dialtone.sip.message import Request, Response, make_response, parse_message
from dialtone.store import sealed

from . import sippgen
from .conftest import (
    SIPP,
    Platform,
    add_trunk,
    calls,
    cli,
    free_port,
    free_rtp_range,
    provision,
    require_sipp,
    serving,
    start_platform,
    stop_platform,
)
from .conftest import poll as wait_for

pytestmark = pytest.mark.interop

PCAP = "/usr/share/sip-tester/g711a.pcap"
DTMF_PCAP = "/usr/share/sip-tester/dtmf_2833_1.pcap"
PASSWORD = "correct-horse-1"
NY_NUMBER = "+12125550199"  # New York: one-party consent (TERMS V8)


class SpeechToTextStandIn:
    """Stands in for the outside speech-to-text service (OpenAI-compatible
    ``POST /v1/audio/transcriptions``) on a loopback port; keeps what it was sent."""

    TEXT = "Please call me back about the invoice."

    def __init__(self) -> None:
        received = self.received = []  # type: list[bytes]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(body)
                reply = json.dumps({"text": SpeechToTextStandIn.TEXT}).encode()
                ok = self.path == "/v1/audio/transcriptions" and b"RIFF" in body
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stt() -> Iterator[SpeechToTextStandIn]:
    service = SpeechToTextStandIn()
    yield service
    service.close()


@pytest.fixture
def engine(tmp_path: Path, stt: SpeechToTextStandIn) -> Iterator[Platform]:
    """A platform with an account, its number, users alice (201) and bob (202), and
    voicemail transcription through the stand-in speech-to-text service."""
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"), ("bob", "202")),
        password=PASSWORD,
        transcriber_url=stt.url,
        ring_seconds="0.2",
        no_answer_seconds="2",
        auth_failures_allowed="3",
        digest_algorithms="MD5",
    ) as running:
        yield running


class Sipp:
    """A sipp process running a generated scenario (a phone, a carrier or a caller)."""

    def __init__(
        self,
        platform: Platform,
        tmp: Path,
        name: str,
        xml: str,
        *,
        server: bool = False,
        port: int | None = None,
        user: str | None = None,
        password: str = PASSWORD,
        service: str = "dialtone",
        timeout: float = 30,
        transport: str = "u1",
    ) -> None:
        assert SIPP is not None
        self.port = port or free_port()
        self.media_port = free_rtp_range(20)[0]
        scenario = sippgen.write(tmp, f"{name}.xml", xml)
        args = [
            SIPP,
            *([] if server else [f"127.0.0.1:{platform.sip_port}"]),
            "-sf",
            str(scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mp",
            str(self.media_port),
            "-m",
            "1",
            "-s",
            service,
            "-t",
            transport,
            "-timeout",
            f"{int(timeout)}s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-trace_msg",
            "-trace_stat",
            "-stf",
            str(tmp / f"{name}.stat.csv"),
            "-message_file",
            str(tmp / f"{name}.msg.log"),
            "-error_file",
            str(tmp / f"{name}.err.log"),
        ]
        if user is not None:
            args += ["-au", user, "-ap", password]
        self.name = name
        self.tmp = tmp
        self.timeout = timeout
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp
        )

    def wait(self, platform: Platform) -> None:
        """Wait for the scenario to end; fail with sipp's and the server's logs if it failed."""
        try:
            out, _ = self.process.communicate(timeout=self.timeout + 15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        if self.process.returncode != 0:
            messages = ""
            with contextlib.suppress(OSError):
                messages = (self.tmp / f"{self.name}.msg.log").read_text(errors="replace")[-6000:]
            # The other peers of the test (a callee that never answered, say) often hold
            # the cause; the tail of each one's message log is shown too.
            others = "".join(
                f"--- sipp {log.name} (tail) ---\n{log.read_text(errors='replace')[-1500:]}\n"
                for log in sorted(self.tmp.glob("*.msg.log"))
                if log.name != f"{self.name}.msg.log"
            )
            pytest.fail(
                f"sipp {self.name} exited {self.process.returncode}\n{out[-3000:]}\n"
                f"--- sipp messages ---\n{messages}\n{others}"
                f"--- server log ---\n{platform.log()[-6000:]}"
            )
        stats = self.statistics()
        assert stats["FailedCall(C)"] == "0", stats
        assert stats["SuccessfulCall(C)"] == "1", stats

    def statistics(self) -> dict[str, str]:
        """The cumulative counters of sipp's -trace_stat file (last row)."""
        lines = (self.tmp / f"{self.name}.stat.csv").read_text().strip().splitlines()
        return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))


def run(platform: Platform, tmp: Path, name: str, xml: str, **kw: Any) -> None:
    Sipp(platform, tmp, name, xml, **kw).wait(platform)


def register_phone(platform: Platform, tmp: Path, user: str, phone_port: int) -> None:
    """Register ``user`` with a Contact on ``phone_port`` (where a sipp UAS listens)."""
    run(
        platform,
        tmp,
        f"reg-{user}",
        sippgen.register(user, contact_port=str(phone_port)),
        user=user,
    )


def registered_phone(
    platform: Platform, tmp: Path, user: str, xml: str, *, name: str | None = None, **kw: Any
) -> Sipp:
    """A sipp UAS running ``xml`` (named ``name``, else ``user``), registered as ``user``'s
    phone."""
    phone = Sipp(platform, tmp, name or user, xml, server=True, **kw)
    register_phone(platform, tmp, user, phone.port)
    return phone


def recording_policy(platform: Platform, policy: str) -> None:
    """The account's recording policy (TERMS V8): "notice", "one_party", …"""
    with platform.http() as http:
        changed = http.patch("/v1/account", json={"recording_policy": policy})
    assert changed.status_code == 200, changed.text


def new_york_number(platform: Platform) -> str:
    """A New York number (one-party consent) leased to the account by the operator
    (activated at once; a customer's own lease waits for its documents, N3)."""
    cli(platform.env, "numbers", "add", NY_NUMBER, "--account", platform.account_id)
    return NY_NUMBER


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def route(platform: Platform, number: str, **body: Any) -> None:
    with platform.http() as http:
        response = http.put(f"/v1/numbers/{number}/route", json=body)
    assert response.status_code == 200, response.text


# -- registrar -------------------------------------------------------------------------


def test_register_with_digest_then_bindings_are_listed(engine: Platform, tmp_path: Path) -> None:
    phone_port = free_port()
    register_phone(engine, tmp_path, "alice", phone_port)
    with engine.http() as http:
        regs = http.get("/v1/registrations").json()
    items = regs if isinstance(regs, list) else regs.get("registrations", regs.get("items", []))
    assert len(items) == 1, regs
    assert f":{phone_port}" in items[0]["contact"]


def test_v3_a_pbx_registering_behind_a_user_is_refused(engine: Platform, tmp_path: Path) -> None:
    # The credentials are right; the User-Agent says a PBX is behind the user: 403 with
    # the code, on the audit log, and no binding.
    run(
        engine,
        tmp_path,
        "reg-pbx",
        sippgen.register(
            "alice", user_agent="Asterisk PBX 20.5.0", refused_with="access.shared_or_pbx"
        ),
        user="alice",
    )
    with engine.http() as http:
        assert http.get("/v1/registrations").json()["registrations"] == []
        [event] = http.get("/v1/audit").json()["events"]
    assert (event["rule"], event["code"], event["action"]) == (
        "V3",
        "access.shared_or_pbx",
        "register",
    )


def test_two_devices_of_a_user_ring_together_and_unregister(
    engine: Platform, tmp_path: Path
) -> None:
    desk = registered_phone(
        engine, tmp_path, "alice", sippgen.phone(expect_cancel=True), name="desk"
    )
    mobile = Sipp(engine, tmp_path, "mobile", sippgen.phone(), server=True)
    run(
        engine,
        tmp_path,
        "reg-mobile",
        sippgen.register("alice", contact_port=str(mobile.port)),
        user="alice",
    )
    with engine.http() as http:
        assert len(http.get("/v1/registrations").json()["registrations"]) == 2
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(engine, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=500))
    desk.wait(engine)  # rang, then got our CANCEL when the mobile answered
    mobile.wait(engine)
    # Un-REGISTER (Expires: 0) removes the desk phone's binding only.
    run(
        engine,
        tmp_path,
        "unreg-desk",
        sippgen.register("alice", contact_port=str(desk.port), expires=0),
        user="alice",
    )
    with engine.http() as http:
        [left] = http.get("/v1/registrations").json()["registrations"]
    assert f":{mobile.port}" in left["contact"]


def test_wrong_password_is_challenged_again_then_the_source_is_blocked(
    engine: Platform, tmp_path: Path
) -> None:
    # auth_failures_allowed=3: three wrong answers get 401, the fourth 403 (TERMS D2).
    run(
        engine,
        tmp_path,
        "brute",
        sippgen.register("alice", bad_attempts=3, blocked=True),
        user="alice",
        password="wrong-password",
    )
    # The right password from the blocked source is refused too, for a while.
    run(engine, tmp_path, "after-block", sippgen.register("alice", refused=True), user="alice")
    with engine.http() as http:
        assert http.get("/v1/registrations").json() in ([], {"registrations": []}, {"items": []})


def test_a_success_for_another_user_does_not_reset_the_count_of_guesses(
    engine: Platform, tmp_path: Path
) -> None:
    # Issue 13, item 3: from one address, wrong passwords for alice, then the attacker's
    # own bob registers rightly, then more guesses at alice. auth_failures_allowed=3: the
    # three first guesses get 401, bob's success does not forget them, and the next guess
    # at alice is the fourth failure: 403 (TERMS D2).
    run(
        engine,
        tmp_path,
        "guesses",
        sippgen.register("alice", bad_attempts=3),
        user="alice",
        password="wrong-password",
    )
    register_phone(engine, tmp_path, "bob", free_port())
    run(
        engine,
        tmp_path,
        "more-guesses",
        sippgen.register("alice", blocked=True),
        user="alice",
        password="wrong-password",
    )


# -- calls to users --------------------------------------------------------------------


def test_registered_user_receives_a_call_with_traceback(engine: Platform, tmp_path: Path) -> None:
    phone = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=20, name="phone")
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(engine, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=1500))
    phone.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["status"] == "completed"
    assert call["direction"] == "inbound"
    kinds = [leg["kind"] for leg in call["legs"]]
    assert kinds == ["public", "device"], call["legs"]
    assert call["legs"][1]["id"] == engine.extra["alice"]
    assert call["legs"][1]["source"].startswith("udp:127.0.0.1:")


def test_recorded_account_plays_the_notice_then_records_both_legs(
    engine: Platform, tmp_path: Path
) -> None:
    # TERMS V8. The caller sends 7.05 s of audio from the ACK on; the notice lasts 1.76 s.
    # Recording after the notice keeps about 5.3 s of it; recording from the answer would
    # keep all 7 s.
    recording_policy(engine, "notice")
    phone = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=30, name="phone")
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(engine, tmp_path, "caller", sippgen.call("33123456789", pcap=PCAP, bye_after_ms=9000))
    phone.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["recording_url"], call
    with engine.http() as http:
        audio = http.get(call["recording_url"])
    assert audio.status_code == 200, audio.text
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        seconds = wav.getnframes() / 8000
        frames = memoryview(wav.readframes(wav.getnframes())).cast("h")
    notice = wav_seconds(recording_notice_path())
    assert 7.05 - notice - 1.0 < seconds < 7.05 - notice + 0.5, (seconds, notice)
    left = frames[0::2]
    assert math.sqrt(sum(x * x for x in left) / len(left)) > 300, "the caller's side is silent"


def _recording_seconds(platform: Platform, call: dict[str, Any]) -> float:
    assert call["recording_url"], call
    with platform.http() as http:
        audio = http.get(call["recording_url"])
    assert audio.status_code == 200, audio.text
    with wave.open(io.BytesIO(audio.content)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_v8_one_party_recording_skips_the_notice_only_where_every_partys_law_allows(
    engine: Platform, tmp_path: Path
) -> None:
    # Two calls at once, each caller sending 7.05 s of audio. New York to a New York
    # number of the account: one-party consent on both sides, recorded from the answer
    # without the notice (all 7 s). California (all-party) to the French number: the
    # notice plays first, as under "notice" (about 5.3 s kept).
    recording_policy(engine, "one_party")
    ny_number = new_york_number(engine)
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=30)
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(), timeout=30)
    route(engine, ny_number, kind="user", target=engine.extra["alice"])
    route(engine, engine.number, kind="user", target=engine.extra["bob"])
    new_yorker = Sipp(
        engine,
        tmp_path,
        "new-yorker",
        sippgen.call(ny_number[1:], from_user="+12125550100", pcap=PCAP, bye_after_ms=9000),
    )
    californian = Sipp(
        engine,
        tmp_path,
        "californian",
        sippgen.call("33123456789", from_user="+14155550100", pcap=PCAP, bye_after_ms=9000),
    )
    for peer in (new_yorker, californian, alice, bob):
        peer.wait(engine)
    records = wait_for(lambda: len(calls(engine)) == 2 and calls(engine))
    by_caller = {call["from"]: call for call in records}
    notice = wav_seconds(recording_notice_path())
    unannounced = _recording_seconds(engine, by_caller["+12125550100"])
    assert 7.05 - 0.6 < unannounced < 7.05 + 0.5, (unannounced, notice)
    announced = _recording_seconds(engine, by_caller["+14155550100"])
    assert 7.05 - notice - 1.0 < announced < 7.05 - notice + 0.5, (announced, notice)


def test_v8_an_objection_stops_the_recording_and_deletes_it(
    engine: Platform, tmp_path: Path
) -> None:
    # A click-to-call from alice to bob (extensions: the notice plays, then recording
    # starts); once the file is being written, a party objects: the file is gone at
    # once, the call goes on, its record has no recording and the objection is audited.
    recording_policy(engine, "one_party")
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=30)
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(hang_up_after_ms=5000))
    folder = engine.data_dir / "recordings" / engine.account_id
    with engine.http() as http:
        placed = http.post("/v1/calls", json={"user_id": engine.extra["alice"], "to": "202"})
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["id"]
        wav = folder / f"{call_id}.wav.sealed"  # sealed as it is written (D5)
        assert wait_for(wav.exists), f"the recording never started:\n{engine.log()[-3000:]}"
        objected = http.post(f"/v1/calls/{call_id}/recording/objection")
        assert objected.status_code == 204, objected.text
        assert not wav.exists()
        again = http.post(f"/v1/calls/{call_id}/recording/objection")
        assert (again.status_code, again.json()["code"]) == (409, "recording.not_recording")
    bob.wait(engine)
    alice.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert (call["id"], call["status"], call["recording_url"]) == (call_id, "completed", None)
    assert list(folder.iterdir()) == []  # nothing written again, nothing sealed
    [event] = [e for e in _audit(engine) if e["code"] == "recording.objected"]
    assert (event["rule"], event["outcome"], event["action"]) == (
        "V8",
        "enforced",
        "call.recording",
    )
    assert event["details"]["call_id"] == call_id
    assert event["actor"].startswith("api_key:")
    with engine.http() as http:
        ended = http.post(f"/v1/calls/{call_id}/recording/objection")
    assert (ended.status_code, ended.json()["code"]) == (404, "call.not_found")


class TlsPhone:
    """A phone on a TLS connection to the server, verifying the server's generated
    certificate (RFC 3261 §26.2.1 sips-style transport; §18.3 framing)."""

    def __init__(self, platform: Platform) -> None:
        context = ssl.create_default_context(cafile=platform.data_dir / "tls" / "sip-cert.pem")
        port = int(platform.env["DIALTONE_SIP_TLS_PORT"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.local = self.sock.getsockname()
        self.framer = StreamFramer()
        self.pending: list[Request | Response] = []

    def send(self, message: bytes) -> None:
        self.sock.sendall(message)

    def receive(self) -> Request | Response:
        while not self.pending:
            data = self.sock.recv(65535)
            assert data, "the server closed the TLS connection"
            self.pending += [
                parse_message(m, stream=True)
                for m in self.framer.feed(data)
                if isinstance(m, bytes)
            ]
        return self.pending.pop(0)

    def register(self, user: str, authorization: str | None = None, cseq: int = 1) -> bytes:
        host, port = self.local
        lines = [
            "REGISTER sip:127.0.0.1 SIP/2.0",
            f"Via: SIP/2.0/TLS {host}:{port};branch=z9hG4bKtls{cseq};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@127.0.0.1>;tag=tls1",
            f"To: <sip:{user}@127.0.0.1>",
            "Call-ID: tls-reg-1",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{user}@{host}:{port};transport=tls>",
            "Expires: 300",
            "User-Agent: tls-test-phone",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


def test_phone_over_tls_registers_and_receives_a_call(engine: Platform, tmp_path: Path) -> None:
    phone = TlsPhone(engine)
    phone.send(phone.register("alice"))
    challenge = phone.receive()
    assert isinstance(challenge, Response)
    assert challenge.status == 401
    answer = authorization(
        challenge.headers.get("WWW-Authenticate") or "",
        method="REGISTER",
        uri="sip:127.0.0.1",
        username="alice",
        password=PASSWORD,
        cnonce="tlsphone",
    )
    phone.send(phone.register("alice", answer, cseq=2))
    ok = phone.receive()
    assert isinstance(ok, Response)
    assert ok.status == 200
    with engine.http() as http:
        [binding] = http.get("/v1/registrations").json()["registrations"]
    assert binding["transport"] == "tls"
    # A call to alice reaches the phone on its TLS connection; it answers busy, so the
    # caller ends up in alice's voicemail.
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    caller = Sipp(
        engine, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=500), timeout=20
    )
    invite = phone.receive()
    while isinstance(invite, Response) or invite.method != "INVITE":
        invite = phone.receive()
    assert str(invite.uri).startswith("sip:alice@")
    busy = make_response(invite, 486, to_tag="tlsbusy")
    phone.send(busy.encode())
    ack = phone.receive()
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    caller.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    # Busy: nobody answered and voicemail took it; the busy phone is in the chain (V11)
    # with its answer.
    device_legs = [leg for leg in call["legs"] if leg["kind"] == "device"]
    assert [(leg["id"], leg["status"]) for leg in device_legs] == [
        (engine.extra["alice"], "486")
    ], call["legs"]
    assert device_legs[0]["source"].startswith("tls:"), device_legs
    phone.sock.close()


def ring_group(platform: Platform, strategy: str, members: list[str], seconds: int = 5) -> str:
    with platform.http() as http:
        made = http.post(
            "/v1/ring-groups",
            json={
                "name": f"{strategy} team",
                "strategy": strategy,
                "member_seconds": seconds,
                "user_ids": [platform.extra[m] for m in members],
            },
        )
    assert made.status_code == 201, made.text
    group_id: str = made.json()["id"]
    return group_id


def test_parallel_ring_group_first_answer_wins(engine: Platform, tmp_path: Path) -> None:
    # alice rings and never answers: she gets our CANCEL when bob picks up.
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(expect_cancel=True))
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone())
    route(
        engine, engine.number, kind="group", target=ring_group(engine, "parallel", ["alice", "bob"])
    )
    run(engine, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=1000))
    alice.wait(engine)
    bob.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["status"] == "completed"
    assert [leg["id"] for leg in call["legs"]][1:] == [engine.extra["bob"]]
    # The member who took the call is its user (his own record, D1); nobody placed it.
    assert (call["user_id"], call["caller_user_id"]) == (engine.extra["bob"], None)


def test_sequential_ring_group_moves_on_after_the_member_timeout(
    engine: Platform, tmp_path: Path
) -> None:
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(expect_cancel=True))
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(), timeout=30)
    group = ring_group(engine, "sequential", ["alice", "bob"], seconds=5)
    route(engine, engine.number, kind="group", target=group)
    started = time.monotonic()
    run(engine, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=500), timeout=30)
    alice.wait(engine)
    bob.wait(engine)
    assert time.monotonic() - started >= 5  # alice rang her full 5 s first
    [call] = wait_for(lambda: calls(engine))
    assert [leg["id"] for leg in call["legs"]][1:] == [engine.extra["bob"]]


def test_forward_to_an_external_number_shows_the_forwarded_number(
    engine: Platform, tmp_path: Path
) -> None:
    carrier = Sipp(
        engine, tmp_path, "carrier", sippgen.phone(expect_caller=r"\+33123456789"), server=True
    )
    # Named "localhost": on loopback the caller shares the carrier's address, and a trunk
    # written as an IP would (rightly) be taken for the caller's upstream.
    add_trunk(engine, carrier.port, 10, "carrier-a", host="localhost")
    route(engine, engine.number, kind="forward", target="+442071838750")
    run(engine, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=800))
    carrier.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert (call["direction"], call["to"]) == ("forward", "+442071838750")
    assert [leg["kind"] for leg in call["legs"]] == ["public", "trunk"]


def test_forward_without_an_active_trunk_is_refused_n10(engine: Platform, tmp_path: Path) -> None:
    route(engine, engine.number, kind="forward", target="+442071838750")
    run(
        engine,
        tmp_path,
        "caller",
        sippgen.call(
            "33123456789", expect=480, expect_header=("Reason", "route.inactive_endpoint")
        ),
    )


def test_users_call_each_other_by_extension(engine: Platform, tmp_path: Path) -> None:
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone())
    run(
        engine,
        tmp_path,
        "alice-calls",
        sippgen.call("202", from_user="alice", auth=True, bye_after_ms=800),
        user="alice",
    )
    bob.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["direction"] == "internal"
    # Bob took it, alice placed it: both users' own record (D1).
    assert (call["user_id"], call["caller_user_id"]) == (
        engine.extra["bob"],
        engine.extra["alice"],
    )
    assert [(leg["kind"], leg["id"]) for leg in call["legs"]] == [
        ("user", engine.extra["alice"]),
        ("device", engine.extra["bob"]),
    ]


def test_early_media_reaches_the_caller(engine: Platform, tmp_path: Path) -> None:
    phone = registered_phone(
        engine, tmp_path, "alice", sippgen.phone(early_media=True), name="phone"
    )
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(
        engine,
        tmp_path,
        "caller",
        sippgen.call("33123456789", expect_early_media=True, bye_after_ms=500),
    )
    phone.wait(engine)


def test_cancel_while_the_phone_rings(engine: Platform, tmp_path: Path) -> None:
    phone = registered_phone(
        engine, tmp_path, "alice", sippgen.phone(expect_cancel=True), name="phone"
    )
    route(engine, engine.number, kind="user", target=engine.extra["alice"], no_answer_seconds=10)
    run(engine, tmp_path, "caller", sippgen.call("33123456789", cancel_after_ms=800))
    phone.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["status"] == "canceled"


def test_hold_reinvite_reaches_the_far_leg(engine: Platform, tmp_path: Path) -> None:
    phone = registered_phone(
        engine, tmp_path, "alice", sippgen.phone(expect_reinvite="sendonly"), name="phone"
    )
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(engine, tmp_path, "caller", sippgen.call("33123456789", hold_after_ms=500))
    phone.wait(engine)


def test_sip_info_dtmf_reaches_the_far_leg(engine: Platform, tmp_path: Path) -> None:
    phone = registered_phone(
        engine, tmp_path, "alice", sippgen.phone(expect_info=True), name="phone"
    )
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(engine, tmp_path, "caller", sippgen.call("33123456789", info_dtmf="5"))
    phone.wait(engine)


def test_rfc4733_dtmf_reaches_the_far_leg(engine: Platform, tmp_path: Path) -> None:
    # The phone's SDP names a port where this test listens: what arrives there is what the
    # relay sent towards the far leg.
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    phone = registered_phone(
        engine, tmp_path, "alice", sippgen.phone(media_port=str(port)), name="phone"
    )
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    caller = Sipp(
        engine, tmp_path, "caller", sippgen.call("33123456789", pcap=DTMF_PCAP, bye_after_ms=2500)
    )
    events = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and caller.process.poll() is None:
        with contextlib.suppress(TimeoutError):
            data = listener.recv(2048)
            if len(data) > 12 and data[1] & 0x7F == 101:
                events += 1
    caller.wait(engine)
    phone.wait(engine)
    listener.close()
    assert events > 0, "no RFC 4733 telephone-event packet reached the far leg"


def test_blind_transfer_with_refer(engine: Platform, tmp_path: Path) -> None:
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone())
    # Bob is shown who he is connected to, alice (201), not the caller who transferred
    # her, who is named in Referred-By (RFC 3515, RFC 5589 §6).
    bob = registered_phone(
        engine,
        tmp_path,
        "bob",
        sippgen.phone(
            hang_up_after_ms=500,
            expect_caller="201",
            expect_headers=(("Referred-By", r"sip:\+14155550100@"),),
        ),
    )
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    # The caller (transferor) sends alice (transferee) to bob (extension 202): REFER, 202,
    # NOTIFY 100 then 200, and our BYE to the caller. Alice then talks with bob; when bob
    # hangs up, alice gets the BYE.
    run(engine, tmp_path, "transferor", sippgen.call("33123456789", refer_to="202"))
    bob.wait(engine)
    alice.wait(engine)
    records = wait_for(lambda: calls(engine))
    assert len(records) == 1, records
    # The leg chain (V11) shows the caller, alice's device, then bob's after the transfer.
    legs = records[0]["legs"]
    assert [leg["kind"] for leg in legs] == ["public", "device", "device"], legs
    assert [leg["id"] for leg in legs[1:]] == [engine.extra["alice"], engine.extra["bob"]]


def test_a_transfer_during_a_recording_rewrites_the_calls_note(
    engine: Platform, tmp_path: Path
) -> None:
    # TERMS D5. New York to a New York number (one-party consent: recorded from the
    # answer). The caller transfers alice to bob while the recording runs: the note kept
    # beside the recording for a crash says what the finished record will (bob's leg
    # too) before the call ends, not only what was known when the recording started.
    recording_policy(engine, "one_party")
    ny_number = new_york_number(engine)
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=30)
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(hang_up_after_ms=8000))
    route(engine, ny_number, kind="user", target=engine.extra["alice"])
    # The transferor's scenario ends after our NOTIFY 200 and BYE: the transfer has
    # connected, and bob stays on the call for 8 s more.
    run(
        engine,
        tmp_path,
        "transferor",
        sippgen.call(ny_number[1:], from_user="+12125550100", refer_to="202"),
    )
    folder = engine.data_dir / "recordings" / engine.account_id
    [note] = list(folder.glob("*.call.sealed"))
    key = sealed.key_for(None, engine.data_dir / "keys" / "recordings.key")
    facts = CallFacts.from_json(sealed.read(note, key))
    assert [leg["id"] for leg in facts.legs[1:]] == [engine.extra["alice"], engine.extra["bob"]]
    bob.wait(engine)
    alice.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["recording_url"], call
    assert [leg["id"] for leg in call["legs"]] == [leg["id"] for leg in facts.legs]
    assert not list(folder.glob("*.call.sealed"))  # the record is committed: note gone


def test_voicemail_on_no_answer(engine: Platform, tmp_path: Path, stt: SpeechToTextStandIn) -> None:
    phone = registered_phone(engine, tmp_path, "alice", sippgen.phone(answer=False), name="phone")
    route(engine, engine.number, kind="user", target=engine.extra["alice"], no_answer_seconds=5)
    run(
        engine,
        tmp_path,
        "caller",
        sippgen.call("33123456789", pcap=PCAP, bye_after_ms=9000),
        timeout=40,
    )
    phone.wait(engine)
    with engine.http() as http:
        listing = wait_for(lambda: http.get("/v1/voicemails").json())
        items = listing if isinstance(listing, list) else listing.get("voicemails", [])
        assert len(items) == 1, listing
        message = items[0]
        assert message["heard"] is False
        # TERMS V9: the transcript comes from the speech-to-text service, labelled.
        transcribed = wait_for(
            lambda: http.get(f"/v1/voicemails/{message['id']}").json()["transcript"]
        )
        labelled = http.get(f"/v1/voicemails/{message['id']}").json()
        audio = http.get(f"/v1/voicemails/{message['id']}/audio")
    assert transcribed == SpeechToTextStandIn.TEXT
    assert labelled["transcript_label"] == "machine-generated"
    [sent] = stt.received
    assert b"RIFF" in sent
    assert len(sent) > 8000  # the message's WAV, not an empty file
    assert audio.status_code == 200
    with wave.open(io.BytesIO(audio.content)) as wav:
        pcm = wav.readframes(wav.getnframes())
    samples = memoryview(pcm).cast("h")
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
    assert rms > 300, "the voicemail is silence"


def test_unregistered_user_goes_to_voicemail(engine: Platform, tmp_path: Path) -> None:
    route(engine, engine.number, kind="user", target=engine.extra["bob"])
    run(engine, tmp_path, "caller", sippgen.call("33123456789", pcap=PCAP, bye_after_ms=6000))
    with engine.http() as http:
        listing = wait_for(lambda: http.get("/v1/voicemails").json())
    items = listing if isinstance(listing, list) else listing.get("voicemails", [])
    assert len(items) == 1
    # The record names the box's owner, as an answered call names its callee.
    [call] = wait_for(lambda: calls(engine))
    assert (call["direction"], call["user_id"]) == ("inbound", engine.extra["bob"])
    assert call["caller_user_id"] is None  # a caller from outside


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_device_call_declined_to_voicemail_is_recorded_like_an_answered_one(
    engine: Platform, tmp_path: Path
) -> None:
    # alice (201) calls bob (202), whose phone declines (603) after 1.5 s: voicemail takes
    # the call. Its record is internal, names bob, shows alice by extension, started when
    # the INVITE arrived (not when voicemail answered) and keeps bob's declining phone.
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(status=603, refuse_after_ms=1500))
    run(
        engine,
        tmp_path,
        "alice-calls",
        sippgen.call("202", from_user="alice", auth=True, pcap=PCAP, bye_after_ms=3000),
        user="alice",
    )
    bob.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert (call["direction"], call["user_id"], call["from"], call["to"]) == (
        "internal",
        engine.extra["bob"],
        "201",
        "202",
    )
    assert call["caller_user_id"] == engine.extra["alice"]  # her own record too (D1)
    assert _seconds(call["answered_at"]) - _seconds(call["started_at"]) >= 1.4, call
    assert [(leg["kind"], leg["id"], leg.get("status")) for leg in call["legs"]] == [
        ("user", engine.extra["alice"], None),
        ("device", engine.extra["bob"], "603"),
    ]
    with engine.http() as http:
        [message] = wait_for(lambda: http.get("/v1/voicemails").json()["voicemails"])
    assert (message["from"], message["user_id"]) == ("201", engine.extra["bob"])


# -- trunks ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["greeting", "voicemail", "user"])
def test_a_trunks_call_answered_by_us_keeps_its_trunk(
    engine: Platform, tmp_path: Path, kind: str
) -> None:
    # A carrier's call that a greeting, a voicemail route or the voicemail of a user with
    # no phone answers is recorded with the trunk it came from, as a bridged one is.
    port = free_port()
    trunk_id = add_trunk(engine, port, 10, "carrier-a")
    target = None if kind == "greeting" else engine.extra["bob"]
    route(engine, engine.number, kind=kind, target=target)
    run(
        engine,
        tmp_path,
        "carrier",
        sippgen.call("33123456789", pcap=PCAP, bye_after_ms=3000),
        port=port,
    )
    [call] = wait_for(lambda: calls(engine))
    assert [leg["kind"] for leg in call["legs"]] == ["trunk"], call["legs"]
    assert call["trunk_id"] == trunk_id, call


def test_outbound_call_through_a_trunk_with_the_held_caller_id(
    engine: Platform, tmp_path: Path
) -> None:
    carrier = Sipp(
        engine, tmp_path, "carrier", sippgen.phone(expect_caller=r"\+33123456789"), server=True
    )
    trunk_id = add_trunk(engine, carrier.port, 10, "carrier-a")
    run(
        engine,
        tmp_path,
        "alice-out",
        sippgen.call("+442071838750", from_user="alice", auth=True),
        user="alice",
    )
    carrier.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["direction"] == "outbound"
    assert call["from"] == "+33123456789"
    assert [leg["kind"] for leg in call["legs"]] == ["user", "trunk"]
    assert call["legs"][1]["id"] == trunk_id
    assert call["trunk_id"] == trunk_id  # was null: the trunk is known once it answers


def test_unknown_source_calling_out_is_challenged(engine: Platform, tmp_path: Path) -> None:
    # Not a trunk, not to one of our numbers: only a device may call out, so 407 (no
    # open relay), and no CDR.
    add_trunk(engine, free_port(), 10, "carrier-a")
    run(engine, tmp_path, "stranger", sippgen.call("+442071838750", expect=407))
    assert calls(engine) == []


def test_caller_id_the_account_does_not_hold_is_refused(engine: Platform, tmp_path: Path) -> None:
    add_trunk(engine, free_port(), 10, "carrier-a")
    run(
        engine,
        tmp_path,
        "spoof",
        sippgen.call(
            "+442071838750",
            from_user="+15555550123",
            auth=True,
            expect=403,
            expect_header=("Reason", "caller_id.not_held"),
        ),
        user="alice",
    )
    # N13: a number the account holds but the operator made inbound-only (bought for a
    # country without the customer's operations) is not presented either.
    cli(engine.env, "numbers", "set", engine.number, "--inbound-only")
    time.sleep(1.2)  # the engine's look-up cache (lookup_cache_seconds) lets go
    run(
        engine,
        tmp_path,
        "inbound-only",
        sippgen.call(
            "+442071838750",
            from_user=engine.number,
            auth=True,
            expect=403,
            expect_header=("Reason", "caller_id.inbound_only"),
        ),
        user="alice",
    )


def _audit(platform: Platform) -> list[dict[str, Any]]:
    with platform.http() as http:
        events: list[dict[str, Any]] = http.get("/v1/audit").json()["events"]
    return events


def test_v5_premium_rate_call_from_a_device_is_refused_with_its_code(
    engine: Platform, tmp_path: Path
) -> None:
    # A carrier trunk exists, so only the terms stop the call: 403 with the reason code
    # in Reason and Warning, the refusal on the audit log with who called, and no CDR.
    add_trunk(engine, free_port(), 10, "carrier-a")
    run(
        engine,
        tmp_path,
        "premium",
        sippgen.call(
            "+19005550123",
            auth=True,
            expect=403,
            expect_header=("Reason", "destination.premium_rate"),
        ),
        user="alice",
    )
    [event] = wait_for(lambda: _audit(engine))
    assert (event["rule"], event["code"], event["action"]) == (
        "V5",
        "destination.premium_rate",
        "call.outbound",
    )
    assert event["actor"] == f"user:{engine.extra['alice']}"
    assert event["details"]["number"] == "+19005550123"
    assert event["details"]["sip_call_id"]
    assert calls(engine) == []


def test_f5_a_suspended_plan_refuses_outbound_calls_with_its_code(
    engine: Platform, tmp_path: Path
) -> None:
    # The operator suspends the unlimited plan for abuse (F1 here): a device's call out
    # gets 403 with the code although a trunk could carry it; the warning and the refusal
    # are both on the audit log.
    add_trunk(engine, free_port(), 10, "carrier-a")
    cli(
        engine.env,
        "accounts",
        "suspend",
        "--account",
        engine.account_id,
        "--rule",
        "F1",
        "--reason",
        "x",
    )
    run(
        engine,
        tmp_path,
        "suspended",
        sippgen.call(
            "+33612345678",
            auth=True,
            expect=403,
            expect_header=("Reason", "fair_use.suspended"),
        ),
        user="alice",
    )
    events = wait_for(lambda: [e for e in _audit(engine) if e["outcome"] == "refused"])
    assert [(e["rule"], e["code"]) for e in events] == [("F5", "fair_use.suspended")]
    warnings = [e for e in _audit(engine) if e["outcome"] == "enforced"]
    assert [(e["code"], e["action"]) for e in warnings] == [
        ("fair_use.suspended", "account.suspend")
    ]
    with engine.http() as http:
        standing = http.get("/v1/account").json()["fair_use"]
    assert (standing["status"], standing["rule"]) == ("suspended", "F1")
    assert calls(engine) == []


def test_v5_is_checked_again_when_a_forward_rings(engine: Platform, tmp_path: Path) -> None:
    # The forward was allowed when it was set; the operator has taken the permission
    # away since: the call is refused at call time, on the number's behalf.
    add_trunk(engine, free_port(), 10, "carrier-a")
    cli(engine.env, "accounts", "set", "--account", engine.account_id, "--premium-rate")
    route(engine, engine.number, kind="forward", target="+19005550123")
    cli(engine.env, "accounts", "set", "--account", engine.account_id, "--no-premium-rate")
    time.sleep(1.2)  # the engine's look-up cache (lookup_cache_seconds) lets go
    run(
        engine,
        tmp_path,
        "caller",
        sippgen.call(
            "33123456789", expect=403, expect_header=("Reason", "destination.premium_rate")
        ),
    )
    [event] = wait_for(lambda: _audit(engine))
    assert (event["action"], event["actor"]) == ("call.forward", f"number:{engine.number}")


def test_v7_emergency_call_needs_a_registered_location(engine: Platform, tmp_path: Path) -> None:
    # Without a registered location: 403 with the code, on the audit log, no CDR. Once
    # the location and the misrouting warning are on record, 112 goes to the carrier as
    # dialled, presenting the account's number (a landline), and is logged loudly.
    carrier = Sipp(
        engine, tmp_path, "carrier", sippgen.phone(expect_caller=r"\+33123456789"), server=True
    )
    add_trunk(engine, carrier.port, 10, "carrier-a")
    run(
        engine,
        tmp_path,
        "refused",
        sippgen.call(
            "112",
            from_user="alice",
            auth=True,
            expect=403,
            expect_header=("Reason", "emergency.location_missing"),
        ),
        user="alice",
    )
    [event] = wait_for(lambda: _audit(engine))
    assert (event["rule"], event["action"]) == ("V7", "call.emergency")
    with engine.http() as http:
        registered = http.put(
            f"/v1/users/{engine.extra['alice']}/emergency-location",
            json={
                "address": "1 rue de Rivoli, 75001 Paris",
                "country": "FR",
                "acknowledge_misrouting_warning": True,
            },
        )
    assert registered.status_code == 200, registered.text
    run(
        engine,
        tmp_path,
        "help",
        sippgen.call("112", from_user="alice", auth=True),
        user="alice",
    )
    carrier.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert (call["to"], call["from"], call["status"]) == ("112", "+33123456789", "completed")
    assert "EMERGENCY call" in engine.log()


def test_v12_a_number_on_the_accounts_do_not_call_list_is_refused(
    engine: Platform, tmp_path: Path
) -> None:
    add_trunk(engine, free_port(), 10, "carrier-a")
    with engine.http() as http:
        imported = http.post(
            "/v1/dnc", content="+442071838750\n", headers={"Content-Type": "text/csv"}
        )
    assert imported.json()["added"] == 1, imported.text
    run(
        engine,
        tmp_path,
        "dnc",
        sippgen.call(
            "+442071838750",
            from_user="alice",
            auth=True,
            expect=403,
            expect_header=("Reason", "dnc.listed"),
        ),
        user="alice",
    )
    with engine.http() as http:
        refused = http.post(
            "/v1/calls", json={"user_id": engine.extra["alice"], "to": "+442071838750"}
        )
    assert (refused.status_code, refused.json()["code"]) == (403, "dnc.listed")
    assert [e["code"] for e in _audit(engine)] == ["dnc.listed", "dnc.listed"]


def test_v12_telemarketing_outside_the_callees_hours_is_refused(
    engine: Platform, tmp_path: Path
) -> None:
    # The engine reads the real clock: the callee is whichever preset country's number
    # is outside its calling hours right now (FR weekdays 10-13/14-20, Honolulu and
    # Los Angeles 8-21, London 8-21, Toronto 9-21:30/10-18). All of them are open at
    # once only on winter weekdays from 19:00 to 20:00 in Paris.
    candidates = ["+33612345678", "+18085550100", "+14155550100", "+442071838750"]
    now = datetime.now(UTC)
    closed = [n for n in candidates if calling_window(n, now).refused]
    if not closed:
        pytest.skip("every preset country is inside its calling hours at this minute")
    cli(engine.env, "accounts", "set", "--account", engine.account_id, "--telemarketing")
    add_trunk(engine, free_port(), 10, "carrier-a")
    run(
        engine,
        tmp_path,
        "late",
        sippgen.call(
            closed[0],
            from_user="alice",
            auth=True,
            expect=403,
            expect_header=("Reason", "calling_window.closed"),
        ),
        user="alice",
    )
    [event] = wait_for(lambda: _audit(engine))
    assert (event["rule"], event["details"]["number"]) == ("V12", closed[0])


def test_v6_unsupported_x11_from_a_nanp_account_is_refused(
    engine: Platform, tmp_path: Path
) -> None:
    cli(engine.env, "accounts", "set", "--account", engine.account_id, "--country", "US")
    add_trunk(engine, free_port(), 10, "carrier-a")
    run(
        engine,
        tmp_path,
        "x11",
        sippgen.call(
            "311", auth=True, expect=403, expect_header=("Reason", "destination.x11_unsupported")
        ),
        user="alice",
    )
    [event] = wait_for(lambda: _audit(engine))
    assert (event["rule"], event["details"]["dialed"], event["details"]["country"]) == (
        "V6",
        "311",
        "US",
    )


def test_trunk_failover_on_503_but_not_on_486(engine: Platform, tmp_path: Path) -> None:
    first = Sipp(engine, tmp_path, "c503", sippgen.phone(status=503), server=True)
    second = Sipp(engine, tmp_path, "c200", sippgen.phone(), server=True)
    add_trunk(engine, first.port, 10, "first")
    add_trunk(engine, second.port, 20, "second")
    run(
        engine,
        tmp_path,
        "out1",
        sippgen.call("+442071838750", from_user="alice", auth=True),
        user="alice",
    )
    first.wait(engine)
    second.wait(engine)
    # Now the first trunk is busy-here: 486 goes back to the caller, the second never rings.
    busy = Sipp(engine, tmp_path, "c486", sippgen.phone(status=486), server=True, port=first.port)
    idle = Sipp(engine, tmp_path, "idle", sippgen.phone(), server=True, port=second.port, timeout=3)
    run(
        engine,
        tmp_path,
        "out2",
        sippgen.call("+442071838750", from_user="alice", auth=True, expect=486),
        user="alice",
    )
    busy.wait(engine)
    idle.process.wait(timeout=20)
    assert idle.process.returncode != 0, "the second trunk was tried after a 486"


def test_second_simultaneous_call_of_a_user_is_refused(engine: Platform, tmp_path: Path) -> None:
    carrier = Sipp(engine, tmp_path, "carrier", sippgen.phone(), server=True)
    add_trunk(engine, carrier.port, 10, "carrier-a")
    first = Sipp(
        engine,
        tmp_path,
        "first",
        sippgen.call("+442071838750", from_user="alice", auth=True, bye_after_ms=4000),
        user="alice",
    )
    # The second call starts only once the first is up (a fixed sleep raced on a busy
    # machine).
    assert wait_for(lambda: "-> +442071838750 (" in engine.log(), timeout=15), engine.log()
    run(
        engine,
        tmp_path,
        "second",
        sippgen.call(
            "+442071838751",
            from_user="alice",
            auth=True,
            expect=486,
            expect_header=("Reason", "concurrency.user_limit"),
        ),
        user="alice",
    )
    first.wait(engine)
    carrier.wait(engine)


# -- click-to-call (POST /v1/calls) -------------------------------------------------------


def test_click_to_call_rings_the_user_then_connects_the_extension(
    engine: Platform, tmp_path: Path
) -> None:
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=20)
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(hang_up_after_ms=800))
    with engine.http() as http:
        placed = http.post("/v1/calls", json={"user_id": engine.extra["alice"], "to": "202"})
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["id"]
    bob.wait(engine)
    alice.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert call["id"] == call_id
    assert (call["status"], call["direction"], call["to"]) == ("completed", "outbound", "202")
    assert (call["user_id"], call["caller_user_id"]) == (engine.extra["alice"],) * 2
    assert call["from"] == engine.number  # the account's number, held (V10)
    assert [leg["id"] for leg in call["legs"]] == [engine.extra["alice"], engine.extra["bob"]]
    assert call["answered_at"] is not None


def test_a_live_click_to_call_is_shown_with_its_live_status(
    engine: Platform, tmp_path: Path
) -> None:
    # GET /v1/calls/{id} answered 404 until the call ended: the id the POST returned must
    # show the call while it rings, while it is up, and as a record once it ended (alice
    # rings 1 s, within the 2 s the engine fixture lets devices ring).
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(ring_ms=1000), timeout=30)
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(hang_up_after_ms=2500))
    with engine.http() as http:
        placed = http.post("/v1/calls", json={"user_id": engine.extra["alice"], "to": "202"})
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["id"]
        ringing = http.get(f"/v1/calls/{call_id}")
        assert ringing.status_code == 200, ringing.text
        shown = ringing.json()
        assert (shown["id"], shown["status"], shown["direction"]) == (
            call_id,
            "ringing",
            "outbound",
        )
        assert (shown["to"], shown["user_id"], shown["ended_at"]) == (
            "202",
            engine.extra["alice"],
            None,
        )
        up = wait_for(
            lambda: (c := http.get(f"/v1/calls/{call_id}").json())["status"] == "in-progress" and c,
            timeout=15,
        )
        assert up, http.get(f"/v1/calls/{call_id}").text
        assert up["answered_at"] is not None
        assert [leg["id"] for leg in up["legs"]] == [engine.extra["alice"], engine.extra["bob"]]
        # Another account's key does not see it.
        other = cli(engine.env, "accounts", "create", "Other")
        other_key = dict(line.split(": ", 1) for line in other.strip().splitlines())["api_key"]
        with engine.http(other_key) as stranger:
            hidden = stranger.get(f"/v1/calls/{call_id}")
        assert (hidden.status_code, hidden.json()["code"]) == (404, "call.not_found")
    bob.wait(engine)
    alice.wait(engine)
    with engine.http() as http:
        ended = wait_for(
            lambda: (c := http.get(f"/v1/calls/{call_id}").json())["status"] == "completed" and c
        )
    assert ended, f"the call never showed as completed:\n{engine.log()[-3000:]}"
    assert ended["ended_at"] is not None, ended


def test_click_to_call_out_through_a_trunk(engine: Platform, tmp_path: Path) -> None:
    carrier = Sipp(
        engine,
        tmp_path,
        "carrier",
        sippgen.phone(expect_caller=r"\+33123456789", hang_up_after_ms=500),
        server=True,
    )
    add_trunk(engine, carrier.port, 10, "carrier-a")
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=20)
    with engine.http() as http:
        placed = http.post(
            "/v1/calls", json={"user_id": engine.extra["alice"], "to": "+442071838750"}
        )
    assert placed.status_code == 201, placed.text
    carrier.wait(engine)
    alice.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert (call["status"], call["to"]) == ("completed", "+442071838750")
    assert [leg["kind"] for leg in call["legs"]] == ["device", "trunk"]


def test_click_to_call_to_a_busy_extension_hangs_up_the_user(
    engine: Platform, tmp_path: Path
) -> None:
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=20)
    bob = registered_phone(engine, tmp_path, "bob", sippgen.phone(status=486))
    with engine.http() as http:
        placed = http.post("/v1/calls", json={"user_id": engine.extra["alice"], "to": "202"})
    assert placed.status_code == 201, placed.text
    bob.wait(engine)
    alice.wait(engine)  # our BYE: the callee was busy
    [call] = wait_for(lambda: calls(engine))
    assert (call["status"], call["hangup_cause"]) == ("busy", "callee-486")
    assert call["answered_at"] is None
    assert call["billed_seconds"] == 0


def stock_uas() -> str:
    """sipp's own ``uas`` scenario: it answers every INVITE with PCMU alone, whatever
    was offered."""
    assert SIPP is not None
    # sipp exits 99 after dumping a scenario: the XML on stdout is what counts.
    dumped = subprocess.run(
        [SIPP, "-sd", "uas"], capture_output=True, text=True, check=False, timeout=10
    ).stdout
    assert "PCMU/8000" in dumped, dumped
    return dumped


def test_click_to_call_far_end_answering_an_unoffered_codec_ends_both_legs(
    engine: Platform, tmp_path: Path
) -> None:
    # alice's phone answers PCMA, so the carrier is offered PCMA alone; sipp's stock UAS
    # answers PCMU. Both legs get our BYE, the log says why, the CDR says failed with
    # the code (it said canceled / caller-cancel once alice gave up on the silence).
    carrier = Sipp(engine, tmp_path, "carrier", stock_uas(), server=True, timeout=20)
    trunk_id = add_trunk(engine, carrier.port, 10, "carrier-a")
    alice = registered_phone(engine, tmp_path, "alice", sippgen.phone(), timeout=20)
    with engine.http() as http:
        placed = http.post(
            "/v1/calls", json={"user_id": engine.extra["alice"], "to": "+442071838750"}
        )
    assert placed.status_code == 201, placed.text
    carrier.wait(engine)  # ACK, then our BYE
    alice.wait(engine)  # our BYE, not silence
    [call] = wait_for(lambda: calls(engine))
    assert (call["status"], call["hangup_cause"]) == ("failed", "media.codec_mismatch")
    assert call["trunk_id"] == trunk_id
    assert call["billed_seconds"] == 0
    assert "media.codec_mismatch" in engine.log()
    assert "PCMU" in engine.log()


def test_inbound_callee_answering_an_unoffered_codec_fails_the_call(
    engine: Platform, tmp_path: Path
) -> None:
    # The caller offers PCMA alone; alice's phone (sipp's stock UAS) answers PCMU: the
    # phone gets ACK and BYE, the caller 488 with the code, and the CDR says failed.
    alice = registered_phone(engine, tmp_path, "alice", stock_uas(), timeout=20)
    route(engine, engine.number, kind="user", target=engine.extra["alice"])
    run(
        engine,
        tmp_path,
        "caller",
        sippgen.call(
            "33123456789",
            pcma_only=True,
            expect=488,
            expect_header=("Reason", "media.codec_mismatch"),
        ),
    )
    alice.wait(engine)
    [call] = wait_for(lambda: calls(engine))
    assert (call["status"], call["hangup_cause"]) == ("failed", "media.codec_mismatch")
    with engine.http() as http:
        assert http.get("/v1/voicemails").json()["voicemails"] == []


CLICK_TO_CALL_REFUSALS = [
    ({"to": "202"}, 409, "call.user_unreachable", None),  # alice has no device
    ({"to": "202", "caller_id": "+15555550123"}, 403, "caller_id.not_held", "V10"),
    ({"to": "not a number"}, 400, "call.destination_invalid", None),
    ({"to": "+19005550123"}, 403, "destination.premium_rate", "V5"),
    ({"to": "+881612345678"}, 403, "destination.high_cost", "V5"),
    ({"to": "202", "user_id": "US0000"}, 404, "user.not_found", None),
]


def test_click_to_call_refusals(engine: Platform) -> None:
    # One platform for the whole table (none of these calls changes anything but the
    # audit log, which is checked refusal by refusal).
    for body, status, code, rule in CLICK_TO_CALL_REFUSALS:
        payload = {"user_id": engine.extra["alice"], **body}
        before = len(_audit(engine))
        with engine.http() as http:
            refused = http.post("/v1/calls", json=payload)
        assert refused.status_code == status, (body, refused.text)
        assert refused.json()["code"] == code
        assert refused.json().get("rule") == rule
        # A refusal by a rule is on the audit log, with the API key that asked.
        events = _audit(engine)  # newest first
        added = events[: len(events) - before]
        assert [(e["code"], e["action"]) for e in added] == (
            [(code, "POST /v1/calls")] if rule else []
        ), body
    assert calls(engine) == []


def test_stop_start_keeps_registrations(tmp_path: Path) -> None:
    require_sipp()
    (tmp_path / "a").mkdir()
    running = start_platform(tmp_path / "a", digest_algorithms="MD5")
    try:
        provision(running)
        with running.http() as http:
            http.post(
                "/v1/users",
                json={
                    "name": "A",
                    "extension": "201",
                    "sip_username": "alice",
                    "sip_password": PASSWORD,
                },
            )
        register_phone(running, tmp_path, "alice", free_port())
    finally:
        stop_platform(running)
    again = start_platform(tmp_path / "a", digest_algorithms="MD5")
    try:
        again.api_key = running.api_key
        with again.http() as http:
            regs = http.get("/v1/registrations").json()
        items = regs if isinstance(regs, list) else regs.get("registrations", [])
        assert len(items) == 1
    finally:
        stop_platform(again)
