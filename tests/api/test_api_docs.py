"""``/docs`` and ``/redoc`` work offline (issue 13, item 16): every asset the pages load
is served by the API itself, from a package that ships them, and fetched here with the
network cut off."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from fastapi.testclient import TestClient

EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
# Where a page names what it loads: tags' src/href, Swagger UI's ``url:``, ReDoc's
# ``spec-url``.
_ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outside connection can be made during the test."""

    def refuse(*_: Any, **__: Any) -> None:
        raise OSError("the network is cut off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize(("page", "needs"), [("/docs", {".js", ".css"}), ("/redoc", {".js"})])
def test_the_docs_pages_load_their_assets_from_the_api(
    client: TestClient, page: str, needs: set[str]
) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "http://" not in html.text
    assert "https://" not in html.text  # no CDN, no web fonts
    urls = [a or b for a, b in _ASSET.findall(html.text)]
    assert "/openapi.json" in urls
    assets = [u for u in urls if u != "/openapi.json"]
    assert {ext for ext in EXPECTED_TYPES if any(u.endswith(ext) for u in assets)} >= needs
    for url in assets:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        response = client.get(url)
        assert response.status_code == 200, url
        kind = next(t for ext, t in EXPECTED_TYPES.items() if url.endswith(ext))
        assert kind in response.headers["content-type"], (url, response.headers)
        assert len(response.content) > 1000, url
    assert client.get("/openapi.json").json()["info"]["title"] == "dialtone"
