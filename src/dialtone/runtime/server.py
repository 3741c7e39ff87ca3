"""``dialtone serve``: SIP over UDP and the HTTP API in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.config import LOGGING_CONFIG

from dialtone import __version__
from dialtone.outside.speech_to_text import HttpTranscriber, Transcriber
from dialtone.policy import emergency
from dialtone.rtp import ng
from dialtone.services.telephony import users as user_service
from dialtone.settings import Settings
from dialtone.sip.auth_limiter import FailureLimiter
from dialtone.sip.endpoint import EndpointPolicy, SipEndpoint
from dialtone.sip.message import Request
from dialtone.sip.overload import OverloadController
from dialtone.sip.registrar import BindingTable, RegistrarSettings
from dialtone.speech import engines as speech_engines
from dialtone.store import sealed
from dialtone.store.db import transaction

from .answering import CallConfig, CallHandler
from .audit_writer import AuditWriter
from .auth import Authenticator, SipUser
from .b2bua import Bridge, BridgeConfig
from .engine import CallEngine
from .engine_context import EngineConfig, sip_user
from .heap import tune_collector
from .media import RtpPortPool
from .messaging import LeaderMessaging, MessagingRuntime
from .metrics import Metrics, Sources
from .ng_client import NgUnavailable, parse_address
from .programmable import start_programmable
from .randomness import RANDOM
from .registrar import Registrar
from .rtpengine import RtpengineConfig, RtpengineMedia
from .sealing import Owners, everyone, recover
from .shared import LOOKUPS, SharedState, blocking_failures, default_worker_id, open_shared
from .shared.writes import watch_writes
from .startup import MediaEngineUnreachable, bind_failure, listen_http
from .tls import client_context, ensure_certificate, server_context
from .transcription import VoicemailTranscription
from .transports import OverloadGate, SipChannel, StreamChannel, UdpChannel, udp_socket
from .trunk_registration import RegistrationSettings, TrunkRegistrations
from .webhook_sender import WebhookSender
from .workers import (
    Adoption,
    CallbackDuty,
    Duty,
    LeaseKeeper,
    Term,
    adopt_dead_at_start,
    claim_identity,
)

log = logging.getLogger("dialtone")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns Ctrl-C for SIP and HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    settings: Settings,
    sessions: sessionmaker[Session],
    asgi_app: Any,
    *,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set); end live calls cleanly on the way out."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    # First: a Redis that cannot be reached stops the start before anything is bound.
    shared = await open_shared(settings)
    try:
        http_socket = listen_http(settings)
    except BaseException:
        await shared.aclose()
        raise
    worker_id = settings.worker_id
    try:
        # Before the recordings are recovered: a worker's own are what it may touch, and
        # those of workers found dead (held meanwhile, so none restarts under us).
        await claim_identity(sessions, worker_id, lease=settings.worker_lease_seconds)
        dead = await loop.run_in_executor(
            None,
            functools.partial(
                adopt_dead_at_start, sessions, worker_id, lease=settings.worker_lease_seconds
            ),
        )
        if dead.workers:
            log.warning("worker(s) found dead at start: %s", ", ".join(sorted(dead.workers)))
        try:
            sip = await start_sip(
                settings,
                sessions,
                shared=shared,
                leader_duties=False,
                owners=lambda owner: owner is None or owner in dead.workers | {worker_id},
                dead_workers=dead.workers,
            )
        finally:
            await loop.run_in_executor(None, dead.release)
    except BaseException:
        http_socket.close()
        await shared.aclose()
        raise
    channels, handler, engine = sip.channels, sip.handler, sip.engine
    messaging = LeaderMessaging(settings, sessions, shared=shared)
    keeper = LeaseKeeper(
        sessions=sessions,
        worker_id=worker_id,
        lease=settings.worker_lease_seconds,
        renew=settings.worker_lease_renew_seconds,
        duties=leader_duties(settings, sessions, sip, messaging),
        dead=dead.workers,
    )
    try:
        await keeper.begin()
    except BaseException:
        http_socket.close()
        await keeper.close()
        await sip.aclose()
        await shared.aclose()
        raise
    programmable = await start_programmable(settings, sessions, sip)
    metrics = observe(settings, sessions, sip, messaging, shared)
    with contextlib.suppress(AttributeError):
        asgi_app.state.call_placer = engine  # POST /v1/calls (click-to-call)
        asgi_app.state.messaging = messaging  # POST /v1/messages wakes the dispatcher
        asgi_app.state.twilio_calls = programmable.calls  # POST …/Calls.json (TwiML)
        asgi_app.state.shared = shared  # /healthz shows whether it is degraded
        # The console's sign-in limits count with every worker's (TERMS D2).
        asgi_app.state.failure_counters = blocking_failures(
            shared, settings.redis_timeout_ms / 1000 + 0.5
        )
        asgi_app.state.metrics = metrics  # GET /metrics (None: metrics_enabled is off)

    http = _Server(
        uvicorn.Config(
            asgi_app,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            access_log=False,
            lifespan="off",
            # JSON logs: uvicorn's lines go through the root logger's handler too, not
            # the text handlers uvicorn would set up for itself.
            log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
        )
    )
    http_task = loop.create_task(http.serve(sockets=[http_socket]))
    while not http.started and not http_task.done():
        await asyncio.sleep(0.01)
    if http_task.done():
        await keeper.close()
        await sip.aclose()
        await shared.aclose()
        await http_task  # re-raises the bind error
        raise SystemExit("HTTP server stopped at start")
    listening = " ".join(
        f"{name}:{settings.sip_host}:{channel.endpoint.local_port}"
        for name, channel in channels.items()
    )
    role = "leader" if keeper.leading else "follower"
    log.info("worker %s started as %s", worker_id, role)
    announce(
        f"dialtone {settings.data_dir.resolve()}: worker {worker_id} ({role})  SIP {listening}"
        f"  HTTP http://{settings.http_host}:{settings.http_port}  {_smpp(settings, messaging)}"
        "  (web console /console/, API docs /docs, Ctrl-C stops)"
    )
    log.debug("%d start-up objects frozen out of the garbage collector", tune_collector())
    stop_task = loop.create_task(stop.wait())
    await asyncio.wait({http_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    log.info("stopping: ending %d live call(s)", len(handler.calls) + len(engine.bridge.calls))
    await sip.end_calls()
    http.should_exit = True
    with contextlib.suppress(Exception):
        await http_task
    stop_task.cancel()
    await keeper.close()  # the duties stopped, the lease given to another worker at once
    await programmable.aclose()
    await sip.aclose()
    await shared.aclose()
    log.info("stopped")


def observe(
    settings: Settings,
    sessions: sessionmaker[Session],
    sip: SipRuntime,
    messaging: LeaderMessaging | None = None,
    shared: SharedState | None = None,
) -> Metrics | None:
    """This worker's metrics over what the runtime counts (None when ``metrics_enabled``
    is off: nothing is hooked, nothing costs)."""
    if not settings.metrics_enabled:
        return None
    worker_id = shared.worker_id if shared is not None else default_worker_id(settings)
    metrics = Metrics(sessions, worker_id=worker_id)
    metrics.attach(
        Sources(
            channels=sip.channels,
            driver=sip.handler.driver,
            registrar=sip.engine.registrar,
            gate=sip.gate,
            executors={"db": sip.db, "reads": sip.reads},
            commits={"cdr": sip.handler.cdrs, "audit": sip.engine.audit},
            # The webhook sender runs on the leader only, while it leads.
            webhooks=(lambda: _webhooks(messaging)) if messaging is not None else None,
            shared=shared,
        )
    )
    return metrics


def _webhooks(messaging: LeaderMessaging) -> WebhookSender | None:
    runtime = messaging.runtime
    return runtime.webhooks if runtime is not None else None


@dataclass
class SipRuntime:
    """The SIP side of a running platform: channels, the engine and what it runs on."""

    channels: dict[str, SipChannel]
    handler: CallHandler
    engine: CallEngine
    rtp_ports: RtpPortPool
    db: ThreadPoolExecutor
    reads: ThreadPoolExecutor
    transcription: VoicemailTranscription | None = None
    registrations: TrunkRegistrations | None = None
    gate: OverloadGate | None = None
    shared: SharedState | None = None
    # Removes the look-up cache's invalidation hook from the session factory.
    unwatch: Callable[[], None] | None = None
    media: RtpengineMedia | None = None

    async def end_calls(self) -> None:
        """End live calls with BYE, their CDRs written, and let the BYEs leave."""
        if self.registrations is not None:
            await self.registrations.close()
        await self.engine.bridge.shutdown()
        await self.handler.shutdown()
        await self.engine.audit.close()
        if self.transcription is not None:
            await self.transcription.close()
        if self.media is not None:
            # The ended calls' deletes and recordings, then the NG socket.
            await self.media.aclose()
        await asyncio.sleep(0.05)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Close the channels, let the work their closed connections start finish (the
        bindings over them dropped, on the DB thread), and only then stop the executors:
        an executor stopped first refuses that work ("cannot schedule new futures after
        shutdown") and leaves the dead bindings in the store. The trunk registrations stop
        first (a second time is harmless): ``serve`` closes without :meth:`end_calls` when
        the HTTP server stops at start, and their next database read would reach the
        stopped executor."""
        if self.registrations is not None:
            await self.registrations.close()
        if self.gate is not None:
            self.gate.close()
        for channel in self.channels.values():
            channel.close()
        for name, channel in self.channels.items():
            if not await channel.wait_closed(timeout):
                log.warning("SIP %s: connections still open after %.0f s", name, timeout)
        await self.engine.background.wait(timeout)
        self.engine.background.cancel()
        if self.media is not None:
            await self.media.aclose(timeout)
        self.close()

    def close(self) -> None:
        """Close the channels and stop the executors at once (see :meth:`aclose`)."""
        if self.unwatch is not None:
            self.unwatch()
            self.unwatch = None
        if self.gate is not None:
            self.gate.close()
        for channel in self.channels.values():
            channel.close()
        self.db.shutdown(wait=True)
        self.reads.shutdown(wait=True)


def _tls(settings: Settings, messaging: MessagingRuntime) -> str:
    """The SMPP TLS address for the start-up line, when there is one."""
    port = messaging.server.tls_port
    return "" if port is None else f" tls:{settings.smpp_host}:{port}"


def _smpp(settings: Settings, leader: LeaderMessaging) -> str:
    """SMPP in the start-up line: where it listens, or that the leader runs it."""
    messaging = leader.runtime
    if messaging is None:
        return "SMPP on the leader"
    return (
        f"SMPP tcp:{settings.smpp_host}:{messaging.server.port}{_tls(settings, messaging)}"
        f" (carriers: {messaging.carriers.enabled_count})"
    )


def leader_duties(
    settings: Settings,
    sessions: sessionmaker[Session],
    sip: SipRuntime,
    messaging: LeaderMessaging,
) -> list[Duty]:
    """What only the leader runs (issue 19, docs/scale-out/workers.md): SMS (carriers,
    dispatcher, SMPP server, webhooks, email), the trunks' REGISTERs, the voicemail
    transcription sweep, and the adoption of dead workers' recordings."""
    duties: list[Duty] = [messaging]
    registrations = sip.registrations
    if registrations is not None:

        async def register(term: Term) -> None:
            registrations.start()

        duties.append(CallbackDuty("trunk registrations", register, registrations.close))
    transcription = sip.transcription
    if transcription is not None:

        async def sweep(term: Term) -> None:
            transcription.start_sweep(datetime.now(UTC))

        async def nothing() -> None:
            pass  # a sweep under way finishes; a transcript twice is harmless

        duties.append(CallbackDuty("transcription sweep", sweep, nothing))
    duties.append(
        Adoption(
            sessions=sessions,
            directories=(settings.recordings_dir, settings.voicemail_dir),
            key=sip.handler.config.recording_key,
            worker_id=settings.worker_id,
            lease=settings.worker_lease_seconds,
            every=settings.worker_lease_renew_seconds,
        )
    )
    return duties


def recording_key(settings: Settings) -> bytes | None:
    """The key recordings are sealed with as they are written (TERMS D5), None when the
    operator turned sealing off. Read (or generated) at start: a bad key stops the start,
    not a call."""
    if not settings.seal_recordings:
        return None
    return sealed.key_for(settings.recording_key, settings.recording_key_path)


async def start_sip(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    shared: SharedState | None = None,
    leader_duties: bool = True,
    owners: Owners = everyone,
    dead_workers: frozenset[str] = frozenset(),
) -> SipRuntime:
    """Open the SIP channels and start the call engine on them, registrations restored.
    With ``shared`` (``serve`` always gives it), the authentication failures, the nonce
    secret and the users' live calls are the shared state's, and every change committed
    through ``sessions`` empties the look-up cache of every worker (issue 19).
    ``leader_duties``: start the trunk registrations and the transcription sweep here
    (one process); ``serve`` leaves them to the lease keeper (issue 19). ``owners``:
    whose recordings this start recovers; ``dead_workers``: whose TCP/TLS registrations
    it drops with its own."""
    loop = asyncio.get_running_loop()
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialtone-db")
    # SQLite in WAL mode reads alongside the writer: lookups need not queue behind CDRs.
    reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dialtone-read")
    key = recording_key(settings)
    # D5: what a crash left (recordings cut short, plain or empty files, calls without
    # their CDR) is put right before the first call.
    recovered = await loop.run_in_executor(
        db,
        functools.partial(
            recover, (settings.recordings_dir, settings.voicemail_dir), key, sessions, owners=owners
        ),
    )
    if recovered:
        log.warning(
            "recordings recovered after a crash: %d cut short kept, %d sealed, %d removed, "
            "%d interrupted call(s) recorded, %d unreadable",
            len(recovered.repaired),
            len(recovered.sealed),
            len(recovered.removed),
            len(recovered.cdrs),
            len(recovered.unreadable),
        )
    media = await media_engine(settings)
    try:
        channels = await open_channels(settings)
    except BaseException:
        if media is not None:
            media.client.close()
        raise
    rtp_ports = RtpPortPool(settings.rtp_port_min, settings.rtp_port_max)
    transcription = None
    transcriber: Transcriber | None = None
    if settings.voicemail_transcriber == "offline":
        # On this machine, with the Whisper model its package ships (issue 16).
        transcriber = speech_engines.voicemail_transcriber(settings.speech_options)
    elif settings.transcriber_url:
        transcriber = HttpTranscriber(
            settings.transcriber_url,
            model=settings.transcriber_model,
            api_key=settings.transcriber_api_key,
        )
    if transcriber is not None:
        transcription = VoicemailTranscription(
            transcriber,
            sessions=sessions,
            db=db,
            language=settings.transcriber_language,
            key=key,
        )
    handler = CallHandler(
        sessions=sessions,
        config=CallConfig(
            advertised_host=settings.advertised_host,
            rtp_host=settings.sip_host,
            recordings_dir=settings.recordings_dir,
            greetings_dir=settings.greetings_dir,
            codecs=settings.codecs,
            ring_seconds=settings.ring_seconds,
            max_call_seconds=settings.max_call_seconds,
            cdr_commit_window=settings.cdr_commit_window_ms / 1000,
            recording_key=key,
            worker_id=settings.worker_id,
        ),
        rtp_ports=rtp_ports,
        db=db,
        reads=reads,
        on_voicemail=transcription.submit if transcription is not None else None,
    )
    handler.driver.media_engine = media
    engine = build_engine(
        settings,
        sessions,
        channels,
        handler,
        rtp_ports,
        db=db,
        reads=reads,
        shared=shared,
        dead_workers=dead_workers,
    )
    unwatch = None
    if shared is not None:
        shared.bus.subscribe(LOOKUPS, engine.ctx.lookups.clear)
        bus = shared.bus
        unwatch = watch_writes(sessions, lambda: bus.publish(LOOKUPS))
    restored = await loop.run_in_executor(db, engine.registrar.restore)
    if restored:
        log.info("restored %d registration(s)", restored)
    if transcription is not None and leader_duties:
        transcription.start_sweep(datetime.now(UTC))
    # After the engine: it takes the answers to its REGISTERs off the engine's channels.
    registrations = TrunkRegistrations(
        channels=channels,
        sessions=sessions,
        db=db,
        key=settings.sealing_key(),
        settings=RegistrationSettings(
            retry_base=settings.trunk_register_retry_seconds,
            retry_max=settings.trunk_register_retry_max_seconds,
            scan_seconds=settings.trunk_register_scan_seconds,
        ),
    )
    if leader_duties:
        registrations.start()
    gate = None
    if settings.overload_control:
        gate = OverloadGate(
            OverloadController(settings.overload_limits, now=loop.time()),
            # Writes: each holds a BYE's answer or a refusal's. Reads hold only setups,
            # which have their window; a burst of them when the look-up cache expires
            # is no overload.
            jobs=lambda: _queued(db) + handler.cdrs.pending + engine.audit.pending,
            database=db,
            priority=emergency_dialled(settings.default_country),
        )
        gate.start(channels)
    return SipRuntime(
        channels,
        handler,
        engine,
        rtp_ports,
        db,
        reads,
        transcription,
        registrations,
        gate,
        shared=shared,
        unwatch=unwatch,
        media=media,
    )


async def media_engine(settings: Settings) -> RtpengineMedia | None:
    """rtpengine when the settings choose it, proven by a ping (issue 19); None for the
    built-in relay. Raises MediaEngineUnreachable (one line; ``serve`` exits 2)."""
    if settings.media_engine != "rtpengine":
        return None
    recordings = settings.rtpengine_recordings
    try:
        address = parse_address(settings.rtpengine_ng)
        config = RtpengineConfig(
            ng_address=address,
            recording_dir=recordings,
            schedule=ng.schedule(
                settings.rtpengine_retransmit_seconds, settings.rtpengine_timeout_seconds
            ),
        )
        media = await RtpengineMedia.connect(config)
    except (NgUnavailable, OSError, ValueError) as exc:
        raise MediaEngineUnreachable(
            f"media_engine is rtpengine but rtpengine at {settings.rtpengine_ng} does not "
            f"answer a ping ({exc}): start it (--listen-ng={settings.rtpengine_ng}) or set "
            "DIALTONE_MEDIA_ENGINE=python"
        ) from None
    log.info(
        "media engine: rtpengine at %s (recordings read from %s)",
        settings.rtpengine_ng,
        recordings,
    )
    return media


def _queued(executor: ThreadPoolExecutor) -> int:
    # The executor's own queue: jobs submitted and not started (CPython's attribute; the
    # executors are ours, made above).
    return executor._work_queue.qsize()


def emergency_dialled(country: str) -> Callable[[Request], bool]:
    """Whether an INVITE's Request-URI dials an emergency number (TERMS V7): such a call
    is never shed. Cheap for the calls that are not: a user part longer than six
    characters is not looked at, shorter ones are remembered."""

    @functools.lru_cache(maxsize=1024)
    def listed(user: str) -> bool:
        return emergency.is_emergency_number(user, country)

    def dialled(request: Request) -> bool:
        user = getattr(request.uri, "user", None)
        return user is not None and len(user) <= 6 and listed(user)

    return dialled


POLICY = EndpointPolicy(
    methods=frozenset(
        {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "REFER", "NOTIFY"}
    ),
    content_types=frozenset(
        {"application/sdp", "application/dtmf-relay", "application/dtmf", "message/sipfrag"}
    ),
    extensions=frozenset({"replaces", "norefersub"}),
    user_agent=f"dialtone/{__version__}",
)


def _endpoint(settings: Settings, port: int, transport: str) -> SipEndpoint:
    return SipEndpoint(
        local_host=settings.advertised_host,
        local_port=port,
        new_tag=lambda: RANDOM.token(6),
        new_branch=lambda: RANDOM.token(8),
        transport=transport,
        policy=POLICY,
    )


async def open_channels(settings: Settings) -> dict[str, SipChannel]:
    """SIP on UDP, and TCP and TLS when their ports are set (TERMS V1: 5060 udp/tcp, TLS
    on 443). TLS on a port this process may not bind is skipped with a warning."""
    loop = asyncio.get_running_loop()
    channels: dict[str, SipChannel] = {}
    udp = UdpChannel(_endpoint(settings, settings.sip_port, "UDP"))
    try:
        sock = udp_socket(settings.sip_host, settings.sip_port, settings.sip_udp_receive_buffer)
    except OSError as exc:
        raise _bind_failure(exc, settings, "udp", settings.sip_port, "SIP_PORT") from None
    transport, _ = await loop.create_datagram_endpoint(lambda: udp, sock=sock)
    udp.endpoint.local_port = transport.get_extra_info("sockname")[1]
    channels["udp"] = udp
    if settings.sip_tcp_port is not None:
        tcp = StreamChannel(_endpoint(settings, settings.sip_tcp_port, "TCP"))
        try:
            tcp.endpoint.local_port = await tcp.start(settings.sip_host, settings.sip_tcp_port)
        except OSError as exc:
            raise _bind_failure(
                exc, settings, "tcp", settings.sip_tcp_port, "SIP_TCP_PORT"
            ) from None
        channels["tcp"] = tcp
    if settings.sip_tls_port is not None:
        cert, key = ensure_certificate(
            settings.tls_cert_file,
            settings.tls_key_file,
            settings.tls_dir,
            settings.advertised_host,
        )
        tls = StreamChannel(
            _endpoint(settings, settings.sip_tls_port, "TLS"),
            server_ssl=server_context(cert, key),
            client_ssl=client_context(),
        )
        try:
            tls.endpoint.local_port = await tls.start(settings.sip_host, settings.sip_tls_port)
        except PermissionError:
            log.warning(
                "SIP TLS not listening: port %d needs privileges (set DIALTONE_SIP_TLS_PORT)",
                settings.sip_tls_port,
            )
        except OSError as exc:
            raise _bind_failure(
                exc, settings, "tls", settings.sip_tls_port, "SIP_TLS_PORT"
            ) from None
        else:
            channels["tls"] = tls
    return channels


def _bind_failure(
    exc: OSError, settings: Settings, transport: str, port: int, setting: str
) -> Exception:
    return bind_failure(
        exc,
        ("SIP", transport, settings.sip_host, port),
        port_setting=f"DIALTONE_{setting}",
        host_setting="DIALTONE_SIP_HOST",
    )


def build_engine(
    settings: Settings,
    sessions: sessionmaker[Session],
    channels: dict[str, SipChannel],
    handler: CallHandler,
    rtp_ports: RtpPortPool,
    *,
    db: ThreadPoolExecutor,
    reads: ThreadPoolExecutor,
    shared: SharedState | None = None,
    dead_workers: frozenset[str] = frozenset(),
) -> CallEngine:
    """Wire the registrar, authentication, the bridge and the answering machine (on the
    shared state's failure counters, nonce secret and live calls when given)."""
    loop = asyncio.get_running_loop()

    def find(username: str) -> SipUser | None:
        with transaction(sessions) as session:
            return sip_user(user_service.find_sip_user(session, username), session)

    async def lookup(username: str) -> SipUser | None:
        return await loop.run_in_executor(reads, find, username)

    allowed = settings.auth_failures_allowed
    window = settings.auth_failure_window_seconds
    block = settings.auth_block_seconds
    authenticator = Authenticator(
        realm=settings.sip_realm,
        nonce_lifetime=settings.nonce_lifetime_seconds,
        limiter=(
            FailureLimiter(allowed=allowed, window=window, block=block)
            if shared is None
            else shared.failures("sip", allowed=allowed, window=window, block=block)
        ),
        lookup=lookup,
        algorithms=settings.digest_algorithms,
        secret=shared.nonce_secret if shared is not None else None,
    )
    registrar = Registrar(
        BindingTable(
            RegistrarSettings(
                min_expires=settings.register_min_expires,
                max_expires=settings.register_max_expires,
            )
        ),
        sessions=sessions,
        db=db,
        worker_id=settings.worker_id,
        dead_workers=dead_workers,
        shared=bool(settings.edge_addresses),
    )
    bridge = Bridge(
        config=BridgeConfig(
            advertised_host=settings.advertised_host,
            rtp_host=settings.sip_host,
            codecs=settings.codecs,
            max_call_seconds=settings.max_call_seconds,
            recording_key=handler.config.recording_key,
        ),
        rtp_ports=rtp_ports,
        cdrs=handler.cdrs,
        driver=handler.driver,
    )
    return CallEngine(
        channels=channels,
        sessions=sessions,
        reads=reads,
        config=EngineConfig(
            advertised_host=settings.advertised_host,
            greetings_dir=settings.greetings_dir,
            recordings_dir=settings.recordings_dir,
            voicemail_dir=settings.voicemail_dir,
            no_answer_seconds=settings.no_answer_seconds,
            channels_per_user=settings.channels_per_user,
            lookup_cache_seconds=settings.lookup_cache_seconds,
            destinations=settings.destinations,
            default_country=settings.default_country,
            emergency_countries=settings.emergency_countries,
            sealing_key=settings.sealing_key(),
            edges=settings.edges,
        ),
        authenticator=authenticator,
        registrar=registrar,
        bridge=bridge,
        answering=handler,
        audit=AuditWriter(sessions, handler.cdrs.executor),
        live=shared.live if shared is not None else None,
    )
