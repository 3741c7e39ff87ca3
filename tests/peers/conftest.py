"""Fixtures for the outside SMPP peers: the SMSC simulator, started per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .smsc import Smsc, require_smsc


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    """A running SMSC simulator accepting system_id "dialtone", password "secret"."""
    require_smsc()
    with Smsc(tmp_path / "smsc", dlr_delay=0.1).start() as running:
        yield running
