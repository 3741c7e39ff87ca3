"""The console's sign-in limits on the shared state (TERMS D2, issue 19): failures on one
worker's console block the email on the other's; called from the handlers' threads."""

from __future__ import annotations

import asyncio

import pytest

from dialtone.dashboard.pages.sign_in import SignInLimits
from dialtone.runtime.shared import blocking_failures, open_shared
from tests.runtime.shared.conftest import BACKENDS, KEY, settings_for


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_blocked_email_is_blocked_on_every_worker(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis").url if backend == "redis" else None
    settings = settings_for(url, console_sign_in_failures_allowed=2)

    async def run() -> tuple[list[bool], bool, bool, bool]:
        one = await open_shared(settings, worker_id="w1", platform_key=KEY)
        two = await open_shared(settings, worker_id="w2", platform_key=KEY)
        try:
            first = SignInLimits(settings, blocking_failures(one, 1.0))
            second = SignInLimits(settings, blocking_failures(two, 1.0))

            def on_threads() -> tuple[list[bool], bool, bool, bool]:
                failed = [first.failed("a@example.com", "198.51.100.1") for _ in range(3)]
                return (
                    failed,
                    first.blocked("a@example.com", "198.51.100.9"),
                    second.blocked("a@example.com", "198.51.100.9"),
                    second.blocked("b@example.com", "198.51.100.9"),
                )

            return await asyncio.to_thread(on_threads)
        finally:
            await one.aclose()
            await two.aclose()

    failed, here, there, other = asyncio.run(run())
    assert failed == [False, False, True]  # allowed 2: the third blocks
    assert here
    assert there is (backend == "redis")  # in process, each worker counts its own
    assert not other
