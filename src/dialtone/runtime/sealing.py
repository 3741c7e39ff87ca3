"""Sealing a finished recording before its record is committed (TERMS D5)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("dialtone.recordings")

Sealer = Callable[[Path], Path]


async def seal_recording(seal: Sealer | None, path: str | None) -> str | None:
    """The path the record should point at: ``path`` sealed (off the event loop) when
    sealing is on and the file exists. A failure keeps the plain file and says so: a
    recording is never lost to its encryption."""
    if seal is None or path is None or not Path(path).is_file():
        return path
    try:
        sealed = await asyncio.get_running_loop().run_in_executor(None, seal, Path(path))
    except OSError:
        log.exception("recording %s left unsealed", path)
        return path
    return str(sealed)
