"""A real SIP peer (sipp) calls the real server over loopback (issue: foundation)."""

from __future__ import annotations

import contextlib
import io
import math
import socket
import time
import wave
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from .conftest import Platform, add_trunk, cli, free_port

pytestmark = pytest.mark.interop


def _rms(pcm: bytes) -> float:
    samples = memoryview(pcm).cast("h")
    if not len(samples):
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def _only_call(platform: Platform) -> dict[str, object]:
    with platform.http() as http:
        page = http.get("/v1/calls").json()
    assert len(page["calls"]) == 1, page
    call: dict[str, object] = page["calls"][0]
    return call


def test_call_with_audio_is_recorded_and_rated(platform: Platform) -> None:
    done = platform.sipp("uac_pcap.xml", "33123456789", extra=("-d", "4000"))
    assert done.returncode == 0, done.stdout + done.stderr + platform.log()

    call = _only_call(platform)
    assert call["status"] == "completed"
    assert call["hangup_cause"] == "caller-bye"
    assert call["to"] == "+33123456789"
    assert call["from"] == "+14155550100"
    duration = Decimal(str(call["duration"]))
    # sipp pauses 4 s between its ACK and its BYE; loopback adds milliseconds.
    assert Decimal("3.9") <= duration <= Decimal("5.5"), duration
    assert call["billed_seconds"] == 60  # TERMS B2: every started minute, 60/60
    assert call["billing_increment"] == "60/60"

    with platform.http() as http:
        detail = http.get(f"/v1/calls/{call['id']}").json()
        assert detail == call
        audio = http.get(f"/v1/calls/{call['id']}/recording")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        pcm = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / 8000
    assert 2.0 <= seconds <= 5.5, seconds
    assert _rms(pcm) > 300, "the recording is silence"
    # TERMS D5: on disk the recording is sealed; nothing of the WAV shows.
    stored = list((platform.data_dir / "recordings").rglob("*"))
    files = [p for p in stored if p.is_file()]
    assert [p.name for p in files] == [f"{call['id']}.wav.sealed"], stored
    assert files[0].read_bytes().startswith(b"DTSEAL1\n")


def test_call_to_a_number_nobody_holds_gets_404(platform: Platform) -> None:
    # From a carrier trunk: a call from anywhere else to a number that is not ours is
    # challenged, as an outbound call from a device would be (no open relay).
    carrier_port = free_port()
    add_trunk(platform, carrier_port)
    done = platform.sipp("uac_404.xml", "33999999999", extra=("-p", str(carrier_port)))
    assert done.returncode == 0, done.stdout + done.stderr + platform.log()
    with platform.http() as http:
        assert http.get("/v1/calls").json()["calls"] == []


def test_a_number_revoked_by_the_lifecycle_job_answers_404(platform: Platform) -> None:
    # TERMS N6: deactivated for non-payment 22 days ago (a random number of a
    # Professional plan: revoked after 21), the job revokes it; calls then get 404.
    carrier_port = free_port()
    add_trunk(platform, carrier_port)
    at = (datetime.now(UTC) - timedelta(days=22)).isoformat()
    cli(platform.env, "numbers", "deactivate", platform.number, "--at", at)
    out = cli(platform.env, "lifecycle", "run")
    assert f"{platform.number}  " in out, out
    assert "revoke_unpaid  [N6]" in out, out
    assert "0 action(s)" in cli(platform.env, "lifecycle", "run")  # idempotent
    time.sleep(1.2)  # the engine's look-up cache lets go
    done = platform.sipp("uac_404.xml", "33123456789", extra=("-p", str(carrier_port)))
    assert done.returncode == 0, done.stdout + done.stderr + platform.log()
    with platform.http() as http:
        assert http.get("/v1/numbers").json()["numbers"] == []
        [event] = http.get("/v1/audit").json()["events"]
    assert (event["code"], event["outcome"], event["rule"]) == (
        "lifecycle.revoked_unpaid",
        "enforced",
        "N6",
    )


def test_cancel_before_answer_gets_487_and_a_canceled_cdr(tmp_path) -> None:
    from .conftest import provision, start_platform, stop_platform

    running = start_platform(tmp_path, ring_seconds="3")
    try:
        provision(running)
        done = running.sipp("uac_cancel.xml", "33123456789")
        assert done.returncode == 0, done.stdout + done.stderr + running.log()
        call = _only_call(running)
        assert call["status"] == "canceled"
        assert call["hangup_cause"] == "caller-cancel"
        assert call["answered_at"] is None
        assert Decimal(str(call["duration"])) == 0
        assert call["billed_seconds"] == 0
        assert call["recording_url"] is None
    finally:
        assert stop_platform(running) == 0


MALFORMED: list[bytes] = [
    b"",
    b"\r\n\r\n",
    b"\x00\xff\xfe binary junk \x01\x02\x03",
    bytes(range(256)),
    b"INVITE",
    b"INVITE sip:33123456789@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 999\r\n\r\nshort",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKa\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: m1\r\nCSeq: 1 OPTIONS\r\n"
    b"Content-Length: -5\r\n\r\n",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKb\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: m2\r\nCSeq: 1 OPTIONS\r\n"
    b"Content-Length: abc\r\n\r\n",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\n"
    b"Call-ID: m3\r\nCSeq: 1 OPTIONS\r\n\r\n",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKc\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCSeq: 1 OPTIONS\r\n\r\n",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKd\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: m4\r\n\r\n",
    b"OPTIONS  sip:x@127.0.0.1  SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKe\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: m5\r\nCSeq: 1 OPTIONS\r\n\r\n",
    b"GARBAGE\r\nVia: nothing\r\n\r\n",
    b"OPTIONS <sip:x@127.0.0.1> SIP/2.0\r\n\r\n",
    b"OPTIONS sip:x@127.0.0.1 SIP/9.9\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKf\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: m6\r\nCSeq: 1 OPTIONS\r\n\r\n",
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKg\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: m7\r\nCSeq: 99999999999 OPTIONS\r\n\r\n",
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKnothing\r\n\r\n",
    b"SIP/2.0 99999 Huge\r\n\r\n",
    b"INVITE sip:33123456789@127.0.0.1 SIP/2.0\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
    "OPTIONS sip:ü@127.0.0.1 SIP/2.0\r\nVia: \udcff\r\n\r\n".encode("utf-8", "surrogateescape"),
]


def test_malformed_datagrams_do_not_stop_the_server(platform: Platform) -> None:
    assert len(MALFORMED) >= 20
    target = ("127.0.0.1", platform.sip_port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.settimeout(0.2)
        for datagram in MALFORMED:
            # A datagram over the UDP size limit never leaves; that is fine.
            with contextlib.suppress(OSError):
                sock.sendto(datagram, target)
        # Drain whatever 400/505s came back, then ask a real question.
        replies: list[bytes] = []
        try:
            while True:
                replies.append(sock.recv(65535))
        except TimeoutError:
            pass
        assert all(r.startswith(b"SIP/2.0 4") or r.startswith(b"SIP/2.0 5") for r in replies)
        port = sock.getsockname()[1]
        options = (
            f"OPTIONS sip:ping@127.0.0.1:{platform.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKalive1\r\n"
            "From: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:ping@127.0.0.1>\r\n"
            "Call-ID: alive-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        sock.settimeout(5)
        sock.sendto(options, target)
        answer = sock.recv(65535)
    assert answer.startswith(b"SIP/2.0 200 "), answer[:200]
    assert b"Call-ID: alive-1" in answer
    assert platform.process.poll() is None


def test_call_over_the_limit_is_ended_by_our_bye(tmp_path) -> None:
    from .conftest import provision, start_platform, stop_platform

    running = start_platform(tmp_path, ring_seconds="0", max_call_seconds="2")
    try:
        provision(running, increment="1/1")
        done = running.sipp("uac_wait_bye.xml", "33123456789")
        assert done.returncode == 0, done.stdout + done.stderr + running.log()
        call = _only_call(running)
        assert call["status"] == "completed"
        assert call["hangup_cause"] == "max-duration"
        duration = Decimal(str(call["duration"]))
        assert Decimal("1.9") <= duration <= Decimal("3"), duration
        assert call["billed_seconds"] == math.ceil(duration)  # 1/1 increment
        assert call["billing_increment"] == "1/1"
    finally:
        assert stop_platform(running) == 0


def test_ctrl_c_ends_live_calls_with_bye_and_keeps_their_records(tmp_path) -> None:
    import signal
    import subprocess
    import time

    from .conftest import cli, provision, start_platform, stop_platform

    running = start_platform(tmp_path, ring_seconds="0")
    provision(running)
    phone = subprocess.Popen(
        running.sipp_args("uac_wait_bye.xml", "33123456789"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 10
        # The engine's line for this call, not any "answered" (a migration's title once
        # had the word, and the interrupt came before the call).
        while " answered (" not in running.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=20) == 0, running.log()
        out, _ = phone.communicate(timeout=20)
        assert phone.returncode == 0, out + running.log()  # sipp got our BYE and answered it
    finally:
        if phone.poll() is None:
            phone.kill()
        stop_platform(running)
    listing = cli(running.env, "calls", "list", "--account", running.account_id)
    assert "completed" in listing
    assert "shutdown" in listing
