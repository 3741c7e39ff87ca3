"""Calls whose media goes through a real rtpengine (issue 19, ``media_engine =
"rtpengine"``): ``dialtone serve`` bridges a caller (the voice caller, which keeps what
it hears) to a registered sipp phone that sends a recording; the V8 notice is played by
rtpengine to the caller, the phone's audio reaches the caller through rtpengine, and the
call's recording (rtpengine's pcap, sealed by dialtone) has both parties on their
channels when read back through the API. rtpengine down at set-up refuses the call 503
``media.engine_unavailable``; rtpengine down at start stops ``serve`` with exit 2."""

from __future__ import annotations

import asyncio
import io
import math
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialtone.services.telephony.greetings import recording_notice_path
from tests.programs.rtpengine import Rtpengine, rtpengine

from . import sippgen
from .conftest import Platform, calls, free_port, require_sipp, server_env, serving
from .conftest import poll as wait_for
from .test_call_engine import (
    PASSWORD,
    PCAP,
    recording_policy,
    registered_phone,
    route,
    run,
    wav_seconds,
)
from .voice_caller import talking_call

pytestmark = pytest.mark.interop


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Rtpengine]:
    with rtpengine(tmp_path / "rtpengine") as running:
        yield running


@pytest.fixture
def platform(tmp_path: Path, media: Rtpengine) -> Iterator[Platform]:
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"),),
        password=PASSWORD,
        ring_seconds="0.2",
        media_engine="rtpengine",
        rtpengine_ng=media.ng_text,
        rtpengine_recording_dir=str(media.recording_dir),
        rtpengine_retransmit_seconds="0.2",
        rtpengine_timeout_seconds="1",
    ) as running:
        yield running


def _rms(samples: memoryview) -> float:
    return math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))


def _tone(seconds: float, hz: float = 440.0) -> bytes:
    out = bytearray()
    for i in range(int(seconds * 8000)):
        out += int(8000 * math.sin(2 * math.pi * hz * i / 8000)).to_bytes(2, "little", signed=True)
    return bytes(out)


def test_a_call_through_rtpengine_carries_audio_and_is_recorded(
    platform: Platform, media: Rtpengine, tmp_path: Path
) -> None:
    recording_policy(platform, "notice")
    phone = registered_phone(
        platform, tmp_path, "alice", sippgen.phone(pcap=PCAP), timeout=30, name="phone"
    )
    route(platform, platform.number, kind="user", target=platform.extra["alice"])
    notice = wav_seconds(recording_notice_path())

    async def call() -> tuple[list[float], float]:
        async with talking_call(platform.sip_port, platform.number) as talking:
            answered = time.monotonic()
            talking.peer.say(_tone(notice + 4.0))
            await asyncio.sleep(notice + 4.5)
            heard = talking.peer.voiced_after(answered)
        return [at - answered for at in heard], answered

    heard, _ = asyncio.run(call())
    phone.wait(platform)
    # The notice (rtpengine's play media) from the start, then the phone's recording
    # through rtpengine, both voiced at the caller.
    assert any(at < notice for at in heard), "the notice never reached the caller"
    assert sum(1 for at in heard if at > notice + 0.3) >= 50, "the phone's audio never arrived"

    [record] = wait_for(lambda: calls(platform))
    assert record["status"] == "completed"
    assert record["recording_url"], record
    with platform.http() as http:
        audio = http.get(record["recording_url"])
    assert audio.status_code == 200, audio.text
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        seconds = wav.getnframes() / 8000
        frames = memoryview(wav.readframes(wav.getnframes())).cast("h")
    # Recorded from the end of the notice to the hang-up (about 4 s).
    assert 3.0 < seconds < 5.0, seconds
    assert _rms(frames[0::2]) > 1000, "the caller's channel is silent"
    assert _rms(frames[1::2]) > 300, "the phone's channel is silent"
    # The pcap was sealed into the WAV and deleted; nothing but sealed files on our side.
    assert list((media.recording_dir / "pcaps").iterdir()) == []
    stored = [p for p in (platform.data_dir / "recordings").rglob("*") if p.is_file()]
    assert stored
    assert all(p.name.endswith(".sealed") for p in stored), stored
    assert "rtpengine call" in platform.log()
    assert "recording" in platform.log()


def test_rtpengine_down_at_setup_refuses_the_call_503(
    platform: Platform, media: Rtpengine, tmp_path: Path
) -> None:
    route(platform, platform.number, kind="user", target=platform.extra["alice"])
    phone = registered_phone(platform, tmp_path, "alice", sippgen.phone(), timeout=10, name="phone")
    media.process.terminate()
    media.process.wait(5)
    started = time.monotonic()
    run(
        platform,
        tmp_path,
        "caller",
        sippgen.call(
            "33123456789", expect=503, expect_header=("Reason", "media.engine_unavailable")
        ),
        timeout=10,
    )
    assert time.monotonic() - started < 8
    assert "503 media.engine_unavailable" in platform.log()
    phone.process.kill()
    phone.process.wait()
    # The phone never rang: rtpengine is asked before anyone is called.
    assert "INVITE" not in (tmp_path / "phone.msg.log").read_text(errors="replace")


def test_serve_stops_with_exit_2_when_rtpengine_does_not_answer(tmp_path: Path) -> None:
    env = server_env(
        tmp_path,
        media_engine="rtpengine",
        rtpengine_ng=f"127.0.0.1:{free_port()}",
        rtpengine_timeout_seconds="0.5",
    )
    done = subprocess.run(
        [sys.executable, "-m", "dialtone.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "rtpengine" in errors[0]
    assert "DIALTONE_MEDIA_ENGINE=python" in errors[0]
