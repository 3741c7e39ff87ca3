"""Which engine the call driver opens a call's media on (issue 19): with rtpengine set,
a bridged call no application hears goes to it, one an application hears (digits, taps)
and the answering machine's session stay in Python; rtpengine not answering feeds
``MediaUnavailable(media.engine_unavailable)``."""

from __future__ import annotations

import asyncio

import pytest

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.runtime.call_driver import CallDriver, Driven
from dialtone.runtime.media import RtpPortPool
from dialtone.runtime.ng_client import NgRefused, NgUnavailable
from dialtone.runtime.relay import MediaRelay
from dialtone.sip.sdp import NegotiatedAudio
from tests.interop.conftest import free_rtp_range

AUDIO = NegotiatedAudio(
    remote_address="127.0.0.1",
    remote_port=40000,
    codec="PCMA",
    payload_type=8,
    clock_rate=8000,
    ptime=20,
    direction="sendrecv",
    telephone_event_payload_type=101,
)


class FakeSide:
    def __init__(self, port: int) -> None:
        self.port = port


class FakeRelay:
    def __init__(self) -> None:
        self.sides = (FakeSide(31000), FakeSide(31002))
        self.a, self.b = self.sides
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.opened: list[str] = []

    async def open_relay(self, record_id: str, audio: NegotiatedAudio) -> FakeRelay:
        if self.failure is not None:
            raise self.failure
        self.opened.append(record_id)
        return FakeRelay()


class FakeCall:
    record_id = "CA1"


def _open(action: act.OpenMedia, engine: FakeEngine) -> tuple[Driven, list[ev.Event], CallDriver]:
    low, high = free_rtp_range(10)
    driver = CallDriver(rtp_ports=RtpPortPool(low, high), rtp_host="127.0.0.1", cdrs=None)  # type: ignore[arg-type]
    driver.media_engine = engine  # type: ignore[assignment]
    fed: list[ev.Event] = []
    driver.feed = lambda driven, event: fed.append(event)  # type: ignore[method-assign]
    driven = Driven(FakeCall())  # type: ignore[arg-type]

    async def run() -> None:
        await driver._open_media(driven, action)
        if isinstance(driven.relay, MediaRelay):
            driven.relay.close()
        if driven.session is not None:
            driven.session.close()

    asyncio.run(run())
    return driven, fed, driver


def test_a_bridged_call_no_application_hears_goes_to_rtpengine() -> None:
    engine = FakeEngine()
    driven, fed, _ = _open(act.OpenMedia(2, AUDIO, digits=False), engine)
    assert engine.opened == ["CA1"]
    assert isinstance(driven.relay, FakeRelay)
    assert fed == [ev.MediaOpened((31000, 31002))]


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (act.OpenMedia(2, AUDIO, digits=True), "relay"),  # an application hears it
        (act.OpenMedia(1, AUDIO, digits=True), "session"),  # the answering machine
    ],
)
def test_calls_that_need_the_audio_stay_in_python(action: act.OpenMedia, kind: str) -> None:
    engine = FakeEngine()
    driven, fed, _ = _open(action, engine)
    assert engine.opened == []
    assert isinstance(fed[0], ev.MediaOpened)
    if kind == "relay":
        assert isinstance(driven.relay, MediaRelay)
    else:
        assert driven.session is not None


@pytest.mark.parametrize(
    "failure", [NgUnavailable("rtpengine did not answer offer"), NgRefused("offer", "load limit")]
)
def test_rtpengine_failing_at_setup_is_media_engine_unavailable(failure: Exception) -> None:
    driven, fed, _ = _open(act.OpenMedia(2, AUDIO), FakeEngine(failure))
    assert fed == [ev.MediaUnavailable(ev.ENGINE_UNAVAILABLE)]
    assert driven.relay is None
