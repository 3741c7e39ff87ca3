"""Every error leaves the API as ``{"code", "message"}`` plus ``rule`` where a term applies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from dialtone.api.admission import RETRY_AFTER_SECONDS
from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import audit, error_log
from dialtone.services.accounts.audit import AuditEntry
from dialtone.store.db import transaction

log = logging.getLogger("dialtone.api")

_HTTP_CODES = {
    401: "auth.missing",
    404: "http.not_found",
    405: "http.method_not_allowed",
    413: "http.too_large",
    415: "http.unsupported_media_type",
}


def error_body(code: str, message: str, rule: str | None = None) -> dict[str, str]:
    """The JSON error payload."""
    body = {"code": code, "message": message}
    if rule:
        body["rule"] = rule
    return body


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """Errors of the routes under ``prefix`` in another API's shape (the Twilio-compatible
    API's, issue 16): ``body`` makes the payload, ``challenge`` the WWW-Authenticate of
    a 401."""

    prefix: str
    body: Callable[[DialtoneError], dict[str, Any]]
    challenge: str


def _shape(request: Request) -> ErrorShape | None:
    shapes: tuple[ErrorShape, ...] = getattr(request.app.state, "error_shapes", ())
    return next((s for s in shapes if request.url.path.startswith(s.prefix)), None)


ErrorPage = Callable[[Request, DialtoneError], Response]


def _page(request: Request) -> ErrorPage | None:
    """The HTML error page of the pages under a prefix (the web console, issue 18): its
    routes answer people, not programs, with the same code, rule and message."""
    pages: tuple[tuple[str, ErrorPage], ...] = getattr(request.app.state, "error_pages", ())
    return next((page for prefix, page in pages if request.url.path.startswith(prefix)), None)


def _respond(
    request: Request, exc: DialtoneError, headers: dict[str, str] | None = None
) -> Response:
    """``exc`` as the JSON body of the API the request went to, or as a console page."""
    page = _page(request)
    if page is not None:
        return page(request, exc)
    return JSONResponse(_payload(request, exc), status_code=exc.status, headers=headers)


def _payload(request: Request, exc: DialtoneError) -> dict[str, Any]:
    """``exc`` as the JSON body of the API the request went to."""
    shape = _shape(request)
    return shape.body(exc) if shape is not None else exc.as_payload()


def _audit(request: Request, exc: DialtoneError) -> None:
    """Put a terms refusal on the audit log, in its own transaction (the request's was
    rolled back). A failure is logged: the client still gets its answer."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    entry = AuditEntry.of_error(
        exc,
        at=datetime.now(UTC),
        account_id=getattr(request.state, "account_id", None),
        # Never the client's address: the audit log is kept for good, and end users' IP
        # addresses may be kept 14 days at most (TERMS D4; the error log has them).
        actor=getattr(request.state, "actor", None) or "http:anonymous",
        action=f"{request.method} {path}",
    )
    try:
        with transaction(request.app.state.sessions) as session:
            audit.record(session, [entry])
    except Exception:
        log.exception("audit entry not written: %s", exc.code)


def _log_error(request: Request, status: int, code: str, message: str) -> None:
    """Put a failed request on the error log with the client's address (TERMS D4: the
    log forgets after 14 days and keeps 100 per account). A failure is logged only."""
    route = request.scope.get("route")
    settings = request.app.state.settings
    error = error_log.ApiError(
        at=datetime.now(UTC),
        account_id=getattr(request.state, "account_id", None),
        client_ip=request.client.host if request.client is not None else None,
        method=request.method,
        path=getattr(route, "path", request.url.path),
        status=status,
        code=code,
        message=message,
    )
    try:
        with transaction(request.app.state.sessions) as session:
            error_log.record(
                session,
                error,
                keep=settings.error_log_entries,
                days=settings.error_log_days,
            )
    except Exception:
        log.exception("error log entry not written: %s", code)


def _json_problem(err: Mapping[str, Any], body: Any) -> str | None:
    """Malformed JSON said with what and where (FastAPI's own: "16: JSON decode error")."""
    if err.get("type") != "json_invalid":
        return None
    loc = err.get("loc", ())
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    why = (err.get("ctx") or {}).get("error")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if pos is None or not isinstance(text, str):
        return "body is not valid JSON" + (f" ({why})" if why else "")
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"body is not valid JSON: line {line}, column {column}" + (f" ({why})" if why else "")


def _content_type_problem(err: Mapping[str, Any], request: Request) -> str | None:
    """A JSON route's body sent without a JSON ``Content-Type``: FastAPI then does not
    parse it, and its complaint (the body is not an object) does not say why."""
    if tuple(err.get("loc", ())) != ("body",) or err.get("type") == "missing":
        return None
    content_type = request.headers.get("content-type")
    if content_type is not None and "json" in content_type.lower():
        return None
    sent = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
    return (
        f"body: this route takes JSON and the request has {sent}: "
        "send 'Content-Type: application/json'"
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    @app.exception_handler(DialtoneError)
    async def _dialtone(request: Request, exc: DialtoneError) -> Response:
        if exc.rule is not None:
            await run_in_threadpool(_audit, request, exc)
        if exc.code == "api.busy":
            # Past capacity: a row in the error log per refusal would add to the load.
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        else:
            await run_in_threadpool(_log_error, request, exc.status, exc.code, exc.message)
        headers: dict[str, str] | None = None
        if exc.status == 401:
            shape = _shape(request)
            headers = {"WWW-Authenticate": shape.challenge if shape is not None else "Bearer"}
        elif exc.status == 503:
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return _respond(request, exc, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            said = _json_problem(err, exc.body) or _content_type_problem(err, request)
            if said is not None:
                problems.append(said)
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        message = "; ".join(problems) or "Invalid request."
        await run_in_threadpool(_log_error, request, 400, "request.invalid", message)
        return _respond(request, DialtoneError("request.invalid", message))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
        return _respond(
            request,
            DialtoneError(code, str(exc.detail), status=exc.status_code),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API")
        said = "Internal error; the operator's log has the details."
        return JSONResponse(
            _payload(request, DialtoneError("internal", said, status=500)), status_code=500
        )
