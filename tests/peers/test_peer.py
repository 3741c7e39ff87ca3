"""A missing outside peer skips its tests, except under CI, where it fails them."""

from __future__ import annotations

import pytest

from .peer import require_peer


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_a_missing_peer_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_peer(False, "thing is not installed")


@pytest.mark.parametrize("ci", ["true", "TRUE", "1", "yes"])
def test_a_missing_peer_fails_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        require_peer(False, "thing is not installed")


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_present_peer_runs(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    require_peer(True, "never said")
