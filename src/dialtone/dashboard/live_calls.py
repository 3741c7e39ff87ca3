"""The calls in progress and the latest records, as the overview and the calls page show
them and the live feed updates them.

Calls in progress are asked of the call engine (``app.state.call_placer``, the same one
``GET /v1/calls/{id}`` asks), on the event loop that runs them; a role that reaches its
own calls only (TERMS D1) sees those it takes or places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import anyio.from_thread
from fastapi import Request
from sqlalchemy.orm import Session

from dialtone.dashboard.viewer import Viewer
from dialtone.services.telephony import calls
from dialtone.services.telephony.calls import LiveCall
from dialtone.store.models import CallRecord

RECENT = 10


class LiveSource(Protocol):
    """What the console needs of the call engine."""

    def live_calls(self, account_id: str | None) -> list[LiveCall]: ...


@dataclass(frozen=True, slots=True)
class CallsNow:
    """What the live regions show: the calls in progress and the latest records."""

    live: list[LiveCall]
    recent: list[CallRecord]

    def fingerprint(self) -> tuple[object, ...]:
        """Changes when a region would: a call starts, is answered or ends."""
        return (
            tuple((c.id, c.status) for c in self.live),
            tuple(r.id for r in self.recent),
        )


def visible(viewer: Viewer, found: list[LiveCall]) -> list[LiveCall]:
    """The calls in progress the viewer may see (D1: their own, for a role limited to it)."""
    caller = viewer.caller
    if caller is None:
        return []
    own = caller.narrow("calls.read")
    if own is None:
        return found
    return [call for call in found if own in calls.parties(call)]


def engine(request: Request) -> LiveSource | None:
    """The running call engine, if this process runs one (tests of pages may not)."""
    found: LiveSource | None = getattr(request.app.state, "call_placer", None)
    if found is None or not hasattr(found, "live_calls"):
        return None
    return found


def live_from_thread(request: Request, viewer: Viewer) -> list[LiveCall]:
    """The viewer's calls in progress, asked from a handler's worker thread."""
    source = engine(request)
    if source is None:
        return []
    found = anyio.from_thread.run_sync(source.live_calls, viewer.account.id)
    return visible(viewer, found)


def recent(session: Session, viewer: Viewer, limit: int = RECENT) -> list[CallRecord]:
    """The viewer's latest call records."""
    rows, _ = calls.list_calls(
        session,
        viewer.account.id,
        limit=limit,
        user_id=viewer.check("calls.read").narrow("calls.read"),
    )
    return rows
