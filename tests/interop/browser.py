"""A real headless browser for the console's tests (issue 18): Debian's ``chromium``
driven by Playwright (from PyPI). Playwright's own browsers are never downloaded: the
system's executable is launched, once per test module; each test gets a fresh context
(no cookies shared between tests) at 1280×800, the size of the screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1280, "height": 800}
# Every wait of these tests is for an event (a selector, a response, a download); this is
# only how long such an event may take on a loaded two-core machine before it is a failure.
WAIT_MS = 15_000

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # the dev dependencies were not installed: the tests say so
    sync_playwright = None  # type: ignore[assignment]


def require_chromium() -> None:
    """Skip without chromium or Playwright, except in CI (``CI=true``): there, a failure."""
    if CHROMIUM is not None and sync_playwright is not None:
        return
    why = (
        "chromium (Debian package chromium) is not installed; .ci/run installs it"
        if CHROMIUM is None
        else "playwright (a dev dependency, pip install -e '.[dev]') is not installed"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(why)
    pytest.skip(why)


def artefacts() -> Path:
    """Where screenshots go: ``$DIALTONE_ARTEFACTS``, else ``build/artefacts/console/``
    (ignored by git: artefacts of a run, never committed)."""
    configured = os.environ.get("DIALTONE_ARTEFACTS")
    default = Path(__file__).parents[2] / "build" / "artefacts" / "console"
    folder = Path(configured) if configured else default
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Page, name: str) -> Path:
    """Save the page as it looks (the viewport's 1280×800) as ``<name>.png``; its path."""
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    path = artefacts() / f"{safe}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless chromium, launched once for the module's tests."""
    require_chromium()
    assert sync_playwright is not None
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def new_context(browser: Browser) -> BrowserContext:
    """A fresh context (cookies, storage) at the screenshots' size, in English."""
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="en-GB",
        accept_downloads=True,
    )
    context.set_default_timeout(WAIT_MS)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A context of its own for one test."""
    made = new_context(browser)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the test's context."""
    return context.new_page()
