"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

import dialtone
from dialtone.api import errors, metrics, twilio
from dialtone.api.admission import Admission
from dialtone.api.deps import SessionDep
from dialtone.api.limits import BodyLimit
from dialtone.api.log_scope import LogScope
from dialtone.api.v1 import (
    account,
    agents,
    api_keys,
    audit,
    billing,
    calls,
    consents,
    dnc,
    emails,
    errors_log,
    kyc,
    messages,
    numbers,
    policy,
    ports,
    registrations,
    renumberings,
    ring_groups,
    sla,
    smpp_logins,
    trunks,
    users,
    voicemails,
    webhooks,
)
from dialtone.settings import Settings


def create_app(settings: Settings, sessions: sessionmaker[Session]) -> FastAPI:
    """The API over ``sessions``; OpenAPI at ``/openapi.json``, docs at ``/docs``."""
    # FastAPIOffline: the docs pages load Swagger UI and ReDoc from assets the package
    # ships (served under /static-offline-docs), not from a CDN, so /docs works offline.
    app = FastAPIOffline(
        title="dialtone",
        version=dialtone.__version__,
        description="Phone numbers and their routes, users and their SIP devices, trunks, "
        "ring groups, voicemail, calls and call records. Every error is "
        '`{"code", "message"}` plus `rule` (a TERMS.md rule ID) where a term applies.',
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.admission = Admission()
    errors.install(app)
    # Bodies are refused by size before they are read (413), not after.
    app.add_middleware(BodyLimit)
    # Outermost: every line logged for a request, the limits' included, is in its scope.
    app.add_middleware(LogScope)

    @app.get("/healthz", tags=["health"])
    def healthz(request: Request, session: SessionDep) -> dict[str, object]:
        """Liveness and database reachability (no authentication); with ``serve``, the
        shared state too: its backend, this worker and whether it is degraded (Redis
        configured but not answering: the worker runs on its own state; issue 19)."""
        session.execute(text("SELECT 1"))
        health: dict[str, object] = {"status": "ok", "version": dialtone.__version__}
        shared = getattr(request.app.state, "shared", None)
        if shared is not None:
            health["shared"] = shared.health()
        return health

    app.include_router(account.router)
    app.include_router(numbers.router)
    app.include_router(calls.router)
    app.include_router(users.router)
    app.include_router(registrations.router)
    app.include_router(trunks.router)
    app.include_router(ring_groups.router)
    app.include_router(voicemails.router)
    app.include_router(policy.router)
    app.include_router(audit.router)
    app.include_router(dnc.router)
    app.include_router(messages.router)
    app.include_router(consents.router)
    app.include_router(smpp_logins.router)
    app.include_router(emails.router)
    app.include_router(emails.links)
    app.include_router(api_keys.router)
    app.include_router(errors_log.router)
    app.include_router(ports.router)
    app.include_router(renumberings.router)
    app.include_router(kyc.router)
    app.include_router(billing.router)
    app.include_router(sla.router)
    app.include_router(webhooks.router)
    app.include_router(agents.router)
    app.include_router(agents.report_router)
    app.include_router(metrics.router)  # /metrics, the operator's Prometheus (issue 19)
    twilio.install(app)  # /2010-04-01/…, the Twilio-compatible API (issue 16)
    return app
