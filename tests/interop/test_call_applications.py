"""The example call application of issue 14 on the real SIP runtime, driven by sipp with
RFC 4733 digits: a caller presses 1 and is bridged to the user's phone (another sipp),
or presses 2 and leaves a message. The runtime runs in-process so the test can plug the
application in for a number (``CallHandler.applications``). The user is ready steps, or
``user:<id>`` that the runtime resolves to the phone registered for the user."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.call.dialer import Step
from dialtone.call.leg import Destination
from dialtone.services.telephony.greetings import default_greeting_path
from dialtone.sip.headers import parse_name_address
from dialtone.sip.uri import parse_uri
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.call.apps.menu import Menu
from tests.interop import sippgen
from tests.interop.conftest import apoll, free_port, in_process, run_sipp, sipp_errors

pytestmark = pytest.mark.interop

SIPP = shutil.which("sipp")
PCAPS = Path("/usr/share/sip-tester")
NUMBER = "+33123456789"


def records(sessions: sessionmaker[Session]) -> list[tuple[str, list[str | None], str | None]]:
    """(hangup cause, the leg chain's ids, the recording) of every call record."""
    with transaction(sessions) as session:
        return [
            (r.hangup_cause, [leg.get("id") for leg in json.loads(r.legs)], r.recording_path)
            for r in session.scalars(select(CallRecord))
        ]


@pytest.mark.skipif(SIPP is None or not PCAPS.is_dir(), reason="sipp and its DTMF pcaps")
@pytest.mark.parametrize(
    ("digit", "target", "cause"),
    [("1", "steps", "caller-bye"), ("1", "user", "caller-bye"), ("2", "steps", "caller-bye")],
)
def test_the_menu_bridges_on_1_and_records_on_2(
    tmp_path: Path, digit: str, target: str, cause: str
) -> None:
    async def scenario() -> None:
        async with in_process(tmp_path, NUMBER) as platform:
            runtime, sessions = platform.runtime, platform.sessions
            channel = runtime.channels["udp"]
            phone_port = free_port()
            user = Destination(
                uri=parse_uri(f"sip:alice@127.0.0.1:{phone_port}"),
                path=runtime.handler.driver.path(channel),  # type: ignore[arg-type]
                peer=("127.0.0.1", phone_port),
                to=parse_name_address("<sip:alice@127.0.0.1>"),
                caller=parse_name_address(f"<sip:{NUMBER}@127.0.0.1>"),
                trace={"kind": "device", "id": "alice"},
            )
            menu = Menu(str(default_greeting_path()), (Step((user,), 10.0),))
            bridged_to = "alice"
            if target == "user":
                # A user whose phone registered: the runtime resolves "user:<id>" to it.
                bridged_to, _ = platform.add_phone("alice", phone_port)
                menu = Menu(str(default_greeting_path()), f"user:{bridged_to}")
            runtime.handler.applications[NUMBER] = lambda: menu
            caller = sippgen.call(
                NUMBER, pcap=str(PCAPS / f"dtmf_2833_{digit}.pcap"), bye_after_ms=12000
            )
            tasks = [
                run_sipp(tmp_path, "caller", caller, port=free_port(), target=platform.sip_port)
            ]
            if digit == "1":
                phone = sippgen.phone(ring_ms=100)
                tasks.append(run_sipp(tmp_path, "phone", phone, port=phone_port, target=None))
            codes = await asyncio.gather(*tasks)
            assert codes == [0] * len(codes), sipp_errors(tmp_path, "caller") or codes
            await apoll(lambda: records(sessions), timeout=5)
            assert menu.heard == [digit]
            ((hangup_cause, legs, recording),) = records(sessions)
            assert hangup_cause == cause
            if digit == "1":
                assert bridged_to in legs  # bridged to the user
            else:
                assert "alice" not in legs
                assert recording is not None  # the message
                assert Path(recording).exists()

    asyncio.run(scenario())
