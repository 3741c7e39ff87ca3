"""The event loop ``serve`` runs on: uvloop when installed, asyncio's otherwise."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: str = "auto") -> tuple[str, LoopFactory]:
    """The loop's name and a factory for it.

    ``auto`` takes uvloop when it can be imported (it is a default dependency on POSIX)
    and falls back to asyncio's loop; ``uvloop`` insists on it; ``asyncio`` never uses it.
    """
    if choice not in ("auto", "uvloop", "asyncio"):
        raise ValueError(f"unknown event loop {choice!r}")
    if choice != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            factory: LoopFactory = uvloop.new_event_loop
            return "uvloop", factory
    return "asyncio", asyncio.new_event_loop
