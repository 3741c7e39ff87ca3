"""End of speech: synthetic frames at the boundaries of each duration (min_speech,
end_silence, timeout, max_speech, pre-roll), with the energy detector."""

from __future__ import annotations

import math
import random
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.speech.endpoint import (
    FRAME_BYTES,
    EndpointConfig,
    Endpointer,
    EnergyDetector,
    NoSpeech,
    Pausing,
    SpeechEnded,
    SpeechStarted,
    frame_dbfs,
)

FRAME = 0.02


def tone(amplitude: int = 8000, frequency: float = 440.0) -> bytes:
    return array(
        "h", (int(amplitude * math.sin(2 * math.pi * frequency * i / 8000)) for i in range(160))
    ).tobytes()


def noise(amplitude: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return array("h", (rng.randint(-amplitude, amplitude) for _ in range(160))).tobytes()


SILENCE = bytes(FRAME_BYTES)
VOICE = tone()
HISS = noise(30)  # about -64 dBFS: line noise, not voice


def run(
    script: str, config: EndpointConfig | None = None
) -> list[tuple[int, SpeechStarted | SpeechEnded | NoSpeech]]:
    """Feed one frame per character ("v" voice, "s" silence, "h" hiss) 20 ms apart
    from t=0; the events with the index of the frame that caused them."""
    endpointer = Endpointer(config or EndpointConfig(), EnergyDetector(), now=0.0)
    frames = {"v": VOICE, "s": SILENCE, "h": HISS}
    events = []
    for index, kind in enumerate(script):
        for event in endpointer.feed(frames[kind], (index + 1) * FRAME):
            events.append((index, event))
    return events


def kinds(events: list[tuple[int, object]]) -> list[tuple[int, str]]:
    return [(index, type(event).__name__) for index, event in events]


CONFIG = EndpointConfig(min_speech=0.1, end_silence=0.5, timeout=5.0, pre_roll=0.1)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # min_speech 0.1 s is 5 frames: 4 voiced frames are a click, 5 start speech.
        ("ssvvvvssss", []),
        ("ssvvvvvsss", [(6, "SpeechStarted")]),
        # A cough (4 frames) then a gap then speech: the run starts again from zero.
        ("vvvvsvvvvv", [(9, "SpeechStarted")]),
        # end_silence 0.5 s is 25 frames: 24 silent frames go on, the 25th ends.
        ("vvvvv" + "s" * 24, [(4, "SpeechStarted")]),
        ("vvvvv" + "s" * 25, [(4, "SpeechStarted"), (29, "SpeechEnded")]),
        # Voice inside the silence restarts its count.
        ("vvvvv" + "s" * 20 + "v" + "s" * 24, [(4, "SpeechStarted")]),
        ("vvvvv" + "s" * 20 + "v" + "s" * 25, [(4, "SpeechStarted"), (50, "SpeechEnded")]),
        # Hiss is not voice for the energy detector, and counts as silence.
        ("hhhvvvvvhh" + "h" * 23, [(7, "SpeechStarted"), (32, "SpeechEnded")]),
    ],
)
def test_start_and_end_at_their_boundaries(script: str, expected: list[tuple[int, str]]) -> None:
    assert kinds(run(script, CONFIG)) == expected


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        (249, []),  # 249 frames end at 4.98 s, before the 5 s timeout
        (250, [(249, "NoSpeech")]),  # the 250th arrives at 5.00 s
    ],
)
def test_no_speech_at_the_timeout(frames: int, expected: list[tuple[int, str]]) -> None:
    assert kinds(run("s" * frames, CONFIG)) == expected


def test_after_the_end_nothing_more_is_said() -> None:
    events = run("vvvvv" + "s" * 25 + "vvvvvvvvvv" + "s" * 300, CONFIG)
    assert kinds(events) == [(4, "SpeechStarted"), (29, "SpeechEnded")]


def test_the_utterance_keeps_its_pre_roll_speech_and_trailing_silence() -> None:
    # pre_roll 0.1 s: 5 of the 10 silent frames before the voice are kept.
    [(_, _), (_, ended)] = run("s" * 10 + "v" * 30 + "s" * 25, CONFIG)
    assert isinstance(ended, SpeechEnded)
    assert ended.audio == SILENCE * 5 + VOICE * 30 + SILENCE * 25
    assert not ended.truncated


def test_a_click_before_speech_stays_in_the_pre_roll() -> None:
    config = EndpointConfig(min_speech=0.1, end_silence=0.5, pre_roll=0.2)
    [(_, _), (_, ended)] = run("ssssssvvssss" + "v" * 10 + "s" * 25, config)
    assert isinstance(ended, SpeechEnded)
    # 0.2 s of pre-roll: the last 10 of the 12 frames before the run, the click among them.
    assert ended.audio == SILENCE * 4 + VOICE * 2 + SILENCE * 4 + VOICE * 10 + SILENCE * 25


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # max_speech 2 s is 100 frames of the utterance, its pauses included.
        ("v" * 99, [(4, "SpeechStarted")]),
        ("v" * 100, [(4, "SpeechStarted"), (99, "SpeechEnded")]),
        ("v" * 50 + "s" * 20 + "v" * 30, [(4, "SpeechStarted"), (99, "SpeechEnded")]),
    ],
)
def test_max_speech_cuts_the_utterance(script: str, expected: list[tuple[int, str]]) -> None:
    config = EndpointConfig(min_speech=0.1, max_speech=2.0, end_silence=0.5)
    events = run(script, config)
    assert kinds(events) == expected
    if len(events) == 2:
        ended = events[1][1]
        assert isinstance(ended, SpeechEnded)
        assert ended.truncated
        assert len(ended.audio) == 100 * FRAME_BYTES


def test_time_without_packets_ends_speech_and_times_out() -> None:
    endpointer = Endpointer(CONFIG, EnergyDetector(), now=100.0)
    assert endpointer.deadline() == 105.0
    assert endpointer.check(104.99) == []
    for i in range(5):
        endpointer.feed(VOICE, 101.0 + i * FRAME)
    assert endpointer.speaking
    last_voice = 101.0 + 4 * FRAME
    assert endpointer.deadline() == pytest.approx(last_voice + 0.5)
    assert endpointer.check(last_voice + 0.49) == []
    [ended] = endpointer.check(last_voice + 0.5)
    assert isinstance(ended, SpeechEnded)
    assert ended.audio == VOICE * 5
    assert endpointer.done
    assert endpointer.deadline() is None

    silent = Endpointer(CONFIG, EnergyDetector(), now=100.0)
    assert silent.check(105.0) == [NoSpeech(105.0)]
    assert silent.feed(VOICE, 105.02) == []


@pytest.mark.parametrize(
    ("frame", "voiced"),
    [
        (SILENCE, False),
        (b"", False),
        (HISS, False),
        (noise(300), False),  # about -44 dBFS
        (noise(600), True),  # about -38 dBFS
        (tone(400), False),  # -41 dBFS
        (tone(500), True),  # -39 dBFS
        (VOICE, True),
    ],
)
def test_energy_detector_threshold(frame: bytes, voiced: bool) -> None:
    assert EnergyDetector(-40.0).is_speech(frame) is voiced


def test_frame_level() -> None:
    full = array("h", [32767, -32768] * 80).tobytes()
    assert frame_dbfs(full) == pytest.approx(0.0, abs=0.01)
    assert frame_dbfs(tone(16384)) == pytest.approx(-9.03, abs=0.05)
    assert frame_dbfs(SILENCE) == -math.inf


@pytest.mark.parametrize(
    "bad",
    [
        {"min_speech": 0},
        {"end_silence": -1},
        {"timeout": 0},
        {"max_speech": 0},
        {"pre_roll": -0.1},
    ],
)
def test_bad_configs_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        EndpointConfig(**bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("vsh"), max_size=400))
def test_any_stream_of_frames_keeps_the_order_of_events(script: list[str]) -> None:
    events = [event for _, event in run("".join(script), CONFIG)]
    names = [type(event).__name__ for event in events]
    assert names in ([], ["SpeechStarted"], ["SpeechStarted", "SpeechEnded"], ["NoSpeech"])
    for event in events:
        if isinstance(event, SpeechEnded):
            assert len(event.audio) % FRAME_BYTES == 0
            assert VOICE * 5 in event.audio


# Early recognition: a Pausing after ``early`` (0.2 s, 10 frames) of silence.
EARLY = EndpointConfig(min_speech=0.1, end_silence=0.5, timeout=5.0, pre_roll=0.0, early=0.2)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # 9 silent frames go on; the 10th is a pause; the 25th the end.
        ("vvvvv" + "s" * 9, [(4, "SpeechStarted")]),
        ("vvvvv" + "s" * 10, [(4, "SpeechStarted"), (14, "Pausing")]),
        ("vvvvv" + "s" * 25, [(4, "SpeechStarted"), (14, "Pausing"), (29, "SpeechEnded")]),
        # The caller goes on after a pause: another pause is another Pausing.
        (
            "vvvvv" + "s" * 12 + "vv" + "s" * 25,
            [(4, "SpeechStarted"), (14, "Pausing"), (28, "Pausing"), (43, "SpeechEnded")],
        ),
        # Before speech has started nothing pauses.
        ("vvvv" + "s" * 30, []),
    ],
)
def test_a_pause_comes_early_once_per_pause(script: str, expected: list[tuple[int, str]]) -> None:
    assert kinds(run(script, EARLY)) == expected


def test_a_pause_carries_the_audio_so_far_and_where_its_voice_ends() -> None:
    events = [event for _, event in run("vvvvv" + "s" * 25, EARLY)]
    pausing, ended = events[1], events[2]
    assert isinstance(pausing, Pausing)
    assert isinstance(ended, SpeechEnded)
    # The silence heard so far (10 frames) repeated to end_silence (25): what the end
    # brings when the caller stays silent, so the recogniser hears the same.
    assert pausing.audio == VOICE * 5 + SILENCE * 25
    assert pausing.voiced == ended.voiced == 5 * FRAME_BYTES
    assert ended.audio == pausing.audio
    # The caller went on: the end's voiced audio is longer than the first pause's.
    events = [event for _, event in run("vvvvv" + "s" * 12 + "vv" + "s" * 25, EARLY)]
    first, second, ended = events[1], events[2], events[3]
    assert isinstance(first, Pausing)
    assert isinstance(second, Pausing)
    assert isinstance(ended, SpeechEnded)
    assert first.voiced == 5 * FRAME_BYTES
    assert second.voiced == ended.voiced == 19 * FRAME_BYTES


def test_without_early_no_pause_and_the_voiced_length_is_still_known() -> None:
    events = [event for _, event in run("vvvvv" + "s" * 25, CONFIG)]
    assert not any(isinstance(event, Pausing) for event in events)
    ended = events[-1]
    assert isinstance(ended, SpeechEnded)
    # The pre-roll (0.1 s, nothing before the voice here) counts in ``voiced``.
    assert ended.voiced == 5 * FRAME_BYTES


def test_a_pause_without_packets_comes_at_its_deadline() -> None:
    endpointer = Endpointer(EARLY, EnergyDetector(), now=100.0)
    for i in range(5):
        endpointer.feed(VOICE, 101.0 + i * FRAME)
    last_voice = 101.0 + 4 * FRAME
    assert endpointer.deadline() == pytest.approx(last_voice + 0.2)
    assert endpointer.check(last_voice + 0.19) == []
    [pausing] = endpointer.check(last_voice + 0.2)
    assert pausing == Pausing(VOICE * 5, last_voice + 0.2, 5 * FRAME_BYTES)
    # Once said, the next deadline is the end's, and the pause is not said again.
    assert endpointer.deadline() == pytest.approx(last_voice + 0.5)
    assert endpointer.check(last_voice + 0.3) == []
    [ended] = endpointer.check(last_voice + 0.5)
    assert isinstance(ended, SpeechEnded)
    assert ended.voiced == len(ended.audio) == 5 * FRAME_BYTES


@pytest.mark.parametrize("early", [0.0, -0.1, 0.5, 0.6])
def test_early_must_come_before_the_end(early: float) -> None:
    with pytest.raises(ValueError, match="early must"):
        EndpointConfig(end_silence=0.5, early=early)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("vsh"), max_size=400))
def test_pauses_come_between_the_start_and_the_end(script: list[str]) -> None:
    events = [event for _, event in run("".join(script), EARLY)]
    names = [type(event).__name__ for event in events if not isinstance(event, Pausing)]
    assert names in ([], ["SpeechStarted"], ["SpeechStarted", "SpeechEnded"], ["NoSpeech"])
    pauses = [i for i, event in enumerate(events) if isinstance(event, Pausing)]
    if pauses:
        assert isinstance(events[0], SpeechStarted)
        assert not isinstance(events[-1], SpeechStarted)
    voiced = [event.voiced for event in events if isinstance(event, Pausing | SpeechEnded)]
    assert voiced == sorted(voiced)
    for event in events:
        if isinstance(event, Pausing):
            assert event.voiced < len(event.audio)


def test_a_pause_repeats_the_silence_it_heard_not_digital_silence() -> None:
    events = [event for _, event in run("vvvvv" + "s" + "h" * 9, EARLY)]
    pausing = events[-1]
    assert isinstance(pausing, Pausing)
    heard = SILENCE + HISS * 9
    assert pausing.audio == VOICE * 5 + heard + heard + SILENCE + HISS * 4
