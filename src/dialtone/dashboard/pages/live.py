"""``/console/live``: the overview's and the calls page's live regions as server-sent
events. When a call starts, is answered or ends, the regions are sent again as HTML
(rendered here, by the same templates as the page), and the page's script puts them in.

The stream holds no database session and no admission place between looks: it looks at
the engine's calls in progress every ``POLL`` seconds (on the event loop, where they
live), and reads the records (a short session on a worker thread) when those change or
every ``REFRESH`` seconds. It ends when the session does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from dialtone.dashboard.live_calls import engine, recent, visible
from dialtone.dashboard.render import fragment
from dialtone.dashboard.viewer import SignInNeeded, Viewer, load_viewer
from dialtone.services.telephony.calls import LiveCall
from dialtone.store.models import CallRecord

router = APIRouter(prefix="/console", include_in_schema=False)

POLL = 0.5
REFRESH = 5.0
HEARTBEAT = 15.0
REGIONS = ("live", "live-count", "recent")


def _look(request: Request, with_recent: bool) -> tuple[Viewer, list[CallRecord] | None] | None:
    """The viewer (None once signed out) and, if asked, their latest records."""
    with request.app.state.sessions() as session:
        viewer = load_viewer(request, session)
        if viewer is None or viewer.caller is None:
            return None
        viewer.check("calls.read")
        rows = recent(session, viewer) if with_recent else None
        if rows is not None:
            session.expunge_all()
        return viewer, rows


@router.get("/live")
async def live(request: Request, regions: str = "live,recent") -> Response:
    """The live regions of a page, as ``text/event-stream``."""
    first = await anyio.to_thread.run_sync(_look, request, True)
    if first is None:
        raise SignInNeeded
    wanted = [name for name in regions.split(",") if name in REGIONS]
    if "live" in wanted and "live-count" not in wanted:
        wanted.append("live-count")
    return StreamingResponse(
        _events(request, first[0], first[1] or [], wanted),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, viewer: Viewer, rows: list[CallRecord], wanted: list[str]
) -> AsyncIterator[str]:
    source = engine(request)
    last_sent: tuple[object, ...] | None = None
    last_read = last_beat = time.monotonic()
    last_live: tuple[object, ...] = ()
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        live: list[LiveCall] = (
            visible(viewer, source.live_calls(viewer.account.id)) if source else []
        )
        live_key = tuple((c.id, c.status) for c in live)
        now = time.monotonic()
        if live_key != last_live or now - last_read >= REFRESH:
            looked = await anyio.to_thread.run_sync(_look, request, "recent" in wanted)
            if looked is None:
                return  # signed out or expired: the page's next load asks to sign in
            viewer, fresh = looked
            rows = fresh if fresh is not None else rows
            last_read, last_live = now, live_key
        key = (live_key, tuple(r.id for r in rows))
        if key != last_sent:
            yield _event(viewer, live, rows, wanted)
            last_sent, last_beat = key, now
        elif now - last_beat >= HEARTBEAT:
            yield ": still here\n\n"
            last_beat = now
        await asyncio.sleep(POLL)


def _event(viewer: Viewer, live: list[LiveCall], rows: list[CallRecord], wanted: list[str]) -> str:
    html: dict[str, str] = {}
    for name in wanted:
        if name == "live":
            html[name] = fragment("_live_calls.html", viewer.language, {"live": live})
        elif name == "live-count":
            html[name] = str(len(live))
        elif name == "recent":
            html[name] = fragment(
                "_call_rows.html",
                viewer.language,
                {"rows": rows, "caption": viewer.t("Latest calls")},
            )
    return f"event: regions\ndata: {json.dumps(html)}\n\n"
