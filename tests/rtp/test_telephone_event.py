"""RFC 4733 telephone-events: the payload and digits from a stream, each counted once."""

from __future__ import annotations

import pytest

from dialtone.rtp.packet import RtpPacket
from dialtone.rtp.telephone_event import (
    DigitDetector,
    TelephoneEvent,
    TelephoneEventError,
)


def packet(
    event: int, *, end: bool, ts: int, pt: int = 101, ssrc: int = 7, seq: int = 1
) -> RtpPacket:
    payload = bytes(TelephoneEvent(event, end, 10, 160))
    return RtpPacket(payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=payload)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\x01\x8a\x00\xa0", TelephoneEvent(1, True, 10, 160)),
        (b"\x0b\x0a\x03\x20", TelephoneEvent(11, False, 10, 800)),
        (b"\x10\x80\x00\x00", TelephoneEvent(16, True, 0, 0)),
    ],
)
def test_payloads_round_trip(payload: bytes, expected: TelephoneEvent) -> None:
    assert TelephoneEvent.parse(payload) == expected
    assert bytes(expected) == payload


@pytest.mark.parametrize(
    ("event", "digit"), [(0, "0"), (9, "9"), (10, "*"), (11, "#"), (15, "D"), (16, None)]
)
def test_events_name_their_digit(event: int, digit: str | None) -> None:
    assert TelephoneEvent(event, True, 0, 0).digit == digit


def test_a_short_payload_is_refused() -> None:
    with pytest.raises(TelephoneEventError):
        TelephoneEvent.parse(b"\x01\x80")


def test_a_digit_counts_once_on_its_first_end_packet() -> None:
    detector = DigitDetector(101)
    stream = [
        packet(1, end=False, ts=1000, seq=1),
        packet(1, end=False, ts=1000, seq=2),
        packet(1, end=True, ts=1000, seq=3),
        packet(1, end=True, ts=1000, seq=4),  # the end is sent three times
        packet(1, end=True, ts=1000, seq=5),
        packet(1, end=True, ts=2000, seq=6),  # the same key pressed again: a new event
        packet(2, end=True, ts=3000, seq=7, pt=0),  # audio, not an event
        packet(11, end=True, ts=4000, seq=8),
    ]
    assert [d for d in map(detector.push, stream) if d] == ["1", "1", "#"]


def test_an_unreadable_event_payload_is_skipped() -> None:
    detector = DigitDetector(101)
    bad = RtpPacket(payload_type=101, sequence_number=1, timestamp=1, ssrc=1, payload=b"\x01")
    assert detector.push(bad) is None
