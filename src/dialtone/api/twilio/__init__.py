"""The Twilio-compatible REST API (issue 16): ``/2010-04-01/Accounts/{AccountSid}/…``
on the same server, so a Twilio client's base URL is the server's address. One module
per resource; ``wire`` holds Twilio's conventions, ``auth`` its credentials,
``errors`` its error shape."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from dialtone.api.twilio import (
    accounts,
    auth_token,
    calls,
    errors,
    messages,
    numbers,
    recordings,
    usage,
)

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    messages.router,
    calls.router,
    numbers.router,
    recordings.router,
    usage.router,
    auth_token.router,
)


def install(app: FastAPI) -> None:
    """Serve the Twilio-compatible routes on ``app``, their errors in Twilio's shape."""
    app.state.error_shapes = (*getattr(app.state, "error_shapes", ()), errors.SHAPE)
    app.state.twilio_calls = getattr(app.state, "twilio_calls", None)
    for router in ROUTERS:
        app.include_router(router)
