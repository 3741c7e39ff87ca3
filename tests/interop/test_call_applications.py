"""The example call application of issue 14 on the real SIP runtime, driven by sipp with
RFC 4733 digits: a caller presses 1 and is bridged to the user's phone (another sipp),
or presses 2 and leaves a message. The runtime runs in-process so the test can plug the
application in for a number (``CallHandler.applications``). The user is ready steps, or
``user:<id>`` that the runtime resolves to the phone registered for the user."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from dialtone.call.dialer import Step
from dialtone.call.leg import Destination
from dialtone.runtime.server import SipRuntime, start_sip
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.services.telephony import users
from dialtone.services.telephony.greetings import default_greeting_path
from dialtone.settings import Settings
from dialtone.sip.headers import parse_name_address
from dialtone.sip.registrar import Binding
from dialtone.sip.uri import parse_uri
from dialtone.store.db import open_database, transaction
from dialtone.store.models import Account, CallRecord
from tests.call.apps.menu import Menu
from tests.interop import sippgen
from tests.interop.conftest import free_port, free_rtp_range

pytestmark = pytest.mark.interop

SIPP = shutil.which("sipp")
PCAPS = Path("/usr/share/sip-tester")
NUMBER = "+33123456789"


@asynccontextmanager
async def running(tmp: Path) -> AsyncIterator[tuple[SipRuntime, object]]:
    _, sessions = open_database(f"sqlite:///{tmp / 'db.sqlite'}")
    with transaction(sessions) as session:
        account = accounts.create_account(session, "A", now=datetime.now(UTC)).account
        numbers.add_number(session, account.id, NUMBER, now=datetime.now(UTC))
    low, high = free_rtp_range(100)
    settings = Settings(
        data_dir=tmp / "var",
        sip_host="127.0.0.1",
        sip_port=free_port(),
        sip_tcp_port=None,
        sip_tls_port=None,
        rtp_port_min=low,
        rtp_port_max=high,
    )
    runtime = await start_sip(settings, sessions)
    try:
        yield runtime, sessions
    finally:
        await runtime.end_calls()
        runtime.close()


async def sipp(tmp: Path, name: str, xml: str, *, port: int, target: int | None) -> int:
    scenario = sippgen.write(tmp, f"{name}.xml", xml)
    assert SIPP is not None
    args = [
        *([f"127.0.0.1:{target}"] if target is not None else []),
        "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_rtp_range(20)[0]), "-m", "1", "-timeout", "40s", "-timeout_error",
        "-nostdin", "-trace_err", "-error_file", str(tmp / f"{name}.err.log"),
        "-trace_msg", "-message_file", str(tmp / f"{name}.msg.log"),
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        SIPP, *args, cwd=tmp, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


def records(sessions: object) -> list[tuple[str, list[str | None], str | None]]:
    """(hangup cause, the leg chain's ids, the recording) of every call record."""
    with transaction(sessions) as session:  # type: ignore[arg-type]
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
        async with running(tmp_path) as (runtime, sessions):
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
                with transaction(sessions) as session:  # type: ignore[arg-type]
                    account_id = session.scalars(select(Account)).one().id
                    alice = users.create_user(
                        session,
                        account_id,
                        name="Alice",
                        sip_username="alice",
                        now=datetime.now(UTC),
                        realm="t",
                    )
                    bridged_to = alice.id
                registrar = runtime.engine.registrar
                registrar.table.restore(
                    alice.id,
                    Binding(
                        contact=f"sip:alice@127.0.0.1:{phone_port}",
                        source=("127.0.0.1", phone_port),
                        transport="udp",
                        expires_at=registrar.clock() + 3600,
                        call_id="reg-1",
                        cseq=1,
                    ),
                )
                menu = Menu(str(default_greeting_path()), f"user:{alice.id}")
            runtime.handler.applications[NUMBER] = lambda: menu
            server_port = channel.endpoint.local_port
            caller = sippgen.call(
                NUMBER, pcap=str(PCAPS / f"dtmf_2833_{digit}.pcap"), bye_after_ms=12000
            )
            tasks = [sipp(tmp_path, "caller", caller, port=free_port(), target=server_port)]
            if digit == "1":
                phone = sippgen.phone(ring_ms=100)
                tasks.append(sipp(tmp_path, "phone", phone, port=phone_port, target=None))
            codes = await asyncio.gather(*tasks)
            assert codes == [0] * len(codes), (
                (tmp_path / "caller.err.log").read_text(errors="replace")
                if (tmp_path / "caller.err.log").exists()
                else codes
            )
            for _ in range(50):
                if records(sessions):
                    break
                await asyncio.sleep(0.1)
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
