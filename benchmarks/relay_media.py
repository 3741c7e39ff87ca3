"""Media relay concurrency: many bridged calls with RTP both ways through dialtone's relay.

Each level sets up N calls the way a carrier would send them (the same path as
b2bua_call_rate: a trunk's INVITE to +33123456789, routed ``forward`` out through a
second trunk), from a small SIP UAC and UAS in this process whose SDP points at this
process's RTP sockets. Then every call carries 20 ms G.711 packets in both directions
(50 packets/s each way, phases spread over the period) for ``--seconds``: 100·N packets/s
into the relay and as many out. Every packet carries its stream, sequence number and
send time; the sink counts what arrives. A level passes when less than 0.1 % of the
packets are lost or late (more than ``--late-ms``, 40 ms, after they left). The figure
is the highest passing level; the calls are hung up between levels.

The reference is the same generator and sink talking to themselves without the relay,
at the same levels: the local limit of the measuring side. Also reported per level:
dialtone's CPU (whole process and event loop thread) while the media flows, its
resident memory, and datagrams the kernel dropped on its sockets. ``--profile`` samples
the server with py-spy (not a dependency; $PY_SPY or PATH) during an extra media run at
the highest passing level. Medians over ``--runs``.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.interop.conftest import (
    Platform,
    add_trunk,
    provision,
    start_platform,
    stop_platform,
)
from tests.programs.rtpengine import Rtpengine, rtpengine

from _proc import (
    CpuMeter,
    Profiler,
    find_py_spy,
    machine_jiffies,
    memory_kb,
    print_hotspots,
    python_speed_ms,
    udp_drops_of,
)
from _rtp import MediaResult, Stream, open_sockets, run_streams, run_streams_native
from _sipua import OutCall, Uac, Uas

NUMBER = "+33123456789"
DIALED = "33123456789"
FORWARD_TO = "+442071838750"
LEVELS = (100, 250, 500, 750, 1000, 1500, 2000)
MAX_BAD = 0.001  # lost + late, as a fraction of packets sent
TARGET = 1000  # concurrent calls, the goal
# The generator and sink: the C one (rtp_blast.c) unless --generator python; main sets it.
GENERATORS = {"c": run_streams_native, "python": run_streams}
generator = {"run": run_streams_native}


def measure_reference(calls: int, seconds: float, late_ms: float, k: int) -> MediaResult:
    """Each call's two streams straight from one side's socket to the other side's."""
    sockets = open_sockets(2 * k)
    try:
        ports = [sock.getsockname()[1] for sock in sockets]
        streams = [Stream(i % k, ("127.0.0.1", ports[k + i % k]), 1) for i in range(calls)]
        streams += [Stream(k + i % k, ("127.0.0.1", ports[i % k]), 0) for i in range(calls)]
        return generator["run"](streams, sockets, [0] * k + [1] * k, seconds, late_ms=late_ms)
    finally:
        for sock in sockets:
            sock.close()


class RelayBench:
    """A running dialtone with the forward route, our UAC and UAS as its two trunks, and
    the RTP sockets of both sides."""

    def __init__(
        self,
        tmp: Path,
        max_calls: int,
        sockets_per_side: int,
        engine: str = "python",
        engine_threads: int = 2,
    ) -> None:
        self.tmp = tmp
        self.max_calls = max_calls
        self.k = sockets_per_side
        self.engine = engine  # "python" (the built-in relay) or "rtpengine" (issue 19)
        self.engine_threads = engine_threads
        self.engine_stack = ExitStack()
        self.rtpengine: Rtpengine | None = None
        self.sockets = open_sockets(2 * sockets_per_side)
        self.ports = [sock.getsockname()[1] for sock in self.sockets]
        self.platform: Platform | None = None
        self.uac: Uac | None = None
        self.uas: Uas | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.uas = Uas(media_ports=self.ports[self.k :])
        await loop.create_datagram_endpoint(lambda: self.uas, local_addr=("127.0.0.1", 0))  # type: ignore[arg-type,return-value]
        if self.engine == "rtpengine":
            # rtpengine takes four ports a call (RTP and RTCP, both sides) and a socket
            # for each; dialtone's own range is then only for calls it answers.
            self.rtpengine = self.engine_stack.enter_context(
                rtpengine(
                    self.tmp / "rtpengine",
                    ports=4 * self.max_calls + 400,
                    threads=self.engine_threads,
                    log_level=4,
                    open_files=4 * self.max_calls + 2000,
                    # Wide and unclaimed: rtpengine skips ports in use (ours included).
                    port_range=(10000, 60999),
                )
            )
            platform = start_platform(
                self.tmp,
                rtp_ports=401,
                log_level="WARNING",
                media_engine="rtpengine",
                rtpengine_ng=self.rtpengine.ng_text,
            )
        else:
            # Two RTP ports per call, even ports only, and some room.
            platform = start_platform(
                self.tmp, rtp_ports=4 * self.max_calls + 401, log_level="WARNING"
            )
        self.platform = platform
        provision(platform, NUMBER)
        self.uac = Uac(("127.0.0.1", platform.sip_port), DIALED)
        await loop.create_datagram_endpoint(lambda: self.uac, local_addr=("127.0.0.1", 0))  # type: ignore[arg-type,return-value]
        add_trunk(platform, self.uas.port, 10, "carrier-out")
        add_trunk(platform, self.uac.port, 20, "carrier-in")
        with platform.http() as http:
            routed = http.put(
                f"/v1/numbers/{NUMBER}/route", json={"kind": "forward", "target": FORWARD_TO}
            )
        if routed.status_code != 200:
            raise RuntimeError(f"route not set: {routed.text}")

    def stop(self) -> None:
        for transport_owner in (self.uac, self.uas):
            if transport_owner is not None and transport_owner.transport is not None:
                transport_owner.transport.close()
        if self.platform is not None:
            stop_platform(self.platform)
        self.engine_stack.close()
        for sock in self.sockets:
            sock.close()

    async def set_up(self, calls: int, rate: float) -> tuple[list[OutCall], int]:
        """Place ``calls`` calls at ``rate`` per second; returns the answered ones and
        how many failed."""
        assert self.uac is not None
        tasks = []
        for i in range(calls):
            tasks.append(asyncio.create_task(self.uac.call(self.ports[i % self.k])))
            await asyncio.sleep(1 / rate)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        answered = [r for r in results if isinstance(r, OutCall)]
        return answered, len(results) - len(answered)

    async def hang_up(self, calls: list[OutCall], rate: float) -> int:
        assert self.uac is not None
        assert self.uas is not None
        tasks = []
        for call in calls:
            tasks.append(asyncio.create_task(self.uac.hang_up(call)))
            await asyncio.sleep(1 / rate)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.5)
        self.uas.calls.clear()
        return sum(1 for r in results if isinstance(r, BaseException))

    def streams(self, calls: list[OutCall]) -> list[Stream]:
        """A's stream of each call to its relay port; B's (as dialtone offered it to our
        UAS) to the other relay port of the call."""
        assert self.uas is not None
        socket_of = {port: index for index, port in enumerate(self.ports)}
        out = [
            Stream(socket_of[c.media_port], ("127.0.0.1", c.answered.result()), 1) for c in calls
        ]
        out += [
            Stream(socket_of[c.media_port], ("127.0.0.1", c.relay_port), 0)
            for c in self.uas.calls.values()
            if not c.ended
        ]
        return out

    async def level(
        self,
        calls: int,
        *,
        seconds: float,
        late_ms: float,
        setup_rate: float,
        profiler_path: Path | None = None,
        py_spy: str | None = None,
    ) -> dict[str, object]:
        """Set up ``calls`` calls, run media through them, hang up; the figures."""
        assert self.platform is not None
        assert self.uas is not None
        pid = self.platform.process.pid
        rss_idle = memory_kb(pid).get("VmRSS")
        began = time.monotonic()
        answered, failed = await self.set_up(calls, setup_rate)
        setup_seconds = time.monotonic() - began
        await asyncio.sleep(0.5)
        streams = self.streams(answered)
        drops = udp_drops_of(pid)
        rss_before = memory_kb(pid).get("VmRSS")
        profiler = (
            Profiler(py_spy, pid, profiler_path) if profiler_path is not None and py_spy else None
        )
        meter = CpuMeter(pid).start()
        engine_pid = self.rtpengine.process.pid if self.rtpengine is not None else None
        engine_meter = CpuMeter(engine_pid).start() if engine_pid is not None else None
        engine_drops = udp_drops_of(engine_pid) if engine_pid is not None else 0
        result = await asyncio.to_thread(
            generator["run"],
            streams,
            self.sockets,
            [0] * self.k + [1] * self.k,
            seconds,
            late_ms=late_ms,
        )
        meter.stop()
        if engine_meter is not None:
            engine_meter.stop()
        if profiler is not None:
            profiler.stop()
        rss = memory_kb(pid).get("VmRSS")
        dropped = udp_drops_of(pid) - drops
        hangup_failed = await self.hang_up(answered, setup_rate * 2)
        ok = (
            failed == 0
            and len(streams) == 2 * calls
            and result.bad_ratio < MAX_BAD
            and result.misdelivered == 0
        )
        figures: dict[str, object] = {
            "calls": calls,
            "ok": ok,
            "setup_failed": failed,
            "setup_seconds": round(setup_seconds, 1),
            "hangup_failed": hangup_failed,
            "bad_percent": round(100 * result.bad_ratio, 4),
            **result.as_dict(),
            "server_cpu_percent": meter.percent,
            "server_event_loop_cpu_percent": meter.main_percent,
            "server_event_loop_waiting_for_cpu_percent": meter.loop_wait_percent,
            "machine_busy_percent": meter.machine_busy_percent,
            "server_socket_drops": dropped,
            "server_rss_kb": rss,
            "server_rss_kb_before_media": rss_before,
            "server_rss_kb_before_calls": rss_idle,
        }
        if engine_meter is not None and engine_pid is not None:
            figures["engine_cpu_percent"] = engine_meter.percent
            figures["engine_socket_drops"] = udp_drops_of(engine_pid) - engine_drops
            figures["engine_rss_kb"] = memory_kb(engine_pid).get("VmRSS")
        if profiler is not None:
            figures["hotspots"] = profiler.hotspots()
        await asyncio.sleep(1)
        return figures


def short(figures: dict[str, object]) -> str:
    delay = figures.get("delay_ms", {})
    return (
        f"{figures['calls']} calls: {'ok' if figures['ok'] else 'FAIL'} "
        f"lost {figures['lost']} late {figures['late']} of {figures['packets_sent']} "
        f"({figures['bad_percent']} %), delay p50/p99/max {delay.get('p50')}/"  # type: ignore[union-attr]
        f"{delay.get('p99')}/{delay.get('max')} ms"  # type: ignore[union-attr]
        + (
            f", server CPU {figures['server_cpu_percent']} % "
            f"(loop {figures['server_event_loop_cpu_percent']} %), "
            f"drops {figures['server_socket_drops']}, RSS {figures['server_rss_kb']} kB, "
            f"loop waiting for a CPU {figures['server_event_loop_waiting_for_cpu_percent']} %, "
            f"machine {figures['machine_busy_percent']} % busy"
            if "server_cpu_percent" in figures
            else f", machine {figures.get('machine_busy_percent')} % busy"
        )
    )


async def measure_relay(
    levels: list[int], args: argparse.Namespace, py_spy: str | None, engine: str = "python"
) -> tuple[int, list[dict[str, object]], dict[str, object] | None]:
    """The highest passing level (a failing level is tried once more), every level's
    figures, and the profile at the highest passing level."""
    with tempfile.TemporaryDirectory() as tmp:
        threads = getattr(args, "rtpengine_threads", 2)
        bench = RelayBench(Path(tmp), max(levels), args.sockets, engine, threads)
        try:
            await bench.start()
            best, results = 0, []
            for calls in levels:
                figures: dict[str, object] = {}
                for _ in range(2):
                    figures = await bench.level(
                        calls,
                        seconds=args.seconds,
                        late_ms=args.late_ms,
                        setup_rate=args.setup_rate,
                    )
                    print(f"relay ({engine}) {short(figures)}", file=sys.stderr, flush=True)
                    if figures["ok"]:
                        break
                results.append(figures)
                if not figures["ok"]:
                    break
                best = calls
            profile = None
            if py_spy is not None and best:
                figures = await bench.level(
                    best,
                    seconds=args.seconds,
                    late_ms=args.late_ms,
                    setup_rate=args.setup_rate,
                    profiler_path=Path(tmp) / "profile.txt",
                    py_spy=py_spy,
                )
                print(f"relay (profiled) {short(figures)}", file=sys.stderr, flush=True)
                profile = {
                    "calls": best,
                    "bad_percent": figures["bad_percent"],
                    "server_cpu_percent": figures["server_cpu_percent"],
                    "hotspots": figures.get("hotspots"),
                }
            return best, results, profile
        finally:
            bench.stop()


def reference_levels(levels: list[int], args: argparse.Namespace) -> tuple[int, list[dict]]:
    best, results = 0, []
    for calls in levels:
        figures: dict[str, object] = {}
        for _ in range(2):
            machine = machine_jiffies()
            result = measure_reference(calls, args.seconds, args.late_ms, args.sockets)
            busy, total = machine_jiffies()
            figures = {
                "calls": calls,
                "ok": result.bad_ratio < MAX_BAD and result.misdelivered == 0,
                "bad_percent": round(100 * result.bad_ratio, 4),
                **result.as_dict(),
                "machine_busy_percent": round(
                    100 * (busy - machine[0]) / max(1, total - machine[1]), 1
                ),
            }
            print(f"reference {short(figures)}", file=sys.stderr, flush=True)
            if figures["ok"]:
                break
        results.append(figures)
        if not figures["ok"]:
            break
        best = calls
    return best, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="media per level")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--late-ms", type=float, default=40.0)
    parser.add_argument("--setup-rate", type=float, default=100, help="calls/s while setting up")
    parser.add_argument("--sockets", type=int, default=32, help="RTP sockets per side")
    parser.add_argument("--quick", action="store_true", help="1 run, 3 s, levels 50,100,250")
    parser.add_argument("--profile", action="store_true", help="py-spy the server")
    parser.add_argument("--py-spy", help="path of py-spy (default: $PY_SPY or PATH)")
    parser.add_argument(
        "--generator",
        choices=sorted(GENERATORS),
        default="c",
        help="the RTP generator and sink: c (rtp_blast.c, built with the system's compiler; "
        "Python where there is none) or python (_rtp.py, tops out near 500 calls)",
    )
    args = parser.parse_args()
    generator["run"] = GENERATORS[args.generator]
    if args.quick:
        args.runs, args.seconds, args.levels = 1, 3, "50,100,250"
    levels = [int(n) for n in args.levels.split(",")]
    speed_before = python_speed_ms()
    py_spy = None
    if args.profile:
        py_spy = find_py_spy(args.py_spy)
        if py_spy is None:
            print("--profile: py-spy not found; no profile", file=sys.stderr)
    relay_best, reference_best = [], []
    relay_detail: list[list[dict[str, object]]] = []
    reference_detail: list[list[dict[str, object]]] = []
    profile = None
    for index in range(args.runs):
        best, results, profiled = asyncio.run(
            measure_relay(levels, args, py_spy if index == args.runs - 1 else None)
        )
        relay_best.append(best)
        relay_detail.append(results)
        profile = profiled or profile
        # The reference climbs at least one level past the relay's last one.
        upto = [n for n in levels if n <= max(best, levels[0])]
        upto += [n for n in levels if n > max(best, levels[0])][:1]
        ref_best, ref_results = reference_levels(upto, args)
        reference_best.append(ref_best)
        reference_detail.append(ref_results)
    if profile is not None:
        print_hotspots(f"relay at {profile['calls']} calls", profile.get("hotspots") or {})  # type: ignore[arg-type]
    mine = statistics.median(relay_best)
    ref = statistics.median(reference_best)
    at_best = [
        next((f for f in run if f["calls"] == best), None)
        for run, best in zip(relay_detail, relay_best, strict=True)
    ]
    cpu = [float(f["server_cpu_percent"]) for f in at_best if f is not None]  # type: ignore[arg-type]
    rss = [float(f["server_rss_kb"]) for f in at_best if f is not None]  # type: ignore[arg-type]
    # Per call at the highest passing level: CPU in percent of one core (each call is 100
    # packets/s in and 100 out), and memory above the server's size before the calls.
    cpu_per_call = [
        float(f["server_cpu_percent"]) / int(f["calls"])  # type: ignore[arg-type]
        for f in at_best
        if f is not None
    ]
    kb_per_call = [
        (float(f["server_rss_kb"]) - float(f["server_rss_kb_before_calls"])) / int(f["calls"])  # type: ignore[arg-type]
        for f in at_best
        if f is not None and f.get("server_rss_kb_before_calls") is not None
    ]

    def trim(run: list[dict[str, object]]) -> list[dict[str, object]]:
        keep = (
            "calls",
            "ok",
            "bad_percent",
            "loss_percent",
            "late_percent",
            "delay_ms",
            "server_cpu_percent",
            "server_event_loop_cpu_percent",
            "server_event_loop_waiting_for_cpu_percent",
            "machine_busy_percent",
            "server_socket_drops",
            "server_rss_kb",
            "setup_failed",
            "generator_send_lag_ms",
        )
        return [{k: f[k] for k in keep if k in f} for f in run]

    print(
        json.dumps(
            {
                "benchmark": "relay_media",
                "generator": args.generator,
                "path": "RTP generator -> dialtone relay (bridged forward call) -> RTP sink",
                "seconds_per_level": args.seconds,
                "runs": args.runs,
                "levels": levels,
                "max_bad_percent": 100 * MAX_BAD,
                "late_ms": args.late_ms,
                "relay_max_concurrent_calls": relay_best,
                "reference_max_concurrent_calls": reference_best,
                "relay_median": mine,
                "reference_median": ref,
                "reference_capped_at_highest_level": ref == levels[-1],
                "ratio_to_reference": round(mine / ref, 3) if ref else None,
                "server_cpu_percent_at_max": statistics.median(cpu) if cpu else None,
                "server_rss_kb_at_max": statistics.median(rss) if rss else None,
                "server_cpu_percent_per_call_at_max": (
                    round(statistics.median(cpu_per_call), 4) if cpu_per_call else None
                ),
                "server_kb_per_call_at_max": (
                    round(statistics.median(kb_per_call), 1) if kb_per_call else None
                ),
                "python_speed_ms_before_after": [speed_before, python_speed_ms()],
                "target_concurrent_calls": TARGET,
                "meets_target": mine >= TARGET,
                "relay_levels": [trim(run) for run in relay_detail],
                "reference_levels": [trim(run) for run in reference_detail],
                "profile": profile,
            }
        )
    )


if __name__ == "__main__":
    main()
