"""Every error leaves the API as ``{"code", "message"}`` plus ``rule`` where a term applies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dialtone.core.errors import DialtoneError

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


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    @app.exception_handler(DialtoneError)
    async def _dialtone(_: Request, exc: DialtoneError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.as_payload(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(
            error_body("request.invalid", "; ".join(problems) or "Invalid request."),
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API")
        return JSONResponse(
            error_body("internal", "Internal error; the operator's log has the details."),
            status_code=500,
        )
