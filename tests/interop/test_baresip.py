"""dialtone against a real softphone, baresip, over loopback: digest registration over UDP
and TCP, and a call between two baresips through the platform with audio both ways.

Each phone sends a different tone (alice 440 Hz, bob 880 Hz) and records what it decodes;
each recording must carry the *other* side's tone, so neither echo nor noise can pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .baresip import Baresip, read_samples, require_baresip, rms, tone_power
from .conftest import (
    Platform,
    calls,
    poll,
    registrations,
    serving,
    softphones,
)

pytestmark = pytest.mark.interop

PASSWORD = "correct-horse-1"
ALICE_HZ, BOB_HZ = 440.0, 880.0
T = TypeVar("T")


@pytest.fixture
def dialtone(tmp_path: Path) -> Iterator[Platform]:
    """A platform with an account, its number, users alice (201) and bob (202)."""
    require_baresip()
    # MD5 only: baresip 1.0 (libre) answers nothing but MD5, and gives up with ENOSYS
    # ("Register: Function not implemented") on any SHA-256 challenge, even one listed
    # next to an MD5 one: set explicitly, whatever the default becomes.
    with serving(
        tmp_path,
        users=(("alice", "201"), ("bob", "202")),
        password=PASSWORD,
        ring_seconds="0.2",
        digest_algorithms="MD5",
        auth_failures_allowed="3",
    ) as running:
        yield running


@pytest.fixture
def phones(dialtone: Platform, tmp_path: Path) -> Iterator[Callable[..., Baresip]]:
    """Start baresips registering to ``dialtone``; every one is stopped at the end."""
    with softphones(Baresip, dialtone, tmp_path, PASSWORD) as start:
        yield start


def registration_of(platform: Platform, user: str) -> dict[str, Any] | None:
    user_id = platform.extra[user]
    return next((r for r in registrations(platform) if r["user_id"] == user_id), None)


def wait_registered(platform: Platform, phone: Baresip, user: str) -> dict[str, Any]:
    found = poll(lambda: registration_of(platform, user))
    assert found is not None, (
        f"{user} never registered\n--- baresip ---\n{phone.log()[-4000:]}"
        f"\n--- server ---\n{platform.log()[-4000:]}"
    )
    return found


# -- registration ------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_baresip_registers_with_digest(
    dialtone: Platform, phones: Callable[..., Baresip], transport: str
) -> None:
    alice = phones("alice", transport=transport)
    binding = wait_registered(dialtone, alice, "alice")
    assert binding["transport"] == transport
    assert binding["user_agent"].startswith("baresip"), binding
    # The Contact is baresip's listening address; for TCP it says so (RFC 3261 §19.1.1).
    contact = binding["contact"]
    assert f"@127.0.0.1:{alice.sip_port}" in contact, binding
    assert (";transport=tcp" in contact) == (transport == "tcp"), binding
    source_transport, _, source_port = binding["source"].rpartition(":")
    assert source_transport == f"{transport}:127.0.0.1", binding
    if transport == "udp":
        # UDP requests leave from the listening socket: the source is the Contact's port.
        assert int(source_port) == alice.sip_port, binding
    # It got there through a digest challenge: a 401, then a REGISTER with Authorization.
    trace = alice.log()
    assert "SIP/2.0 401 Unauthorized" in trace
    assert 'Authorization: Digest username="alice", realm="dialtone"' in trace


def test_baresip_with_a_wrong_password_is_refused_then_blocked(
    dialtone: Platform, phones: Callable[..., Baresip]
) -> None:
    # baresip answers every fresh challenge again; after auth_failures_allowed (3) wrong
    # answers the source is blocked with 403 (TERMS D2), which ends its attempts.
    alice = phones("alice", password="not-the-password")
    refused = poll(lambda: "403 Forbidden" in alice.log())
    assert refused, f"no 403 for a wrong password:\n{alice.log()[-4000:]}"
    assert "digest failure for 'alice'" in dialtone.log()
    assert registrations(dialtone) == []


# -- calls -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alice_transport", "bob_transport", "dialed"),
    [
        pytest.param("udp", "udp", "202", id="udp-extension"),
        pytest.param("tcp", "tcp", "202", id="tcp-extension"),
        pytest.param("udp", "tcp", "+33123456789", id="udp-to-tcp-number-routed"),
    ],
)
def test_call_between_baresips_carries_audio_both_ways(
    dialtone: Platform,
    phones: Callable[..., Baresip],
    alice_transport: str,
    bob_transport: str,
    dialed: str,
) -> None:
    if dialed.startswith("+"):
        # The account's number goes to bob: alice reaches him by dialling it.
        with dialtone.http() as http:
            routed = http.put(
                f"/v1/numbers/{dialed}/route",
                json={"kind": "user", "target": dialtone.extra["bob"]},
            )
        assert routed.status_code == 200, routed.text
    # bob answers by himself (answermode=auto); each sends its own tone.
    bob = phones("bob", transport=bob_transport, tone_hz=BOB_HZ)
    alice = phones("alice", transport=alice_transport, tone_hz=ALICE_HZ)
    wait_registered(dialtone, bob, "bob")
    wait_registered(dialtone, alice, "alice")

    alice.dial(dialed)
    alice.wait_event("CALL_ESTABLISHED")
    bob.wait_event("CALL_ESTABLISHED")
    # Each side has received RTP (baresip's own check); then let ~2 s of tone through
    # each way: this sleep is the length of the audio checked, not a wait for a state.
    alice.wait_event("CALL_RTPESTAB")
    bob.wait_event("CALL_RTPESTAB")
    time.sleep(2)
    assert alice.command("hangup").get("ok")
    bob.wait_event("CALL_CLOSED")
    # Quitting closes the recordings (the WAV header is written on close).
    alice.stop()
    bob.stop()

    for listener, heard_hz, other_hz in ((bob, ALICE_HZ, BOB_HZ), (alice, BOB_HZ, ALICE_HZ)):
        samples = read_samples(listener.received())
        assert len(samples) > 8000, f"{listener.name} decoded under a second of audio"
        level = rms(samples)
        assert level > 1000, f"{listener.name} heard silence (RMS {level:.0f})"
        heard, echo = tone_power(samples, heard_hz), tone_power(samples, other_hz)
        assert heard > 100 * echo, (
            f"{listener.name} should hear {heard_hz:.0f} Hz (power {heard:.3g}), "
            f"not its own {other_hz:.0f} Hz (power {echo:.3g})"
        )

    [call] = poll(lambda: calls(dialtone))
    assert call["status"] == "completed", call
    assert call["direction"] == "internal", call
    assert (call["from"], call["to"]) == ("201", dialed), call
    # The callee's, as when voicemail takes such a call (issue 13, item 11).
    assert call["user_id"] == dialtone.extra["bob"], call
    assert call["caller_user_id"] == dialtone.extra["alice"], call  # her own record too
    assert float(call["duration"]) >= 1.5, call
    legs = call["legs"]
    # The traceback chain (V11): alice as the calling user, then bob's device.
    assert [(leg["kind"], leg["id"]) for leg in legs] == [
        ("user", dialtone.extra["alice"]),
        ("device", dialtone.extra["bob"]),
    ], legs
    assert legs[0]["source"].startswith(f"{alice_transport}:127.0.0.1:"), legs
    assert legs[1]["source"].startswith(f"{bob_transport}:127.0.0.1:"), legs
    assert all((leg["user_agent"] or "").startswith("baresip") for leg in legs), legs
