"""The SMS benchmark's accounting (``benchmarks/sms_throughput.py``): what the simulator's
log says reached it, and the figures of a run from that and the clients' counts. The
benchmark itself is not run here (``make bench`` runs it)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sms_throughput.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sms_throughput", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sms_throughput"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _submit(text: str, at: float, status: int = 0) -> str:
    entry = {
        "command": "submit_sm",
        "short_message": text.encode("latin-1").hex(),
        "time": at,
        "answer": {"status": status},
    }
    return json.dumps(entry, separators=(",", ":"), sort_keys=True)


def test_the_log_gives_each_accepted_text_its_receive_times(
    bench: ModuleType, tmp_path: Path
) -> None:
    log = tmp_path / "smsc.jsonl"
    lines = [
        _submit("d0 1", 10.0),
        '{"command":"deliver_sm_resp","time":10.5}',
        _submit("d0 2", 10.2, status=0x58),  # throttled: not taken
        _submit("d0 1", 11.0),  # sent twice
        '{"command":"submit_sm","short_m',  # half written as it was read
    ]
    log.write_text("\n".join(lines))
    assert bench.smsc_submits(log) == {"d0 1": [10.0, 11.0]}
    assert bench.smsc_submits(tmp_path / "absent.jsonl") == {}


def _load(bench: ModuleType, acknowledged: list[str], in_window: int) -> object:
    load = bench.Load(tag="d0", seconds=2.0, started=100.0)
    load.acknowledged = acknowledged
    load.acknowledged_in_window = in_window
    load.receipts = len(acknowledged) - 1
    load.receipts_in_window = 2
    return load


def test_a_run_that_forwards_everything_in_time(bench: ModuleType) -> None:
    load = _load(bench, ["d0 0", "d0 1", "d0 2", "d0 3"], 4)
    reached = {f"d0 {n}": [100.0 + n * 0.5] for n in range(4)} | {"r0 0": [100.1]}
    got = bench.figures(load, reached)
    assert (got.acknowledged_per_s, got.reaching_smsc_per_s, got.end_to_end_per_s) == (
        2.0,
        2.0,
        2.0,
    )
    assert (got.lost, got.duplicates, got.receipts_missing, got.receipts_per_s) == (0, 0, 1, 1.0)
    assert got.last_reached_after_s == 1.5


def test_a_backlog_is_measured_at_the_forwarding_rate(bench: ModuleType) -> None:
    # Four acknowledged within 2 s, the last reaching the SMSC 8 s after the start.
    load = _load(bench, ["d0 0", "d0 1", "d0 2", "d0 3"], 4)
    reached = {"d0 0": [100.5], "d0 1": [101.0], "d0 2": [105.0], "d0 3": [108.0, 108.1]}
    got = bench.figures(load, reached)
    assert got.acknowledged_per_s == 2.0
    assert got.reaching_smsc_per_s == 1.0
    assert got.end_to_end_per_s == 0.5
    assert (got.lost, got.duplicates) == (0, 1)


def test_an_acknowledged_text_the_smsc_never_saw_is_lost(bench: ModuleType) -> None:
    # The answer after the window counts as acknowledged, not in the rate.
    load = _load(bench, ["d0 0", "d0 1", "d0 2"], 2)
    got = bench.figures(load, {"d0 0": [100.2], "d0 2": [102.5]})
    assert got.lost == 1
    assert got.acknowledged == 3
    assert got.end_to_end_per_s == 0.5  # one of the two in the window reached it


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.99, 7.0),
        ([3.0, 1.0, 2.0], 0.5, 2.0),
        ([float(n) for n in range(1, 101)], 0.99, 99.0),
        ([float(n) for n in range(1, 101)], 0.50, 50.0),
        ([float(n) for n in range(1, 101)], 1.0, 100.0),
    ],
)
def test_percentile_by_nearest_rank(
    bench: ModuleType, values: list[float], share: float, expected: float | None
) -> None:
    assert bench.percentile(values, share) == expected
