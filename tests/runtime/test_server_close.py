"""Closing the SIP runtime without ending calls first (``serve`` does so when the HTTP
server stops at start) still stops the trunk registrations: a registration task left
running would reach the stopped database executor ("cannot schedule new futures after
shutdown")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dialtone.runtime.server import start_sip
from dialtone.settings import Settings
from tests.database import migrated_database


def test_aclose_stops_the_trunk_registrations(tmp_path: Path) -> None:
    async def scenario() -> None:
        _, sessions = migrated_database(tmp_path / "db.sqlite")
        settings = Settings(
            data_dir=tmp_path / "var",
            sip_host="127.0.0.1",
            sip_port=0,
            sip_tcp_port=None,
            sip_tls_port=None,
            rtp_port_min=41200,
            rtp_port_max=41300,
        )
        runtime = await start_sip(settings, sessions)
        assert runtime.registrations is not None
        assert len(runtime.registrations.tasks) == 1  # the scanner
        await runtime.aclose()
        assert len(runtime.registrations.tasks) == 0
        await runtime.aclose()  # twice: nothing left to stop, no error

    asyncio.run(scenario())
