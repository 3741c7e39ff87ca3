"""Each worker's Prometheus metrics (issue 19): what the runtime already counts, exported
at scrape time, in the text format the maintained client writes.

The hot paths keep plain ints where they already see the events (a relay side's packets
and sequence gaps, an endpoint's requests by method, the overload gate's refusals, the
webhook sender's attempts): an increment costs what any attribute update costs, and no
label is looked up or string formatted per packet or per request. A scrape reads them
(:meth:`Metrics.snapshot`, on the event loop: the values are the loop's, read in one
go, cheap), then counts the messages by state in the database and writes the text in a
thread of the default executor, never on the loop. Two things are observed as they
happen into the client's histograms, each a few times a second at most: a CDR's commit
latency and the event loop's lag.

No label carries personal data (TERMS D4): no phone number, name, email or address.
Labels are bounded sets (a call's outcome, its SIP status, a reason code of the
registry, a SIP method we know, a message state); account ids are not labels either,
being unbounded.

One :class:`Metrics` per process, on a registry of its own (not the client's global
one), so a test builds as many as it likes. The runtime never imports the API: ``serve``
sets the object on ``app.state.metrics`` and the API's ``/metrics`` calls
:meth:`Metrics.scrape`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.orm import Session, sessionmaker

from dialtone import __version__
from dialtone.policy.codes import REGISTRY
from dialtone.services.messaging.messages import STATES, count_by_state
from dialtone.sip.endpoint import KNOWN_METHODS
from dialtone.sip.message import Request, Response
from dialtone.store.db import transaction

from .call_driver import CallDriver, media_counts
from .group_commit import GroupCommit
from .registrar import Registrar
from .rtpengine import RtpengineRelay
from .shared import SharedState
from .transports import OverloadGate, SipChannel
from .webhook_sender import ATTEMPT_REASONS, WebhookSender

# The Prometheus text format 0.0.4, which every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds. A CDR is committed in a few ms when idle, up to the commit window (15 ms) and a
# batch's fsync under load; past a second the BYEs wait visibly.
CDR_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Seconds. Overload control sheds from 80 ms (overload_lag_low_ms) to 250 ms.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.08, 0.1, 0.25, 0.5, 1.0, 2.5)

# The outcomes of a call attempt (the final answer to a new INVITE).
OUTCOMES = ("answered", "challenged", "refused", "canceled", "failed")
NO_CODE = "none"
OTHER_CODE = "other"
_REASON_TEXT = re.compile(r'text="([^"]*)"')
# What a live call is, by the application it runs: the answering machine's greeting or
# voicemail, a bridge (ringing devices, groups, trunks: the B2BUA), or a programmable
# call (TwiML, the AI receptionist, an application plugged in for a number).
CALL_KINDS = ("answering", "bridge", "programmable")
_APP_KINDS = {
    "dialtone.call.apps.answering": "answering",
    "dialtone.call.apps.ringing": "bridge",
}


def call_kind(application: object) -> str:
    """The ``kind`` label of a call running ``application``."""
    return _APP_KINDS.get(type(application).__module__, "programmable")


WEBHOOK_FORMATS = ("dialtone", "twilio")


def reason_code(response: Response) -> str:
    """The reason code a response carries in its ``Reason`` header (RFC 3326 text, as
    every refusal of ours sends it), ``none`` without one, ``other`` for text that is not
    a code of the registry (a peer's, passed on): the label stays a bounded set."""
    for value in response.headers.values("Reason"):
        found = _REASON_TEXT.search(value)
        if found is not None:
            code = found.group(1)
            return code if code in REGISTRY else OTHER_CODE
    return NO_CODE


def outcome_of(status: int, code: str) -> str:
    """A call attempt's outcome from its final status and reason code: ``answered``
    (2xx), ``challenged`` (401/407: the caller is asked for credentials and normally
    tries again), ``canceled`` (487: the caller gave up), ``refused`` (a reason code of
    ours: the terms or the platform said no), ``failed`` (anything else: 404, 480, 486
    from a callee, 5xx)."""
    if 200 <= status < 300:
        return "answered"
    if status in (401, 407):
        return "challenged"
    if status == 487:
        return "canceled"
    if code not in (NO_CODE, OTHER_CODE):
        return "refused"
    return "failed"


class CallAttempts:
    """The final answers to new INVITEs, by (outcome, status, code): the endpoint's
    ``on_final`` hook, once per call attempt, whoever answered (the application, the UAS
    checks, the overload screen)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}

    def __call__(self, request: Request, response: Response) -> None:
        status = response.status
        code = reason_code(response) if status >= 300 else NO_CODE
        key = (outcome_of(status, code), str(status), code)
        self.counts[key] = self.counts.get(key, 0) + 1


@dataclass
class Sources:
    """What a running platform counts, read at scrape time."""

    channels: dict[str, SipChannel] = field(default_factory=dict)
    driver: CallDriver | None = None
    registrar: Registrar | None = None
    gate: OverloadGate | None = None
    # Executors by name ("db", "reads"): their queue depth.
    executors: dict[str, ThreadPoolExecutor] = field(default_factory=dict)
    # Group commits by what they write ("cdr", "audit"): records waiting for a commit.
    commits: dict[str, GroupCommit[Any]] = field(default_factory=dict)
    # The webhook sender, when this worker runs one now (the leader's duty).
    webhooks: Callable[[], WebhookSender | None] | None = None
    # The shared fast state (Redis or in process): whether this worker runs degraded.
    shared: SharedState | None = None


class _Families:
    """A registry-shaped holder of families made already (``generate_latest`` asks only
    for ``collect``)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


class Metrics:
    """One process's metrics: the client's registry (process metrics, two histograms),
    the call attempts counted by the endpoints' hook, and the :class:`Sources` read at
    each scrape. ``sessions``: the database the messages are counted in (None: not
    counted)."""

    def __init__(
        self,
        sessions: sessionmaker[Session] | None = None,
        *,
        worker_id: str | None = None,
        process: bool = True,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if process:
            # The client's own: CPU seconds, resident memory, open files, start time.
            ProcessCollector(registry=self.registry)
        self.cdr_commit = Histogram(
            "dialtone_cdr_commit_seconds",
            "From a call's record handed to the writer to its commit (its BYE's 200 waits for it).",
            buckets=CDR_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "dialtone_event_loop_lag_seconds",
            "How late the overload gate's 50 ms timer fired: the event loop's lag.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.calls = CallAttempts()
        self.sessions = sessions
        self.worker_id = worker_id
        self.sources = Sources()

    def attach(self, sources: Sources) -> None:
        """Read ``sources`` at each scrape and hook the events observed as they happen:
        every channel's final answers to INVITEs, the gate's lag, the CDRs' commits."""
        self.sources = sources
        for channel in sources.channels.values():
            channel.endpoint.on_final = self.calls
        if sources.gate is not None:
            sources.gate.on_lag = self.loop_lag.observe
        cdr = sources.commits.get("cdr")
        if cdr is not None:
            cdr.on_committed = self.cdr_commit.observe

    # -- a scrape ------------------------------------------------------------------------

    async def scrape(self) -> bytes:
        """The text of a scrape: the loop's values read here (on the loop), the rest in a
        thread of the default executor."""
        families = self.snapshot()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.render, families)

    def render(self, families: list[Metric]) -> bytes:
        """The text format of ``families``, the messages by state and the registry's
        metrics (in a thread: the database is read)."""
        families = [*families, *self._messages()]
        return generate_latest(self.registry) + generate_latest(_Families(families))

    def snapshot(self) -> list[Metric]:
        """Every value the loop keeps, as metric families (call on the loop)."""
        return [
            _info(self.worker_id),
            self._call_attempts(),
            *self._calls(),
            self._sip_requests(),
            *self._overload(),
            *self._queues(),
            *self._registrations(),
            *self._shared(),
            *self._rtpengine(),
            self._webhooks(),
        ]

    def _call_attempts(self) -> Metric:
        family = CounterMetricFamily(
            "dialtone_calls",
            "Call attempts (new INVITEs received) by their final answer: outcome, SIP "
            "status and reason code (policy/codes.py; none without one). rate() of it "
            "is calls per second.",
            labels=("outcome", "status", "code"),
        )
        for (outcome, status, code), count in sorted(self.calls.counts.items()):
            family.add_metric((outcome, status, code), count)
        return family

    def _calls(self) -> Iterator[Metric]:
        # One pass over the live calls: their kinds and states, and their media's
        # packets (added to the closed calls' totals).
        live = {(kind, state): 0 for kind in CALL_KINDS for state in ("ringing", "answered")}
        received = sent = lost = late = 0
        driver = self.sources.driver
        if driver is not None:
            totals = driver.media_totals
            received, sent, lost, late = totals.received, totals.sent, totals.lost, totals.late
            for driven in driver.calls.values():
                for port in (driven.relay, driven.session):
                    # rtpengine's calls are counted by rtpengine (_rtpengine).
                    if port is not None and not isinstance(port, RtpengineRelay):
                        r, s, lo, la = media_counts(port)
                        received, sent, lost, late = received + r, sent + s, lost + lo, late + la
                if not driven.ended:
                    call = driven.call
                    state = "ringing" if call.answered is None else "answered"
                    live[call_kind(call.application), state] += 1
        family = GaugeMetricFamily(
            "dialtone_live_calls",
            "Calls in progress on this worker by kind (answering: greeting or "
            "voicemail; bridge: ringing devices, groups, trunks; programmable: TwiML, "
            "agents, applications) and state (ringing, answered).",
            labels=("kind", "state"),
        )
        for (kind, state), count in live.items():
            family.add_metric((kind, state), count)
        yield family
        for name, value, text in (
            ("received", received, "RTP packets received on the calls' media ports."),
            ("sent", sent, "RTP packets sent (relayed, or played by us)."),
            (
                "lost",
                lost,
                "RTP sequence numbers skipped when a later packet came (lost or late).",
            ),
            ("late", late, "RTP packets that came after a later one (out of order)."),
        ):
            counter = CounterMetricFamily(f"dialtone_media_packets_{name}", text)
            counter.add_metric((), value)
            yield counter

    def _sip_requests(self) -> Metric:
        family = CounterMetricFamily(
            "dialtone_sip_requests",
            "SIP requests received, retransmissions included, by method (unknown "
            "methods: other) and transport.",
            labels=("method", "transport"),
        )
        known = [*sorted(KNOWN_METHODS), "other"]
        for name, channel in sorted(self.sources.channels.items()):
            counts = channel.endpoint.requests
            for method in known:
                family.add_metric((method, name), counts.get(method, 0))
        return family

    def _overload(self) -> Iterator[Metric]:
        gate = self.sources.gate
        shed = CounterMetricFamily(
            "dialtone_overload_rejections",
            "New requests refused 503 by overload control (overload.busy), by method.",
            labels=("method",),
        )
        for method in ("INVITE", "REGISTER"):
            shed.add_metric((method,), gate.shed.get(method, 0) if gate is not None else 0)
        yield shed
        if gate is None:
            return
        lag = GaugeMetricFamily(
            "dialtone_overload_lag_seconds",
            "The lag overload control acts on: the largest of the loop's, the SIP "
            "socket queue's and the database thread's.",
        )
        lag.add_metric((), gate.controller.load.lag)
        yield lag
        admitting = GaugeMetricFamily(
            "dialtone_overload_admitting_ratio",
            "The share of new calls overload control admits now (1: all).",
        )
        admitting.add_metric((), gate.controller.admitting)
        yield admitting

    def _queues(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "dialtone_db_queue_jobs",
            "Jobs waiting for a database thread (not started), by executor: db (the "
            "writer), reads.",
            labels=("executor",),
        )
        for name, executor in sorted(self.sources.executors.items()):
            # CPython's queue of the executor (ours, made by serve): jobs not started.
            jobs.add_metric((name,), executor._work_queue.qsize())
        yield jobs
        pending = GaugeMetricFamily(
            "dialtone_commit_pending_records",
            "Records waiting for their group commit, by what they are: cdr, audit.",
            labels=("what",),
        )
        for name, commit in sorted(self.sources.commits.items()):
            pending.add_metric((name,), commit.pending)
        yield pending

    def _registrations(self) -> Iterator[Metric]:
        registrar = self.sources.registrar
        if registrar is None:
            return
        family = GaugeMetricFamily(
            "dialtone_registrations", "Live SIP registrations (bindings) on this worker."
        )
        family.add_metric((), registrar.table.live_count(registrar.clock()))
        yield family

    def _shared(self) -> Iterator[Metric]:
        shared = self.sources.shared
        if shared is None:
            return
        family = GaugeMetricFamily(
            "dialtone_shared_state_degraded",
            "1 while the shared state's Redis is configured but not answering (this "
            "worker runs on its own counters), else 0; by backend (in_process, redis).",
            labels=("backend",),
        )
        family.add_metric((shared.backend,), 1 if shared.degraded else 0)
        yield family

    def _rtpengine(self) -> Iterator[Metric]:
        driver = self.sources.driver
        engine = driver.media_engine if driver is not None else None
        if engine is None:
            return
        stats = engine.stats
        calls = CounterMetricFamily(
            "dialtone_rtpengine_calls",
            "Bridged calls whose media rtpengine was asked to carry, by outcome (opened, "
            "failed: rtpengine down or refusing at set-up).",
            labels=("outcome",),
        )
        calls.add_metric(("opened",), stats.opened)
        calls.add_metric(("failed",), stats.failed)
        yield calls
        live = GaugeMetricFamily(
            "dialtone_rtpengine_live_calls", "Calls whose media rtpengine carries now."
        )
        live.add_metric((), stats.live)
        yield live
        totals = stats.totals
        for name, rtp, rtcp, text in (
            ("packets", totals.rtp_packets, totals.rtcp_packets, "Packets"),
            ("bytes", totals.rtp_bytes, totals.rtcp_bytes, "Bytes"),
            ("errors", totals.rtp_errors, totals.rtcp_errors, "Errors"),
        ):
            family = CounterMetricFamily(
                f"dialtone_rtpengine_{name}",
                f"{text} rtpengine carried for the calls it has ended (its delete's "
                "totals), by protocol (rtp, rtcp); live calls are added at their end.",
                labels=("protocol",),
            )
            family.add_metric(("rtp",), rtp)
            family.add_metric(("rtcp",), rtcp)
            yield family

    def _webhooks(self) -> Metric:
        family = CounterMetricFamily(
            "dialtone_webhook_deliveries",
            "Webhook delivery attempts by format, outcome (delivered, failed) and reason "
            "of a failure (http_4xx, http_5xx, timeout, connection, target: the SSRF "
            "guard, refused, invalid; empty when delivered).",
            labels=("format", "outcome", "reason"),
        )
        sender = self.sources.webhooks() if self.sources.webhooks is not None else None
        counts: dict[tuple[str, str, str], int] = {}
        if sender is not None:
            for (fmt, outcome, reason), count in sender.attempts.items():
                key = (
                    fmt if fmt in WEBHOOK_FORMATS else "other",
                    outcome,
                    reason if reason in ATTEMPT_REASONS else "invalid",
                )
                counts[key] = counts.get(key, 0) + count
        for fmt in WEBHOOK_FORMATS:
            counts.setdefault((fmt, "delivered", ""), 0)
        for key, count in sorted(counts.items()):
            family.add_metric(key, count)
        return family

    def _messages(self) -> list[Metric]:
        if self.sessions is None:
            return []
        with transaction(self.sessions) as session:
            counts = count_by_state(session)
        family = GaugeMetricFamily(
            "dialtone_messages",
            "Messages (SMS) in the database by state, read at the scrape (all workers' "
            "together: the database is shared).",
            labels=("state",),
        )
        for state in STATES:
            family.add_metric((state,), counts.get(state, 0))
        return [family]


def _info(worker_id: str | None) -> Metric:
    family = GaugeMetricFamily(
        "dialtone_info", "This worker: its version and id (1).", labels=("version", "worker_id")
    )
    family.add_metric((__version__, worker_id or ""), 1)
    return family
