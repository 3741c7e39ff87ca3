"""The console's pages, one module per area, each with its ``router``: every module of this
package that has one is installed (``ALL_ROUTERS``), sign-in first."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def _routers() -> tuple[APIRouter, ...]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__))
    names.sort(key=lambda name: name != "sign_in")
    found = []
    for name in names:
        router = getattr(importlib.import_module(f"{__name__}.{name}"), "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return tuple(found)


ALL_ROUTERS: tuple[APIRouter, ...] = _routers()
