"""``/metrics`` scraped during a sipp run counts its calls and their failures by code, and
parses with the Prometheus client's own parser (issue 19's acceptance).

One ``dialtone serve``: sipp places calls that are answered (with audio), a device's
calls to a premium-rate number refused 403 ``destination.premium_rate`` after their 407
challenge, and a carrier's calls to a number nobody holds (404). The scrape taken while
the answered calls are up sees them live; the one after counts each kind exactly, and
no phone number of the run appears anywhere in it (TERMS D4).
"""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dialtone.settings import derived_worker_id
from tests.interop import sippgen

from .conftest import SIPP, Platform, add_trunk, free_port, free_rtp_range, poll, serving

pytestmark = pytest.mark.interop

PASSWORD = "correct-horse-1"
ANSWERED, REFUSED, UNKNOWN = 4, 3, 2
NUMBERS = ("33123456789", "19005550123", "14155550100", "33999999999")


def scrape(platform: Platform) -> tuple[str, dict[str, list[tuple[dict[str, str], float]]]]:
    """The text of a scrape and its samples by name, read by the client's parser."""
    answer = httpx.get(f"{platform.base_url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return answer.text, samples


def value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        v for got, v in samples.get(name, []) if all(got.get(k) == x for k, x in labels.items())
    )


def sipp(platform: Platform, tmp: Path, name: str, xml: str, calls: int, *extra: str) -> list[str]:
    assert SIPP is not None
    scenario = sippgen.write(tmp, f"{name}.xml", xml)
    return [
        SIPP,
        f"127.0.0.1:{platform.sip_port}",
        "-sf",
        str(scenario),
        "-s",
        "dialtone",
        "-i",
        "127.0.0.1",
        "-mp",
        str(free_rtp_range(20)[0]),
        "-m",
        str(calls),
        "-l",
        str(calls),
        "-timeout",
        "40s",
        "-timeout_error",
        "-nostdin",
        *extra,
    ]


def finished(process: subprocess.Popen[str], platform: Platform) -> None:
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out[-3000:] + platform.log()[-4000:]


def test_a_scrape_counts_a_sipp_runs_calls_and_failures_by_code(tmp_path: Path) -> None:
    from .conftest import require_sipp

    require_sipp()
    with serving(
        tmp_path, users=(("alice", "201"),), password=PASSWORD, ring_seconds="0.2"
    ) as platform:
        carrier = free_port()
        add_trunk(platform, carrier)  # a trunk exists: only the terms refuse premium-rate
        _, before = scrape(platform)
        assert value(before, "dialtone_calls_total") == 0

        answered = subprocess.Popen(
            [
                *platform.sipp_args("uac_pcap.xml", "33123456789", calls=ANSWERED),
                "-d",
                "3000",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        try:
            # During the run: the answered calls are live, their audio is counted.
            _, during = poll(
                lambda: (
                    (got := scrape(platform))[1]
                    and value(got[1], "dialtone_live_calls", state="answered") >= 1
                    and value(got[1], "dialtone_media_packets_received_total") > 0
                    and got
                ),
                timeout=20,
            )
            refused = subprocess.run(
                sipp(
                    platform,
                    tmp_path,
                    "premium",
                    sippgen.call(
                        "+19005550123",
                        auth=True,
                        expect=403,
                        expect_header=("Reason", "destination.premium_rate"),
                    ),
                    REFUSED,
                    "-p",
                    str(free_port()),
                    "-au",
                    "alice",
                    "-ap",
                    PASSWORD,
                ),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                cwd=tmp_path,
            )
            assert refused.returncode == 0, refused.stdout[-3000:] + platform.log()[-4000:]
            unknown = platform.sipp(
                "uac_404.xml",
                "33999999999",
                calls=UNKNOWN,
                extra=("-p", str(carrier)),
                cwd=tmp_path,
            )
            assert unknown.returncode == 0, unknown.stdout[-3000:] + platform.log()[-4000:]
        finally:
            finished(answered, platform)

        # The last CDR is committed before its BYE's 200, which sipp waited for.
        text, after = poll(
            lambda: (
                (got := scrape(platform))[1] and value(got[1], "dialtone_live_calls") == 0 and got
            ),
            timeout=10,
        )

    assert value(during, "dialtone_live_calls", kind="answering", state="answered") >= 1
    calls = "dialtone_calls_total"
    assert value(after, calls, outcome="answered", status="200", code="none") == ANSWERED
    assert (
        value(after, calls, outcome="refused", status="403", code="destination.premium_rate")
        == REFUSED
    )
    assert value(after, calls, outcome="challenged", status="407") == REFUSED
    assert value(after, calls, outcome="failed", status="404", code="none") == UNKNOWN
    assert value(after, calls) == ANSWERED + 2 * REFUSED + UNKNOWN
    # Every INVITE received is counted by method (sipp's retransmissions may add some).
    assert value(after, "dialtone_sip_requests_total", method="INVITE", transport="udp") >= (
        ANSWERED + 2 * REFUSED + UNKNOWN
    )
    assert value(after, "dialtone_sip_requests_total", method="BYE") >= ANSWERED
    assert value(after, "dialtone_cdr_commit_seconds_count") == ANSWERED
    assert value(after, "dialtone_media_packets_received_total") >= value(
        during, "dialtone_media_packets_received_total"
    )
    received = value(after, "dialtone_media_packets_received_total")
    assert received > 50 * ANSWERED
    # sipp's recording is sent in order over loopback: next to no gaps, nothing late.
    assert value(after, "dialtone_media_packets_lost_total") <= received / 100
    assert value(after, "dialtone_media_packets_late_total") <= received / 100
    assert value(after, "dialtone_media_packets_sent_total") > 0  # the greetings
    assert value(after, "dialtone_overload_rejections_total") == 0
    assert value(after, "dialtone_messages", state="queued") == 0
    assert value(after, "dialtone_event_loop_lag_seconds_count") > 0
    assert value(after, "process_resident_memory_bytes") > 0
    assert value(after, "dialtone_shared_state_degraded", backend="in_process") == 0
    [(info, _)] = after["dialtone_info"]
    assert info["worker_id"] == derived_worker_id(socket.gethostname(), platform.sip_port)
    # No phone number of the run anywhere in the scrape (TERMS D4): not as a word of the
    # text (a float's digits may happen to contain one), and no label value with a run
    # of seven digits at all.
    for number in NUMBERS:
        assert not re.search(rf"(?<![\d.]){number}(?!\d)", text), number
    for series in after.values():
        for labels, _ in series:
            assert not any(re.search(r"\d{7}", v) for v in labels.values()), labels


def test_json_logs_of_a_served_call_carry_its_ids(tmp_path: Path) -> None:
    # log_format=json: every line logging writes is one JSON object (uvicorn's too); the
    # lines of a call's work name the call and its account, the others do not.
    import json

    from .conftest import require_sipp

    require_sipp()
    with serving(tmp_path, ring_seconds="0.2", log_format="json") as platform:
        done = platform.sipp("uac_pcap.xml", "33123456789", extra=("-d", "500"))
        assert done.returncode == 0, done.stdout + platform.log()
        [call] = httpx.get(
            f"{platform.base_url}/v1/calls",
            headers={"Authorization": f"Bearer {platform.api_key}"},
            timeout=10,
        ).json()["calls"]
    lines = platform.log().splitlines()
    # The start-up announcement and the console hint are printed, not logged.
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(logged) >= 0.8 * len(lines), lines[:20]
    assert any(line["logger"].startswith("uvicorn") for line in logged)
    mine = [line for line in logged if line.get("call_id") == call["id"]]
    assert any("answered" in line["message"] for line in mine), mine
    assert any("ended" in line["message"] for line in mine), mine
    assert {line["account_id"] for line in mine} == {platform.account_id}
    assert all(line["time"].endswith("+00:00") for line in logged)
    assert {line["worker_id"] for line in logged} == {
        derived_worker_id(socket.gethostname(), platform.sip_port)
    }
    stopping = [line for line in logged if line["message"].startswith("stopping")]
    assert stopping
    assert "call_id" not in stopping[0]
    assert "account_id" not in stopping[0]


def test_calls_through_rtpengine_are_counted_by_rtpengine_and_its_refusals_by_code(
    tmp_path: Path,
) -> None:
    # media_engine=rtpengine: a bridged call's packets are rtpengine's own counts (its
    # delete's totals), and with rtpengine gone the next call's 503 is counted by its code.
    from tests.programs.rtpengine import rtpengine

    from .conftest import require_sipp
    from .test_call_engine import PCAP, registered_phone, route, run

    require_sipp()
    with (
        rtpengine(tmp_path / "rtpengine") as media,
        serving(
            tmp_path,
            users=(("alice", "201"),),
            password=PASSWORD,
            ring_seconds="0.2",
            media_engine="rtpengine",
            rtpengine_ng=media.ng_text,
            rtpengine_recording_dir=str(media.recording_dir),
            rtpengine_retransmit_seconds="0.2",
            rtpengine_timeout_seconds="1",
        ) as platform,
    ):
        route(platform, platform.number, kind="user", target=platform.extra["alice"])
        phone = registered_phone(
            platform, tmp_path, "alice", sippgen.phone(pcap=PCAP), timeout=30, name="phone"
        )
        run(platform, tmp_path, "caller", sippgen.call("33123456789", pcap=PCAP, bye_after_ms=3000))
        phone.wait(platform)
        _, carried = poll(
            lambda: (
                (got := scrape(platform))[1]
                and value(got[1], "dialtone_rtpengine_live_calls") == 0
                and value(got[1], "dialtone_rtpengine_packets_total", protocol="rtp") > 0
                and got
            ),
            timeout=15,
        )
        media.process.terminate()
        media.process.wait(5)
        run(
            platform,
            tmp_path,
            "refused",
            sippgen.call(
                "33123456789", expect=503, expect_header=("Reason", "media.engine_unavailable")
            ),
            timeout=10,
        )
        _, after = scrape(platform)

    assert value(carried, "dialtone_rtpengine_calls_total", outcome="opened") == 1
    assert value(carried, "dialtone_rtpengine_packets_total", protocol="rtp") > 100
    assert value(carried, "dialtone_calls_total", outcome="answered", status="200") == 1
    # The Python relay carried nothing: no packets of its own counted.
    assert value(carried, "dialtone_media_packets_received_total") == 0
    assert (
        value(after, "dialtone_calls_total", outcome="refused", code="media.engine_unavailable")
        == 1
    )
    assert value(after, "dialtone_rtpengine_calls_total", outcome="failed") == 1
