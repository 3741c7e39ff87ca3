"""The console put onto the API's application: its pages under ``/console``, its own
static files (shipped in the package: no CDN), and its errors as pages.

``dialtone serve`` calls :func:`install` on the app ``api.app.create_app`` built; the
console is one more client of the same services, sessions and permission checks.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from dialtone.core.errors import DialtoneError
from dialtone.dashboard.pages import ALL_ROUTERS
from dialtone.dashboard.render import bare_page, page
from dialtone.dashboard.viewer import (
    AccountNeeded,
    SignInNeeded,
    browser_language,
    load_viewer,
)

PREFIX = "/console"


def install(app: FastAPI) -> None:
    """Add the console to ``app`` (made by ``api.app.create_app``)."""
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("dialtone.dashboard", "static")]),
        name="console-static",
    )
    for router in ALL_ROUTERS:
        app.include_router(router)
    app.state.error_pages = (*getattr(app.state, "error_pages", ()), (PREFIX, error_page))
    app.add_exception_handler(SignInNeeded, _to_sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(AccountNeeded, _to_accounts)  # type: ignore[arg-type]

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        """The platform's address opens the console."""
        return RedirectResponse(f"{PREFIX}/", status_code=303)


def error_page(request: Request, exc: DialtoneError) -> Response:
    """A refusal or a failure as a page: the same code, rule and message as the API's."""
    context = {"error": exc}
    if getattr(request.state, "viewer", None) is not None:
        # The request's own session was rolled back with the error: the page's menu and
        # names are read again in a fresh one.
        with request.app.state.sessions() as session:
            viewer = load_viewer(request, session)
            if viewer is not None:
                return page(request, viewer, "error.html", context, status=exc.status)
    return bare_page(request, "error.html", browser_language(request), context, status=exc.status)


async def _to_sign_in(request: Request, exc: SignInNeeded) -> Response:
    if request.url.path == f"{PREFIX}/live":
        return Response(status_code=401)  # the live feed's script reloads the page
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"{PREFIX}/sign-in?next={_quoted(target)}", status_code=303)


async def _to_accounts(request: Request, exc: AccountNeeded) -> Response:
    return RedirectResponse(f"{PREFIX}/accounts", status_code=303)


def _quoted(path: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(path, safe="/")
