"""The shared state in Redis (``redis_url`` set): several workers, one truth for what
may be lost. Key names, TTLs and the reasons: docs/scale-out/redis.md.

Every Redis call goes through :class:`RedisLink`: at most ``redis_timeout_ms``, then the
worker is *degraded*: it logs one warning, answers from its own state (local failure
counters, its own calls only, the look-up cache's TTL, the loops' polling), makes no
further Redis call on a request's path, and tries Redis again every
``redis_retry_seconds`` in the background; when it answers, one line says so and what was
missed is made good (its live calls pushed again, its look-up cache cleared, its loops
woken).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from dialtone.settings import Settings
from dialtone.sip.auth_limiter import FailureLimiter

from . import SharedState
from .errors import SharedStateError
from .in_process import LocalFailures

log = logging.getLogger("dialtone.shared")
T = TypeVar("T")

_FAILURES = (RedisError, OSError, TimeoutError, asyncio.TimeoutError)


class _Down:
    """What :meth:`RedisLink.run` returns when Redis did not answer."""


DOWN = _Down()


def safe_url(url: str) -> str:
    """``url`` without its password (for logs and the start's error line)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisLink:
    """The connection, its ``degraded`` state and the reconnection in the background."""

    def __init__(
        self, client: Redis, *, url: str, timeout: float, retry: float, prefix: str
    ) -> None:
        self.client = client
        self.url = safe_url(url)
        self.timeout = timeout
        self.retry = retry
        self.prefix = prefix
        self.degraded = False
        self.degradations = 0  # how many times it went down (tests, metrics)
        self.on_recover: list[Callable[[], None]] = []
        self._recovered = asyncio.Event()
        self._recovered.set()
        self._reconnect: asyncio.Task[None] | None = None
        self._closed = False

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def run(self, op: Callable[[Redis], Awaitable[T]]) -> T | _Down:
        """``op`` within the timeout; DOWN (and degraded) when Redis failed, at once when
        it is degraded already: no request waits on a Redis known to be down."""
        if self.degraded or self._closed:
            return DOWN
        try:
            return await asyncio.wait_for(op(self.client), self.timeout)
        except _FAILURES as exc:
            self.degrade(exc)
            return DOWN

    def degrade(self, exc: BaseException) -> None:
        """Redis failed: one warning, then retry in the background."""
        if self.degraded or self._closed:
            return
        self.degraded = True
        self.degradations += 1
        self._recovered.clear()
        log.warning(
            "shared state degraded: Redis %s unreachable (%s); this worker runs on its "
            "own counters, calls and cache until it answers",
            self.url,
            _why(exc),
        )
        self._reconnect = asyncio.get_running_loop().create_task(self._retry())

    async def wait_recovered(self) -> None:
        await self._recovered.wait()

    async def _retry(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.retry)
            try:
                await asyncio.wait_for(self.client.ping(), self.timeout * 5)
            except _FAILURES:
                continue
            self.degraded = False
            log.warning("shared state recovered: Redis %s answers again", self.url)
            for callback in list(self.on_recover):
                try:
                    callback()
                except Exception:
                    log.exception("after Redis recovered")
            self._recovered.set()
            return

    async def close(self) -> None:
        self._closed = True
        self._recovered.set()
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        with contextlib.suppress(*_FAILURES):
            await self.client.aclose()


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def username_hash(username: str) -> str:
    """A username as the failure counters keep it: a short hash, the same on every
    worker (Python's ``hash`` is salted per process)."""
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# Failures of a key: a sorted set (score: when, member: "<username hash>:<random>") and
# its block (a string: until when, wall-clock seconds). Times are the caller's ``now`` so
# that the semantics are exactly those of the pure limiter; the keys expire by themselves
# once they no longer matter (the pure limiter's lazy expiry).
_FAILURE = """
local now, window, allowed, block = tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), tonumber(ARGV[4])
local untl = tonumber(redis.call('GET', KEYS[2]) or '')
if untl then
  if now < untl then return 0 end
  redis.call('DEL', KEYS[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[5])
if redis.call('ZCARD', KEYS[1]) > allowed then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], string.format('%.6f', now + block),
             'PX', math.ceil(block * 1000) + 1000)
  return 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return 0
"""

_SUCCESS = """
local mine = ARGV[1] .. ':'
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, #mine) == mine then redis.call('ZREM', KEYS[1], member) end
end
return 0
"""

_BLOCKED = """
local untl = tonumber(redis.call('GET', KEYS[1]) or '')
if untl and tonumber(ARGV[1]) < untl then return 1 end
return 0
"""


class RedisFailures:
    """A ``FailureCounter`` in Redis, one script per call (atomic: two workers counting
    the same source at once count both failures). Every failure and success is also
    counted locally, so a degraded worker keeps what it saw itself."""

    def __init__(
        self,
        link: RedisLink,
        scope: str,
        *,
        allowed: int,
        window: float,
        block: float,
        scripts: dict[str, Any],
    ) -> None:
        self.link = link
        self.scope = scope
        self.allowed = allowed
        self.window = window
        self.block = block
        self.local = LocalFailures(FailureLimiter(allowed=allowed, window=window, block=block))
        self._scripts = scripts

    def _keys(self, key: str) -> tuple[str, str]:
        return (
            self.link.key("auth", self.scope, "failures", key),
            self.link.key("auth", self.scope, "block", key),
        )

    async def blocked(self, key: str, now: float) -> bool:
        got = await self.link.run(
            lambda r: self._scripts["blocked"](keys=[self._keys(key)[1]], args=[now], client=r)
        )
        if isinstance(got, _Down):
            return self.local.blocked_now(key, now)
        return bool(got)

    async def record_failure(self, key: str, now: float, *, username: str = "") -> bool:
        local = self.local.failure_now(key, now, username=username)
        member = f"{username_hash(username)}:{secrets.token_hex(6)}"
        args = [now, self.window, self.allowed, self.block, member]
        got = await self.link.run(
            lambda r: self._scripts["failure"](keys=list(self._keys(key)), args=args, client=r)
        )
        if isinstance(got, _Down):
            return local
        return bool(got)

    async def record_success(self, key: str, now: float, *, username: str = "") -> None:
        self.local.success_now(key, now, username=username)
        await self.link.run(
            lambda r: self._scripts["success"](
                keys=[self._keys(key)[0]], args=[username_hash(username)], client=r
            )
        )


# Live calls: per worker a hash user id -> that worker's live calls of the user, which
# expires three heartbeats after its last refresh (a dead worker's calls are forgotten on
# their own), and the set of workers. A count asks every other worker's hash.
_PUSH_SOME = """
for i = 3, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > 0 then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  else redis.call('HDEL', KEYS[1], ARGV[i]) end
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
"""

_COUNT = """
local me, prefix = ARGV[1], ARGV[2]
local totals = {}
for i = 3, #ARGV do totals[i - 2] = 0 end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if worker ~= me then
    local live = prefix .. worker
    if redis.call('EXISTS', live) == 0 then
      redis.call('SREM', KEYS[1], worker)
    else
      for i = 3, #ARGV do
        totals[i - 2] = totals[i - 2] + tonumber(redis.call('HGET', live, ARGV[i]) or '0')
      end
    end
  end
end
return totals
"""


class RedisLiveCalls:
    """``LiveCalls`` through Redis (see the scripts above). Changes are pushed on the
    loop's next turn (many in one script); the whole of this worker's calls every
    heartbeat, and at once when Redis comes back."""

    def __init__(
        self,
        link: RedisLink,
        worker_id: str,
        *,
        heartbeat: float,
        scripts: dict[str, Any],
    ) -> None:
        self.link = link
        self.worker_id = worker_id
        self.heartbeat = heartbeat
        self._scripts = scripts
        self._count: Callable[[str], int] = lambda _: 0
        self._snapshot: Callable[[], dict[str, int]] = dict
        self._dirty: set[str] = set()
        self._flush: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()
        self.workers_key = link.key("workers")
        self.live_prefix = link.key("live", "")
        link.on_recover.append(self.push_all_soon)

    @property
    def ttl_ms(self) -> int:
        return int(self.heartbeat * 3 * 1000)

    def attach(self, count: Callable[[str], int], snapshot: Callable[[], dict[str, int]]) -> None:
        self._count = count
        self._snapshot = snapshot
        if self._beat is None:
            self._beat = self.loop.create_task(self._heartbeats())

    def changed(self, user_ids: Iterable[str]) -> None:
        self._dirty.update(user_ids)
        if self._flush is None or self._flush.done():
            self._flush = self.loop.create_task(self._push_dirty())

    async def _push_dirty(self) -> None:
        await asyncio.sleep(0)  # the rest of this turn's changes come with it
        if not self._dirty:
            return
        users, self._dirty = self._dirty, set()
        if self.link.degraded:
            return  # pushed whole when Redis comes back
        args: list[object] = [self.worker_id, self.ttl_ms]
        for user in users:
            args += [user, self._count(user)]
        await self.link.run(
            lambda r: self._scripts["push_some"](
                keys=[self.live_prefix + self.worker_id, self.workers_key], args=args, client=r
            )
        )

    async def push_all(self) -> None:
        """This worker's live calls, all of them (the heartbeat)."""
        counts = self._snapshot()
        args: list[object] = [self.worker_id, self.ttl_ms]
        for user, count in counts.items():
            if count > 0:
                args += [user, count]
        key = self.live_prefix + self.worker_id

        async def push(r: Redis) -> object:
            async with r.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if len(args) > 2:
                    pipe.hset(key, mapping=dict(zip(args[2::2], args[3::2], strict=True)))  # type: ignore[arg-type]
                pipe.sadd(self.workers_key, self.worker_id)
                pipe.pexpire(key, self.ttl_ms)
                return await pipe.execute()

        await self.link.run(push)

    def push_all_soon(self) -> None:
        self.loop.create_task(self.push_all())

    async def _heartbeats(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.push_all()
            await asyncio.sleep(self.heartbeat)

    async def elsewhere(self, user_ids: Sequence[str]) -> list[int]:
        if not user_ids:
            return []
        args = [self.worker_id, self.live_prefix, *user_ids]
        got = await self.link.run(
            lambda r: self._scripts["count"](keys=[self.workers_key], args=args, client=r)
        )
        if isinstance(got, _Down):
            return [0] * len(user_ids)  # degraded: this worker's own calls only
        return [int(n) for n in got]

    def elsewhere_blocking(self, user_id: str) -> int:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop or self.loop.is_closed():
            return 0  # never block the loop; the async path is the engine's
        future = asyncio.run_coroutine_threadsafe(self.elsewhere([user_id]), self.loop)
        try:
            return future.result(self.link.timeout + 0.5)[0]
        except Exception:
            future.cancel()
            return 0

    async def close(self) -> None:
        for task in (self._beat, self._flush):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        # This worker's calls are gone with it: forget them now rather than at expiry.
        key = self.live_prefix + self.worker_id

        async def forget(r: Redis) -> object:
            await r.srem(self.workers_key, self.worker_id)
            return await r.delete(key)

        await self.link.run(forget)


class RedisBus:
    """Topics over Redis pub/sub (channel = prefix + topic, payload = the publishing
    worker): subscribers of this worker are called at once, the others' when the message
    reaches them; a worker ignores its own. Subscribed again after a failure, and every
    subscriber called then: what was published meanwhile is not known."""

    def __init__(self, link: RedisLink, worker_id: str) -> None:
        self.link = link
        self.worker_id = worker_id
        self.loop = asyncio.get_running_loop()
        self.subscribers: dict[str, list[Callable[[], None]]] = {}
        self.received = 0
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    def subscribe(self, topic: str, callback: Callable[[], None]) -> None:
        fresh = topic not in self.subscribers
        self.subscribers.setdefault(topic, []).append(callback)
        if fresh and self._listener is not None:
            # Resubscribe with the new channel (rare: subscriptions are made at start).
            self._listener.cancel()
            self._listener = None
        if self._listener is None:
            self._subscribed.clear()
            self._listener = self.loop.create_task(self._listen())

    async def wait_subscribed(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._subscribed.wait(), timeout)

    def publish(self, topic: str) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._publish, topic)

    def _publish(self, topic: str) -> None:
        self.deliver(topic)
        if self.link.degraded:
            return
        channel = self.link.prefix + topic
        task = self.loop.create_task(self.link.run(lambda r: r.publish(channel, self.worker_id)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def deliver(self, topic: str) -> None:
        for callback in list(self.subscribers.get(topic, ())):
            try:
                callback()
            except Exception:
                log.exception("subscriber of %s failed", topic)

    def deliver_all(self) -> None:
        for topic in list(self.subscribers):
            self.deliver(topic)

    async def _listen(self) -> None:
        prefix = self.link.prefix
        first = True
        while True:
            if self.link.degraded:
                await self.link.wait_recovered()
            pubsub = self.link.client.pubsub()
            try:
                await asyncio.wait_for(
                    pubsub.subscribe(*(prefix + topic for topic in self.subscribers)),
                    self.link.timeout * 10,
                )
                if not first:
                    self.deliver_all()  # what was published while we were away
                first = False
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    if _text(message.get("data")) == self.worker_id:
                        continue
                    channel = _text(message.get("channel"))
                    if channel.startswith(prefix):
                        self.received += 1
                        self.deliver(channel[len(prefix) :])
            except asyncio.CancelledError:
                with contextlib.suppress(*_FAILURES):
                    await pubsub.aclose()
                raise
            except _FAILURES as exc:
                self.link.degrade(exc)
                with contextlib.suppress(*_FAILURES):
                    await pubsub.aclose()
                await asyncio.sleep(self.link.retry)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        for task in list(self._tasks):
            task.cancel()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def client_for(settings: Settings, url: str) -> Redis:
    """A client whose every call is bounded: no retry of its own (the link decides), the
    timeout of the settings on connecting and on each reply."""
    timeout = settings.redis_timeout_ms / 1000
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=settings.redis_connect_timeout_ms / 1000,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


async def open_redis(settings: Settings, worker_id: str, *, nonce_secret: bytes) -> SharedState:
    """Reach Redis now (or :class:`SharedStateError`) and build the shared state on it."""
    url = settings.redis_url or ""
    client = client_for(settings, url)
    started = time.monotonic()
    try:
        await asyncio.wait_for(client.ping(), settings.redis_connect_timeout_ms / 1000)
    except (*_FAILURES, ValueError) as exc:
        with contextlib.suppress(Exception):
            await client.aclose()
        raise SharedStateError(
            f"redis {safe_url(url)}: cannot reach it ({_why(exc)}): start redis-server, "
            "or check redis_url (DIALTONE_REDIS_URL); unset it to run one worker in process"
        ) from None
    log.info(
        "shared state: Redis %s (worker %s, %.0f ms to answer)",
        safe_url(url),
        worker_id,
        (time.monotonic() - started) * 1000,
    )
    link = RedisLink(
        client,
        url=url,
        timeout=settings.redis_timeout_ms / 1000,
        retry=settings.redis_retry_seconds,
        prefix=settings.redis_key_prefix,
    )
    scripts = {
        "failure": client.register_script(_FAILURE),
        "success": client.register_script(_SUCCESS),
        "blocked": client.register_script(_BLOCKED),
        "push_some": client.register_script(_PUSH_SOME),
        "count": client.register_script(_COUNT),
    }
    live = RedisLiveCalls(
        link, worker_id, heartbeat=settings.redis_heartbeat_seconds, scripts=scripts
    )
    bus = RedisBus(link, worker_id)
    # After an outage: invalidations and wake-ups may have been missed.
    link.on_recover.append(bus.deliver_all)

    def failures(scope: str, allowed: int, window: float, block: float) -> RedisFailures:
        return RedisFailures(
            link, scope, allowed=allowed, window=window, block=block, scripts=scripts
        )

    return SharedState(
        backend="redis",
        worker_id=worker_id,
        bus=bus,
        live=live,
        failure_counter=failures,
        nonce_secret=nonce_secret,
        closers=[link.close, bus.close, live.close],
        degraded_flag=lambda: link.degraded,
    )
