"""The collector tuning ``serve`` applies once started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from dialtone.runtime.heap import YOUNG_GENERATION, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_the_young_generation_grows() -> None:
    keep = [object() for _ in range(10)]  # noqa: F841 - alive when frozen
    frozen = tune_collector()
    assert frozen == gc.get_freeze_count() > 1000
    assert gc.get_threshold()[0] == YOUNG_GENERATION
    assert gc.get_threshold()[1:] == (10, 10)
    # Frozen objects are still freed by reference counting, and new cycles still collected.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
