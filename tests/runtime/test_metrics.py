"""Each worker's metrics (issue 19): every family increments where it should, its labels
stay bounded sets, and a scrape parses with the Prometheus client's own parser. What the
hot paths count (sequence gaps, requests by method) is counted in place and exported at
scrape time."""

from __future__ import annotations

import asyncio
import itertools
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from dialtone.call.apps.answering import Greeting
from dialtone.call.apps.ringing import RingThenVoicemail
from dialtone.logs import LOG_IDS, LogIds
from dialtone.policy import call_setup
from dialtone.policy.decision import refuse
from dialtone.rtp import ng
from dialtone.runtime.call_driver import MediaTotals
from dialtone.runtime.cdr_writer import CdrWriter
from dialtone.runtime.media import MAX_DROPOUT, SequenceCount
from dialtone.runtime.metrics import (
    CallAttempts,
    Metrics,
    Sources,
    outcome_of,
    reason_code,
)
from dialtone.runtime.relay import MediaRelay
from dialtone.runtime.rtpengine import MediaStats, RtpengineRelay
from dialtone.services.accounts import accounts
from dialtone.services.messaging.messages import STATES, count_by_state
from dialtone.services.telephony.calls import CallOutcome
from dialtone.sip.endpoint import KNOWN_METHODS, RequestReceived, SipEndpoint
from dialtone.sip.message import make_response
from dialtone.sip.overload import OverloadController, OverloadLimits
from dialtone.sip.registrar import Binding, BindingTable
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message
from tests.database import migrated_database

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: bytes) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v for got, v in samples.get(name, []) if all(got.get(k) == x for k, x in labels.items())
    )


# -- call attempts --------------------------------------------------------------------------


def endpoint() -> SipEndpoint:
    tags = (f"t{n}" for n in itertools.count())
    return SipEndpoint(
        local_host="192.0.2.1",
        local_port=5060,
        new_tag=lambda: next(tags),
        new_branch=lambda: "b",
    )


def invite(n: int, *, to_tag: str = "", method: str = "INVITE", extra: str = "") -> bytes:
    tag = f";tag={to_tag}" if to_tag else ""
    return (
        f"{method} sip:+33123456789@192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK{method}{n}\r\n"
        f"From: <sip:+14155550100@192.0.2.7>;tag=f{n}\r\n"
        f"To: <sip:+33123456789@192.0.2.1>{tag}\r\nCall-ID: c{n}\r\n"
        f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


def received(ep: SipEndpoint, data: bytes) -> RequestReceived:
    events = [
        o for o in ep.receive(data, ("192.0.2.7", 5060), 0.0) if isinstance(o, RequestReceived)
    ]
    assert len(events) == 1
    return events[0]


REFUSAL = refuse("destination.premium_rate", "premium-rate")


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, (), ("answered", "200", "none")),
        (407, (), ("challenged", "407", "none")),
        (401, (), ("challenged", "401", "none")),
        (487, (), ("canceled", "487", "none")),
        (404, (), ("failed", "404", "none")),
        (486, (), ("failed", "486", "none")),
        (403, call_setup.sip_headers(REFUSAL), ("refused", "403", "destination.premium_rate")),
        # A peer's text (a callee's, passed on) or a phone number is never a label value.
        (480, (("Reason", 'SIP;cause=480;text="+33123456789"'),), ("failed", "480", "other")),
        (503, (("Reason", 'Q.850;cause=34;text="no circuit"'),), ("failed", "503", "other")),
    ],
)
def test_each_final_answer_to_a_new_invite_is_counted_once(
    status: int, headers: tuple[tuple[str, str], ...], expected: tuple[str, str, str]
) -> None:
    ep = endpoint()
    attempts = CallAttempts()
    ep.on_final = attempts
    event = received(ep, invite(1))
    ep.respond(event.transaction, make_response(event.request, 180, to_tag="x"), 0.0)
    assert attempts.counts == {}  # provisional answers are not an outcome
    ep.respond(
        event.transaction,
        make_response(event.request, status, to_tag="x", extra_headers=headers),
        0.0,
    )
    assert attempts.counts == {expected: 1}


def test_a_re_invite_is_no_call_attempt_and_the_uas_checks_are_counted() -> None:
    ep = endpoint()
    attempts = CallAttempts()
    ep.on_final = attempts
    again = received(ep, invite(1, to_tag="ours"))
    ep.respond(again.transaction, make_response(again.request, 200), 0.0)
    assert attempts.counts == {}
    # Refused by the endpoint itself (RFC 3261 §8.2: an extension we do not support).
    ep.receive(invite(2, extra="Require: 100rel-not-ours\r\n"), ("192.0.2.7", 5060), 0.0)
    assert attempts.counts == {("failed", "420", "none"): 1}


def test_requests_are_counted_by_method_and_unknown_ones_do_not_grow_the_table() -> None:
    ep = endpoint()
    received(ep, invite(1))
    received(ep, invite(2, method="OPTIONS"))
    for n in range(50):
        ep.receive(invite(n, method=f"X{n}"), ("192.0.2.7", 5060), 0.0)
    assert ep.requests["INVITE"] == 1
    assert ep.requests["OPTIONS"] == 1
    assert ep.requests["other"] == 50
    assert set(ep.requests) == {*KNOWN_METHODS, "other"}


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (200, "none", "answered"),
        (299, "none", "answered"),
        (300, "none", "failed"),
        (401, "none", "challenged"),
        (407, "none", "challenged"),
        (486, "concurrency.user_limit", "refused"),
        (486, "none", "failed"),
        (487, "none", "canceled"),
        (503, "overload.busy", "refused"),
        (503, "other", "failed"),
    ],
)
def test_outcome_of_a_status_and_a_code(status: int, code: str, outcome: str) -> None:
    assert outcome_of(status, code) == outcome


def test_reason_code_reads_the_first_reason_with_text() -> None:
    ep = endpoint()
    event = received(ep, invite(1))
    response = make_response(
        event.request,
        403,
        extra_headers=(("Reason", "SIP;cause=403"), *call_setup.sip_headers(REFUSAL)),
    )
    assert reason_code(response) == "destination.premium_rate"
    assert reason_code(make_response(event.request, 404)) == "none"


# -- media: sequence gaps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sequence", "lost", "late"),
    [
        ([1, 2, 3, 4], 0, 0),
        ([1, 2, 5, 6], 2, 0),  # 3 and 4 never came
        ([1, 3, 2, 4], 1, 1),  # 2 came after 3: counted skipped, then late
        ([1, 2, 2, 3], 0, 0),  # a duplicate
        ([65534, 65535, 0, 1], 0, 0),  # across the wrap
        ([65535, 1], 1, 0),
        ([1, 2, 2 + MAX_DROPOUT + 10, 2 + MAX_DROPOUT + 11], 0, 0),  # another stream
        ([500, 400, 401], 0, 0),  # far back: another stream, not late
    ],
)
def test_sequence_gaps_count_lost_and_late(sequence: list[int], lost: int, late: int) -> None:
    count = SequenceCount()
    for seq in sequence:
        count.see(seq)
    assert (count.lost, count.late) == (lost, late)


@given(st.lists(st.integers(0, 0xFFFF), max_size=200))
def test_lost_and_late_only_grow(sequence: list[int]) -> None:
    # Prometheus counters: a decrease would read as a reset.
    count = SequenceCount()
    before = (0, 0)
    for seq in sequence:
        count.see(seq)
        assert count.lost >= before[0]
        assert count.late >= before[1]
        before = (count.lost, count.late)


def rtp(seq: int, payload_type: int = 8) -> bytes:
    return bytes([0x80, payload_type, seq >> 8, seq & 0xFF]) + bytes(8) + b"\xd5" * 160


def test_the_relay_counts_gaps_per_side_and_not_rtcp() -> None:
    relay = MediaRelay()
    for seq in (10, 11, 13, 12):
        relay.forward(0, rtp(seq))
    relay.forward(1, rtp(7))
    relay.forward(1, bytes([0x80, 200, 0, 6]) + bytes(24))  # RTCP sender report: not RTP
    relay.forward(1, rtp(8))
    assert (relay.a.sequence.lost, relay.a.sequence.late) == (1, 1)
    assert (relay.b.sequence.lost, relay.b.sequence.late) == (0, 0)
    # A transfer's new party starts its own numbering.
    relay.b.set_remote(("192.0.2.9", 4000), new_party=True)
    relay.forward(1, rtp(30000))
    assert relay.b.sequence.lost == 0


def test_media_totals_add_a_closed_relays_packets() -> None:
    relay = MediaRelay()
    relay.a.received, relay.b.received, relay.a.sent = 5, 7, 3
    relay.a.sequence.see(1)
    relay.a.sequence.see(4)
    totals = MediaTotals()
    totals.add(relay)
    assert (totals.received, totals.sent, totals.lost, totals.late) == (12, 3, 2, 0)


# -- a whole scrape ------------------------------------------------------------------------


APPLICATIONS = {
    "answering": Greeting("/greeting.wav"),
    "bridge": RingThenVoicemail(steps=(), box=None),
    "programmable": SimpleNamespace(),  # TwiML's, an agent's, one plugged in
}


def driven(kind: str, answered: bool, relay: MediaRelay | None = None) -> Any:
    return SimpleNamespace(
        ended=False,
        call=SimpleNamespace(
            answered=object() if answered else None, application=APPLICATIONS[kind]
        ),
        relay=relay,
        session=None,
    )


def sources() -> Sources:
    ep = endpoint()
    received(ep, invite(1))
    received(ep, invite(2, method="BYE", to_tag="x"))
    relay = MediaRelay()
    relay.a.received, relay.b.sent = 100, 90
    for seq in (1, 2, 4):
        relay.a.sequence.see(seq)
    totals = MediaTotals()
    totals.received, totals.sent, totals.lost, totals.late = 1000, 900, 3, 1
    table = BindingTable()
    for n, expires in enumerate((50.0, 500.0, 600.0)):
        table.restore(
            f"US{n}",
            Binding(
                contact=f"sip:u{n}@192.0.2.{n + 10}",
                source=("192.0.2.10", 5060),
                transport="udp",
                expires_at=expires,
                call_id="c",
                cseq=1,
            ),
        )
    gate = SimpleNamespace(
        shed={"INVITE": 4, "REGISTER": 1},
        controller=OverloadController(OverloadLimits()),
        on_lag=None,
    )
    webhooks = SimpleNamespace(
        attempts={
            ("dialtone", "delivered", ""): 5,
            ("twilio", "failed", "http_5xx"): 2,
            ("dialtone", "failed", "timeout"): 1,
        }
    )
    return Sources(
        channels={"udp": SimpleNamespace(endpoint=ep)},  # type: ignore[dict-item]
        driver=SimpleNamespace(  # type: ignore[arg-type]
            calls={
                "CA1": driven("answering", True),
                "CA2": driven("bridge", False, relay),
                "CA3": driven("bridge", True),
                "CA4": driven("programmable", True),
            },
            media_totals=totals,
            media_engine=None,
        ),
        registrar=SimpleNamespace(table=table, clock=lambda: 100.0),  # type: ignore[arg-type]
        gate=gate,  # type: ignore[arg-type]
        executors={"db": ThreadPoolExecutor(1)},
        commits={"cdr": SimpleNamespace(pending=2, on_committed=None)},  # type: ignore[dict-item]
        webhooks=lambda: webhooks,  # type: ignore[arg-type, return-value]
        shared=SimpleNamespace(backend="redis", degraded=True),  # type: ignore[arg-type]
    )


def test_a_scrape_exports_every_family_and_parses(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    metrics = Metrics(sessions, worker_id="w7")
    metrics.attach(sources())
    metrics.calls.counts[("answered", "200", "none")] = 3
    metrics.calls.counts[("refused", "403", "destination.premium_rate")] = 2
    metrics.cdr_commit.observe(0.004)
    metrics.loop_lag.observe(0.002)
    samples = parse(metrics.render(metrics.snapshot()))

    assert value(samples, "dialtone_info", worker_id="w7") == 1
    assert value(samples, "dialtone_calls_total") == 5
    assert value(samples, "dialtone_calls_total", code="destination.premium_rate") == 2
    assert value(samples, "dialtone_live_calls", kind="answering", state="answered") == 1
    assert value(samples, "dialtone_live_calls", kind="bridge", state="ringing") == 1
    assert value(samples, "dialtone_live_calls", kind="bridge", state="answered") == 1
    assert value(samples, "dialtone_live_calls", kind="answering", state="ringing") == 0
    assert value(samples, "dialtone_live_calls", kind="programmable", state="answered") == 1
    assert len(samples["dialtone_live_calls"]) == 6  # every kind and state, zeros too
    assert value(samples, "dialtone_media_packets_received_total") == 1100
    assert value(samples, "dialtone_media_packets_sent_total") == 990
    assert value(samples, "dialtone_media_packets_lost_total") == 4
    assert value(samples, "dialtone_media_packets_late_total") == 1
    assert value(samples, "dialtone_sip_requests_total", method="INVITE", transport="udp") == 1
    assert value(samples, "dialtone_sip_requests_total", method="BYE") == 1
    assert value(samples, "dialtone_overload_rejections_total", method="INVITE") == 4
    assert value(samples, "dialtone_overload_rejections_total", method="REGISTER") == 1
    assert value(samples, "dialtone_overload_admitting_ratio") == 1
    assert value(samples, "dialtone_db_queue_jobs", executor="db") == 0
    assert value(samples, "dialtone_commit_pending_records", what="cdr") == 2
    assert value(samples, "dialtone_registrations") == 2  # one expired at 50 < 100
    assert value(samples, "dialtone_shared_state_degraded", backend="redis") == 1
    assert value(samples, "dialtone_webhook_deliveries_total", outcome="delivered") == 5
    assert value(samples, "dialtone_webhook_deliveries_total", outcome="failed") == 3
    assert value(samples, "dialtone_webhook_deliveries_total", reason="http_5xx") == 2
    assert value(samples, "dialtone_cdr_commit_seconds_count") == 1
    assert value(samples, "dialtone_event_loop_lag_seconds_count") == 1
    assert {labels["state"] for labels, _ in samples["dialtone_messages"]} == set(STATES)
    assert value(samples, "process_cpu_seconds_total") > 0
    # Every name is ours or the client's process collector's.
    assert all(name.startswith(("dialtone_", "process_")) for name in samples)


def test_label_values_are_bounded_sets() -> None:
    # Whatever the traffic, the labels come from fixed tables: no account, number or
    # free text (TERMS D4, and cardinality).
    metrics = Metrics(process=False)
    metrics.attach(sources())
    ep = endpoint()
    ep.on_final = metrics.calls
    for n in range(200):
        event = received(ep, invite(n))
        text = f"+3361234{n:04d}"
        headers = (("Reason", f'SIP;cause=480;text="{text}"'),)
        ep.respond(
            event.transaction,
            make_response(event.request, 480, to_tag="x", extra_headers=headers),
            0,
        )
    samples = parse(metrics.render(metrics.snapshot()))
    codes = {labels["code"] for labels, _ in samples["dialtone_calls_total"]}
    assert codes == {"other"}
    assert len(samples["dialtone_calls_total"]) == 1


def test_attach_hooks_the_endpoints_the_gate_and_the_cdr_writer() -> None:
    metrics = Metrics(process=False)
    given = sources()
    metrics.attach(given)
    assert given.channels["udp"].endpoint.on_final is metrics.calls
    assert given.gate is not None
    assert given.gate.on_lag == metrics.loop_lag.observe
    assert given.commits["cdr"].on_committed == metrics.cdr_commit.observe


def test_scrape_reads_on_the_loop_and_renders_off_it() -> None:
    metrics = Metrics(process=False)
    metrics.attach(sources())

    async def scrape() -> bytes:
        return await metrics.scrape()

    assert b"dialtone_live_calls" in asyncio.run(scrape())


# -- messages by state, CDR commit latency ----------------------------------------------------

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_messages_are_counted_by_state_in_one_query(tmp_path: Path) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id
        assert count_by_state(session) == dict.fromkeys(STATES, 0)
        columns = {c.name for c in Message.__table__.columns}
        rows = []
        for n, state in enumerate(["queued", "queued", "sent", "delivered", "failed"]):
            row: dict[str, Any] = {
                "id": f"SM{n}",
                "account_id": account_id,
                "status": state,
                "sender": "+33123456789",
                "recipient": "+33612345678",
                "body": "hi",
                "segments": 1,
                "encoding": "GSM-7",
                "direction": "outbound",
                "origin": "api",
                "callback_format": "dialtone",
                "attempts": 0,
                "created_at": T0,
                "updated_at": T0,
                "expires_at": T0 + timedelta(days=1),
            }
            rows.append({k: v for k, v in row.items() if k in columns})
        session.execute(insert(Message), rows)
    with transaction(sessions) as session:
        counts = count_by_state(session)
    assert counts == {
        **dict.fromkeys(STATES, 0),
        "queued": 2,
        "sent": 1,
        "delivered": 1,
        "failed": 1,
    }


def cdr(account_id: str, n: int) -> CallOutcome:
    return CallOutcome(
        account_id=account_id,
        direction="inbound",
        from_number="+14155550100",
        to_number="+33123456789",
        started_at=T0,
        answered_at=T0,
        ended_at=T0 + timedelta(seconds=n + 1),
        status="completed",
        hangup_cause="caller-bye",
        sip_call_id=f"c{n}",
        sip_local_tag="t",
    )


def test_each_committed_cdr_is_timed_and_the_writer_logs_in_no_calls_context(
    tmp_path: Path,
) -> None:
    _, sessions = migrated_database(tmp_path / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id
    waited: list[float] = []
    contexts: list[LogIds | None] = []

    async def scenario() -> None:
        writer = CdrWriter(sessions, ThreadPoolExecutor(1))
        writer.on_committed = waited.append
        original = writer._run

        async def run() -> None:
            contexts.append(LOG_IDS.get())
            await original()

        writer._run = run  # type: ignore[method-assign]
        token = LOG_IDS.set(LogIds("CA1", account_id))
        try:
            await asyncio.gather(*(writer.write_cdr(cdr(account_id, n)) for n in range(5)))
        finally:
            LOG_IDS.reset(token)
        with pytest.raises(Exception):  # noqa: B017, PT011
            await writer.write_cdr(cdr("ACnobody", 9))
        await writer.close()

    asyncio.run(scenario())
    assert len(waited) == 5  # a failed record is not a commit
    assert all(0 <= w < 5 for w in waited)
    assert contexts
    assert all(ids is None for ids in contexts)


def test_logging_is_quiet_about_metrics(caplog: pytest.LogCaptureFixture) -> None:
    # A scrape logs nothing (a scrape every 15 s must not fill the log).
    metrics = Metrics(process=False)
    metrics.attach(sources())
    with caplog.at_level(logging.DEBUG, logger="dialtone"):
        metrics.render(metrics.snapshot())
    assert caplog.records == []


def test_rtpengines_calls_and_packets_are_its_own_counts() -> None:
    # Calls whose media rtpengine carries are counted by rtpengine (its delete's totals),
    # not read from a Python relay.
    given = sources()
    stats = MediaStats(opened=5, failed=1, live=2, totals=ng.MediaTotals(800, 128000, 1, 8, 640, 0))
    given.driver.media_engine = SimpleNamespace(stats=stats)  # type: ignore[union-attr]
    engine_relay = RtpengineRelay.__new__(RtpengineRelay)
    given.driver.calls["CA5"] = driven("bridge", True, engine_relay)  # type: ignore[union-attr]
    metrics = Metrics(process=False)
    metrics.attach(given)
    samples = parse(metrics.render(metrics.snapshot()))
    assert value(samples, "dialtone_rtpengine_calls_total", outcome="opened") == 5
    assert value(samples, "dialtone_rtpengine_calls_total", outcome="failed") == 1
    assert value(samples, "dialtone_rtpengine_live_calls") == 2
    assert value(samples, "dialtone_rtpengine_packets_total", protocol="rtp") == 800
    assert value(samples, "dialtone_rtpengine_packets_total", protocol="rtcp") == 8
    assert value(samples, "dialtone_rtpengine_bytes_total", protocol="rtp") == 128000
    assert value(samples, "dialtone_rtpengine_errors_total", protocol="rtp") == 1
    assert value(samples, "dialtone_live_calls", kind="bridge", state="answered") == 2
    assert value(samples, "dialtone_media_packets_received_total") == 1100  # as before
