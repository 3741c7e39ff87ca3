"""Fixtures for the outside SMPP peers, started per test: the SMSC simulator, an HTTP
sink, Kannel bound to the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .http_sink import HttpSink
from .kannel import Kannel, require_kannel
from .smsc import Smsc, require_smsc


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    """A running SMSC simulator accepting system_id "dialtone", password "secret"."""
    require_smsc()
    with Smsc(tmp_path / "smsc", dlr_delay=0.1).start() as running:
        yield running


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """An HTTP server recording the GETs it is sent (dlr-url, get-url)."""
    with HttpSink() as sink:
        yield sink


@pytest.fixture
def kannel(tmp_path: Path, smsc: Smsc, http_sink: HttpSink) -> Iterator[Kannel]:
    """Kannel bound as a transceiver to ``smsc``, its DLRs and MO going to ``http_sink``."""
    require_kannel()
    with Kannel(
        tmp_path / "kannel",
        smsc_port=smsc.port,
        system_id=smsc.system_id,
        password=smsc.password,
        sink=http_sink,
    ) as running:
        yield running.start()
