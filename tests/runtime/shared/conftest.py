"""One redis-server for the module's Redis cases (FLUSHALL between tests), and the
shared state of a worker on either implementation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dialtone.settings import Settings
from tests.programs.redis import RedisServer, redis_server

KEY = b"k" * 32  # the platform key the nonce secret is derived from


@pytest.fixture(scope="module")
def redis_module() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def redis(redis_module: RedisServer) -> RedisServer:
    if redis_module.process is None or redis_module.process.poll() is not None:
        redis_module.start()  # a test killed it
    redis_module.flush()
    return redis_module


def settings_for(url: str | None, **more: object) -> Settings:
    return Settings(
        redis_url=url,
        redis_timeout_ms=200,
        redis_retry_seconds=0.1,
        redis_heartbeat_seconds=0.1,
        **more,  # type: ignore[arg-type]
    )


# The implementations every table runs against; Redis ones start a server (interop).
BACKENDS = [
    pytest.param("in_process", id="in_process"),
    pytest.param("redis", id="redis", marks=pytest.mark.interop),
]
