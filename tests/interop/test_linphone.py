"""dialtone against a second real softphone, linphone (``linphonec``), over loopback:
digest registration over UDP and TCP, a call with audio checked both ways, hold and
resume, and a blind transfer (REFER) that connects the caller to a third phone.

Each phone sends its own tone (alice 440 Hz, bob 880 Hz, carol 660 Hz) from a WAV file
and records what it decodes; a recording must carry the tone of the phone at the other
end, so neither echo nor silence can pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .baresip import read_samples, rms, tone_power
from .conftest import (
    Platform,
    calls,
    poll,
    registrations,
    serving,
    softphones,
)
from .linphone import Linphone, require_linphone

pytestmark = pytest.mark.interop

PASSWORD = "correct-horse-1"
ALICE_HZ, BOB_HZ, CAROL_HZ = 440.0, 880.0, 660.0
# How long each checked stretch of audio lasts: the sleeps below measure out audio, they
# do not wait for a state (every state is awaited on linphonec's own output lines).
AUDIO_SECONDS = 3.0


@pytest.fixture
def dialtone(tmp_path: Path) -> Iterator[Platform]:
    """A platform with an account, its number, users alice (201), bob (202), carol (203)."""
    require_linphone()
    with serving(
        tmp_path,
        users=(("alice", "201"), ("bob", "202"), ("carol", "203")),
        password=PASSWORD,
        ring_seconds="0.2",
        digest_algorithms="MD5",
    ) as running:
        yield running


@pytest.fixture
def phones(dialtone: Platform, tmp_path: Path) -> Iterator[Callable[..., Linphone]]:
    """Start linphonecs registering to ``dialtone``; every one is stopped at the end."""
    with softphones(Linphone, dialtone, tmp_path, PASSWORD) as start:
        yield start


def assert_hears(listener: Linphone, heard_hz: float, own_hz: float) -> None:
    """``listener`` decoded at least a second of ``heard_hz``, well above its own tone."""
    samples = read_samples(listener.heard)
    assert len(samples) > 8000, f"{listener.name} decoded under a second of audio"
    level = rms(samples)
    assert level > 1000, f"{listener.name} heard silence (RMS {level:.0f})"
    heard, echo = tone_power(samples, heard_hz), tone_power(samples, own_hz)
    assert heard > 100 * echo, (
        f"{listener.name} should hear {heard_hz:.0f} Hz (power {heard:.3g}), "
        f"not its own {own_hz:.0f} Hz (power {echo:.3g})"
    )


# -- registration ------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_linphone_registers_with_digest(
    dialtone: Platform, phones: Callable[..., Linphone], transport: str
) -> None:
    alice = phones("alice", transport=transport)
    alice.wait_registered()
    [binding] = registrations(dialtone)
    assert binding["user_id"] == dialtone.extra["alice"]
    assert binding["transport"] == transport
    assert binding["user_agent"].startswith("Linphone"), binding
    if transport == "udp":
        # The Contact is linphone's listening socket, which its requests leave from.
        assert f"@127.0.0.1:{alice.sip_port};" in binding["contact"], binding
        assert binding["source"] == f"udp:127.0.0.1:{alice.sip_port}", binding
    else:
        # Over TCP linphone's Contact names its end of the connection, where nothing
        # listens: the binding is reachable only over that connection (issue 13, item 25).
        port = binding["contact"].split("@127.0.0.1:", 1)[1].split(";", 1)[0]
        assert binding["source"] == f"tcp:127.0.0.1:{port}", binding
        assert ";transport=tcp" in binding["contact"], binding
    # It got there through a digest challenge: a 401, then a REGISTER with Authorization.
    trace = alice.log()
    assert "SIP/2.0 401 Unauthorized" in trace
    assert 'username="alice"' in trace


# -- calls -------------------------------------------------------------------------------


def test_call_between_linphones_carries_audio_both_ways_then_holds_and_resumes(
    dialtone: Platform, phones: Callable[..., Linphone]
) -> None:
    # alice over UDP calls bob's extension; bob, over TCP, answers by himself (-a).
    bob = phones("bob", transport="tcp", tone_hz=BOB_HZ, auto_answer=True)
    alice = phones("alice", tone_hz=ALICE_HZ)
    bob.wait_registered()
    alice.wait_registered()

    alice.dial("202")
    alice.wait_line(r"Media streams established .* for call 1")
    bob.wait_line(r"Media streams established .* for call 1")
    time.sleep(AUDIO_SECONDS)

    # Hold: alice's re-INVITE (sendonly) reaches bob as a hold; resume brings media back.
    mark_alice, mark_bob = alice.mark(), bob.mark()
    alice.command("pause")
    alice.wait_line(r"Call 1 .* is now paused", after=mark_alice)
    bob.wait_line(r"Call 1 has been paused by", after=mark_bob)
    mark_alice, mark_bob = alice.mark(), bob.mark()
    alice.command("resume")
    alice.wait_line(r"Media streams established .* for call 1", after=mark_alice)
    bob.wait_line(r"Media streams established .* for call 1", after=mark_bob)

    alice.command("terminate")
    bob.wait_line(r"Call 1 .* ended", after=mark_bob)
    # Quitting closes the recordings (the WAV header is written on close).
    alice.stop()
    bob.stop()
    assert_hears(bob, ALICE_HZ, BOB_HZ)
    assert_hears(alice, BOB_HZ, ALICE_HZ)
    [call] = poll(lambda: calls(dialtone), timeout=15.0)
    assert call["status"] == "completed", call


def test_blind_transfer_from_linphone_connects_the_caller_to_the_target(
    dialtone: Platform, phones: Callable[..., Linphone]
) -> None:
    # alice calls bob; bob transfers her (REFER) to carol's extension; alice and carol
    # then hear each other through the platform, bob is out of the call.
    bob = phones("bob", tone_hz=BOB_HZ, auto_answer=True)
    carol = phones("carol", tone_hz=CAROL_HZ, auto_answer=True)
    alice = phones("alice", tone_hz=ALICE_HZ)
    for phone in (bob, carol, alice):
        phone.wait_registered()

    alice.dial("202")
    bob.wait_line(r"Media streams established .* for call 1")
    mark_alice = alice.mark()
    bob.command(f"transfer sip:203@{bob.registrar}")
    bob.wait_line(r"has been transfered")
    bob.wait_line(r"Call 1 .* ended")
    carol.wait_line(r"Media streams established .* for call 1", timeout=30)
    time.sleep(AUDIO_SECONDS)
    # alice's call went on (the platform, a B2BUA, re-bridged it); she ends it.
    assert "ended" not in alice.output(since=mark_alice), alice.output()
    alice.command("terminate")
    carol.wait_line(r"Call 1 .* ended")
    alice.stop()
    carol.stop()
    assert_hears(carol, ALICE_HZ, CAROL_HZ)
    # alice's one recording holds the moment with bob, then carol after the transfer.
    assert_hears(alice, CAROL_HZ, ALICE_HZ)
