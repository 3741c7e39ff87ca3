"""A call the account places for an application (what the Twilio-compatible
``POST …/Calls.json`` does), on the real SIP runtime: sipp is the callee; the application
starts when it answers, plays, sends digits, and hangs up; a refused destination never
rings (the decision path's code, TERMS V5); nobody answering is recorded no-answer."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.call import application as app
from dialtone.call.spec import CallSpec
from dialtone.core.errors import DialtoneError
from dialtone.services.telephony import users
from dialtone.services.telephony.greetings import default_greeting_path
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.interop import sippgen
from tests.interop.conftest import InProcess, apoll, free_port, in_process, run_sipp

pytestmark = pytest.mark.interop

SIPP = shutil.which("sipp")
NUMBER = "+33123456789"


@dataclass
class Greeter:
    """Plays the greeting, sends two digits, hangs up."""

    spec: CallSpec
    heard: list[app.AppEvent] = field(default_factory=list)

    def on_event(self, event: app.AppEvent) -> Sequence[app.Command]:
        self.heard.append(event)
        if isinstance(event, app.Started):
            return [
                app.Play(str(default_greeting_path()), beep=False),
                app.SendDigits("1#"),
                app.HangUp(),
            ]
        return []


def alice(platform: InProcess) -> int:
    """A user with extension 201 whose phone registered; its port."""
    user_id, port = platform.add_phone("alice", free_port())
    with transaction(platform.sessions) as session:
        users.update_user(session, platform.account_id, user_id, extension="201")
    return port


def records(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with transaction(sessions) as session:
        return [
            (r.id, r.direction, r.status, r.to_number) for r in session.scalars(select(CallRecord))
        ]


@pytest.mark.skipif(SIPP is None, reason="sipp")
def test_a_placed_call_runs_its_application_once_the_callee_answers(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with in_process(tmp_path, NUMBER) as platform:
            entries = platform.runtime.engine.entries
            phone_port = alice(platform)
            made: list[Greeter] = []
            progress: list[tuple[str, str]] = []
            platform.runtime.handler.driver.progress_listeners.append(
                lambda call, step, record: progress.append(
                    (step, record.status if record is not None else "")
                )
            )

            def factory(spec: CallSpec) -> Greeter:
                made.append(Greeter(spec))
                return made[-1]

            phone = asyncio.create_task(
                run_sipp(
                    tmp_path, "phone", sippgen.phone(ring_ms=300), port=phone_port, target=None
                )
            )
            await asyncio.sleep(0.3)  # sipp listening
            call_id = await entries.application_call(
                platform.account_id, "client:alice", NUMBER, factory, timeout=10
            )
            assert await phone == 0
            await apoll(lambda: records(platform.sessions), timeout=5)
            ((record_id, direction, status, _),) = records(platform.sessions)
            assert (record_id, direction, status) == (call_id, "outbound", "completed")
            (greeter,) = made
            assert greeter.spec.record_id == call_id
            assert greeter.heard[0] == app.Started()
            assert app.PlayDone(True) in greeter.heard  # the greeting, then the digits
            # What call status callbacks tell, in order.
            assert progress == [
                ("initiated", ""),
                ("ringing", ""),
                ("in-progress", ""),
                ("completed", "completed"),
            ]

    asyncio.run(scenario())


@pytest.mark.skipif(SIPP is None, reason="sipp")
def test_a_placed_call_nobody_answers_is_recorded_no_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with in_process(tmp_path, NUMBER) as platform:
            entries = platform.runtime.engine.entries
            phone_port = alice(platform)
            made: list[Greeter] = []
            phone = asyncio.create_task(
                run_sipp(
                    tmp_path,
                    "phone",
                    sippgen.phone(answer=False, expect_cancel=True),
                    port=phone_port,
                    target=None,
                )
            )
            await asyncio.sleep(0.3)
            await entries.application_call(
                platform.account_id,
                "client:alice",
                NUMBER,
                lambda spec: made.append(Greeter(spec)) or made[-1],
                timeout=1,
            )
            assert await phone == 0
            await apoll(lambda: records(platform.sessions), timeout=5)
            ((_, _, status, _),) = records(platform.sessions)
            assert status == "no-answer"
            assert app.Started() not in made[0].heard

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("to", "caller_id", "code"),
    [
        ("+33899123456", NUMBER, "destination.premium_rate"),  # V5
        ("+33612345678", "+33999999999", "caller_id.not_held"),  # V10
    ],
)
def test_a_refused_placed_call_rings_nobody(
    tmp_path: Path, to: str, caller_id: str, code: str
) -> None:
    async def scenario() -> None:
        async with in_process(tmp_path, NUMBER) as platform:
            entries = platform.runtime.engine.entries
            with pytest.raises(DialtoneError) as refused:
                await entries.application_call(platform.account_id, to, caller_id, Greeter)
            assert refused.value.code == code
            assert records(platform.sessions) == []

    asyncio.run(scenario())
