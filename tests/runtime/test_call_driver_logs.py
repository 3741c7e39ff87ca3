"""The call driver runs each call's work in the call's log context (dialtone.logs): every
line logged while it feeds a call an event, and in the tasks and timers that work starts,
carries the call's and its account's ids; nothing outside does."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from dialtone.call import actions as act
from dialtone.logs import LOG_IDS, LogIds
from dialtone.runtime.call_driver import CallDriver
from dialtone.runtime.media import RtpPortPool

log = logging.getLogger("dialtone.test.driver")


class Core:
    """A call core that logs what it is fed and asks for one timer."""

    def __init__(self) -> None:
        self.record_id = "CA9"
        self.spec = SimpleNamespace(account_id="AC9")
        self.a = None
        self.answered = None
        self.ended = False
        self.progress = ""
        self.seen: list[LogIds | None] = []

    def legs(self) -> list[Any]:
        return []

    def handle(self, event: object, now: float) -> list[act.Action]:
        self.seen.append(LOG_IDS.get())
        log.info("fed %s", type(event).__name__)
        return []


def test_a_calls_events_and_timers_log_with_its_ids(caplog: pytest.LogCaptureFixture) -> None:
    core = Core()

    async def scenario() -> None:
        driver = CallDriver(rtp_ports=RtpPortPool(40000, 40010), rtp_host="127.0.0.1", cdrs=None)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        driven = driver.start(core, [act.SetTimer("t", loop.time() + 0.01)])  # type: ignore[arg-type]
        log.info("outside")
        await asyncio.sleep(0.05)  # the timer fires: fed in the call's context
        assert driven.timers == {}

    with caplog.at_level(logging.INFO, logger="dialtone.test.driver"):
        asyncio.run(scenario())
    assert [(ids.call_id, ids.account_id) for ids in core.seen if ids] == [("CA9", "AC9")]
    assert len(core.seen) == 1
    assert LOG_IDS.get() is None


def test_a_setup_refused_before_it_is_a_call_logs_with_its_account() -> None:
    from dialtone.policy.decision import refuse
    from dialtone.runtime.engine_context import EngineContext

    seen: list[LogIds | None] = []
    ctx = EngineContext.__new__(EngineContext)  # only what refuse() uses
    ctx.now = lambda: None  # type: ignore[method-assign, assignment, return-value]

    async def on_record(entry: object) -> None:
        seen.append(LOG_IDS.get())

    ctx.put_on_record = on_record  # type: ignore[method-assign, assignment]
    ctx.reply = lambda *args, **kwargs: None  # type: ignore[method-assign]
    event = SimpleNamespace(request=SimpleNamespace(method="INVITE", call_id="c1"))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_task(
            ctx.refuse(
                event,  # type: ignore[arg-type]
                None,  # type: ignore[arg-type]
                refuse("destination.premium_rate", "premium-rate"),
                account_id="AC7",
                actor="user:US1",
                action="call.outbound",
            )
        )
        assert LOG_IDS.get() is None  # the task's own context, not ours

    asyncio.run(scenario())
    [ids] = seen
    assert ids is not None
    assert (ids.call_id, ids.account_id) == (None, "AC7")
