"""Which event loop ``serve`` runs on (issue 4: uvloop when installed)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from dialtone.runtime.loop import loop_factory


def test_auto_takes_uvloop_when_installed() -> None:
    pytest.importorskip("uvloop")
    name, factory = loop_factory("auto")
    loop = factory()
    try:
        assert name == "uvloop"
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_asyncio_is_never_uvloop() -> None:
    name, factory = loop_factory("asyncio")
    loop = factory()
    try:
        assert name == "asyncio"
        assert isinstance(loop, asyncio.BaseEventLoop)
    finally:
        loop.close()


def test_auto_falls_back_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail, as on a machine without uvloop.
    monkeypatch.setitem(sys.modules, "uvloop", None)
    assert loop_factory("auto")[0] == "asyncio"
    with pytest.raises(ImportError):
        loop_factory("uvloop")


def test_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event loop"):
        loop_factory("trio")
