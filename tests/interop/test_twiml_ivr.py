"""A TwiML IVR on a running ``dialtone serve`` (issue 16's acceptance): the number's
VoiceUrl is set with the unmodified twilio SDK; sipp calls and presses 1 (RFC 4733);
Say + Gather → Redirect → Dial to a user whose baresip answers; with nobody there,
Record after the Dial, and the recording and its transcript are listed. Every request
the application gets is checked with the SDK's RequestValidator."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop import sippgen
from tests.interop.baresip import Baresip, require_baresip
from tests.interop.conftest import Platform, poll, registrations, require_sipp, serving
from tests.interop.twiml_app import Params, point_number, sdk, twiml_app

pytestmark = pytest.mark.interop

PCAPS = Path("/usr/share/sip-tester")
PASSWORD = "s3cret-phone-pass"


def voice(p: Params) -> str:
    return (
        '<Response><Gather numDigits="1" action="/menu" timeout="8">'
        "<Say>Welcome. Press 1 for sales.</Say></Gather>"
        "<Say>We did not get that.</Say></Response>"
    )


def menu(p: Params) -> str:
    if p.get("Digits") == "1":
        return "<Response><Redirect>/sales</Redirect></Response>"
    return "<Response><Hangup/></Response>"


def sales(p: Params) -> str:
    return '<Response><Dial timeout="6" action="/after-dial"><Client>201</Client></Dial></Response>'


def after_dial(p: Params) -> str:
    if p.get("DialCallStatus") == "completed":
        return "<Response><Say>Goodbye.</Say><Hangup/></Response>"
    return (
        "<Response><Say>Nobody is free. Leave a message.</Say>"
        '<Record maxLength="4" timeout="0" playBeep="true" action="/recorded" transcribe="true"/>'
        "</Response>"
    )


def recorded(p: Params) -> str:
    return "<Response><Say>Thank you.</Say><Hangup/></Response>"


ROUTES = {
    "/voice": voice,
    "/menu": menu,
    "/sales": sales,
    "/after-dial": after_dial,
    "/recorded": recorded,
}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"),),
        password=PASSWORD,
        webhook_allow_private_targets="true",
        lookup_cache_seconds="0",
    ) as running:
        yield running


def caller(tmp: Path, platform: Platform, *, wait_bye: bool) -> str:
    scenario = tmp / "ivr-caller.xml"
    scenario.write_text(
        sippgen.call(
            platform.number,
            pcap=str(PCAPS / "dtmf_2833_1.pcap"),
            wait_bye=wait_bye,
            bye_after_ms=20000,
        )
    )
    return str(scenario)


def run_caller(tmp: Path, platform: Platform, scenario: str) -> None:
    done = platform.sipp(scenario, platform.number, timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + platform.log()[-4000:]


@pytest.mark.skipif(not PCAPS.is_dir(), reason="sipp's DTMF pcaps")
def test_press_1_reaches_the_user_whose_phone_answers(platform: Platform, tmp_path: Path) -> None:
    require_baresip()
    with twiml_app(platform.extra["auth_token"], ROUTES) as app:
        point_number(platform, voice_url=app.url("/voice"))
        phone = Baresip(
            tmp_path, "alice", user="alice", password=PASSWORD, registrar_port=platform.sip_port
        )
        try:
            assert poll(lambda: registrations(platform), timeout=20), phone.log()[-3000:]
            scenario = caller(tmp_path, platform, wait_bye=True)

            def hang_up_when_answered() -> None:
                phone.wait_event("CALL_ESTABLISHED", timeout=40)
                phone.command("hangup")

            hanger = threading.Thread(target=hang_up_when_answered, daemon=True)
            hanger.start()
            run_caller(tmp_path, platform, scenario)
            hanger.join(5)
        finally:
            phone.stop()
        (first,) = app.to("/voice")
        assert (first["Direction"], first["To"], first["CallStatus"]) == (
            "inbound",
            platform.number,
            "ringing",
        )
        assert app.to("/menu")[0]["Digits"] == "1"
        (dialed,) = app.wait_for("/after-dial")
        assert dialed["DialCallStatus"] == "completed"
        assert int(dialed["DialCallDuration"]) >= 0
        assert all(r.signed for r in app.requests), [(r.path, r.signed) for r in app.requests]
    calls = sdk(platform).calls.list()
    assert [c.status for c in calls] == ["completed"]


@pytest.mark.skipif(not PCAPS.is_dir(), reason="sipp's DTMF pcaps")
def test_nobody_answers_so_the_caller_leaves_a_message(platform: Platform, tmp_path: Path) -> None:
    with twiml_app(platform.extra["auth_token"], ROUTES) as app:
        point_number(platform, voice_url=app.url("/voice"))
        run_caller(tmp_path, platform, caller(tmp_path, platform, wait_bye=True))
        (dialed,) = app.wait_for("/after-dial")
        assert dialed["DialCallStatus"] in ("no-answer", "failed")
        (saved,) = app.wait_for("/recorded")
        assert saved["RecordingSid"].startswith("RE")
        assert saved["RecordingUrl"].endswith(saved["RecordingSid"])
        assert float(saved["RecordingDuration"]) >= 0
        assert all(r.signed for r in app.requests)
    client = sdk(platform)
    (recording,) = client.recordings.list()
    assert recording.sid == saved["RecordingSid"]
    assert recording.call_sid == saved["CallSid"]
    # The transcript comes after the call, labelled machine-generated (TERMS V9).
    with platform.http() as http:

        def transcript() -> dict[str, object] | None:
            body = http.get(
                f"/2010-04-01/Accounts/{platform.account_id}/Recordings/{recording.sid}.json",
                auth=(platform.account_id, platform.extra["auth_token"]),
                headers={"Authorization": ""},
            ).json()
            return body if body.get("transcript") is not None else None

        found = poll(transcript, timeout=30)
        assert found, platform.log()[-3000:]
        assert found["transcript_label"] == "machine-generated"
        media = http.get(recording.uri.replace(".json", ".wav"))
    assert media.status_code == 200
    assert media.content[:4] == b"RIFF"


def test_sipp_and_the_dtmf_pcaps_exist() -> None:
    # The two tests above skip without them; in CI they must not.
    if shutil.which("sipp") is None or not PCAPS.is_dir():
        pytest.skip("sipp not installed here")
    assert (PCAPS / "dtmf_2833_1.pcap").is_file()


def speech_gather(p: Params) -> str:
    return (
        '<Response><Gather input="speech" action="/heard" speechTimeout="1" timeout="8">'
        "<Say>How can I help you?</Say></Gather><Say>Nothing heard.</Say></Response>"
    )


def test_gather_with_speech_hears_what_the_caller_says(platform: Platform, tmp_path: Path) -> None:
    # The caller's words, spoken by the offline TTS engine, resampled to 8 kHz, played by
    # sipp over the prompt; recognised by the offline speech-to-text engine.
    pcap = tmp_path / "appointment.pcap"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "dialtone.speech.say",
            "I would like an appointment tomorrow at ten.",
            str(pcap),
            "--lead",
            "0.5",
            "--trail",
            "2.5",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    routes = {"/voice": speech_gather, "/heard": lambda p: "<Response><Hangup/></Response>"}
    with twiml_app(platform.extra["auth_token"], routes) as app:
        point_number(platform, voice_url=app.url("/voice"))
        scenario = tmp_path / "speaker.xml"
        scenario.write_text(
            sippgen.call(platform.number, pcap=str(pcap), wait_bye=True, bye_after_ms=20000)
        )
        run_caller(tmp_path, platform, str(scenario))
        (heard,) = app.wait_for("/heard")
        assert all(r.signed for r in app.requests)
    words = heard["SpeechResult"].lower()
    assert "appointment" in words, heard
    assert "tomorrow" in words, heard
    assert 0 < float(heard["Confidence"]) <= 1
