"""A REFER to a number meets the checks of a direct call of the account (issue 14, item
3): a transfer out of a call whose account was suspended once the call was set up (B10),
and to a callee outside a telemarketing account's calling hours (V12), are refused with
the same codes as the direct call, in the transferor's NOTIFY and on the audit log; the
call goes on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dialtone.policy.telemarketing import calling_window
from dialtone.store.db import open_database, transaction
from dialtone.store.models import Account

from . import sippgen
from .conftest import (
    Platform,
    add_trunk,
    calls,
    cli,
    free_port,
    require_sipp,
    serving,
)
from .test_call_engine import PASSWORD, Sipp, registered_phone, route, run, wait_for

pytestmark = pytest.mark.interop

ANSWERED_WITHIN = 15.0


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform with an account, its number routed to alice (201), bob (202), and a
    carrier trunk that would carry any call out (only the terms stop one)."""
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"), ("bob", "202")),
        password=PASSWORD,
        ring_seconds="0.2",
        digest_algorithms="MD5",
    ) as running:
        add_trunk(running, free_port(), 10, "carrier-a")
        yield running


def _answered(tmp: Path, name: str) -> bool:
    """Whether the sipp ``name`` (a phone) has had the ACK of its 200 (-trace_msg)."""
    log = tmp / f"{name}.msg.log"
    return log.exists() and "ACK sip:" in log.read_text(errors="replace")


def _refused(platform: Platform) -> list[tuple[str, str, str]]:
    with platform.http() as http:
        events: list[dict[str, Any]] = http.get("/v1/audit").json()["events"]
    return [(e["action"], e["rule"], e["code"]) for e in events if e["outcome"] == "refused"]


def _transfer_refused(
    platform: Platform, tmp: Path, target: str, expected: str, *, then: Any = None
) -> None:
    """A caller from outside reaches alice on the account's number, then REFERs her to
    ``target``; ``then`` runs once alice has answered, before the REFER (3 s later). The
    NOTIFY must carry ``expected`` ("403 code"); the call goes on and the caller hangs up."""
    alice = registered_phone(platform, tmp, "alice", sippgen.phone(), timeout=40)
    route(platform, platform.number, kind="user", target=platform.extra["alice"])
    caller = Sipp(
        platform,
        tmp,
        "transferor",
        sippgen.call(
            platform.number[1:], refer_to=target, refer_after_ms=3000, refer_refused=expected
        ),
        timeout=40,
    )
    deadline = time.monotonic() + ANSWERED_WITHIN
    while not _answered(tmp, "alice"):
        assert time.monotonic() < deadline, "alice never answered"
        assert caller.process.poll() is None, "the caller ended before the transfer"
        time.sleep(0.05)
    if then is not None:
        then()
    caller.wait(platform)
    alice.wait(platform)
    # Nothing was transferred: the call's legs are the caller's (taken for the carrier
    # trunk's, from the same address) and alice's device, no third.
    [call] = wait_for(lambda: [c for c in calls(platform) if c["direction"] == "inbound"])
    assert [leg["kind"] for leg in call["legs"]][1:] == ["device"], call["legs"]
    assert call["legs"][1]["id"] == platform.extra["alice"]


def _direct_call_refused(platform: Platform, tmp: Path, target: str, code: str) -> None:
    run(
        platform,
        tmp,
        "direct",
        sippgen.call(
            target, from_user="bob", auth=True, expect=403, expect_header=("Reason", code)
        ),
        user="bob",
    )


def test_a_transfer_out_of_a_call_whose_account_was_suspended_is_refused_as_a_call(
    platform: Platform, tmp_path: Path
) -> None:
    # B10: the account is suspended for unpaid invoices while the call is up (straight
    # on the server's database, as the collections job does). The REFER to an outside
    # number is refused with billing.suspended, like bob's own call to it.
    target = "+442071838750"
    _, sessions = open_database(f"sqlite:///{platform.data_dir / 'dialtone.db'}")

    def suspend() -> None:
        with transaction(sessions) as session:
            account = session.get(Account, platform.account_id)
            assert account is not None
            account.billing_suspended_at = datetime.now(UTC)
        time.sleep(1.2)  # the engine's look-up cache (lookup_cache_seconds) lets go

    _transfer_refused(platform, tmp_path, target, "403 billing.suspended", then=suspend)
    _direct_call_refused(platform, tmp_path, target, "billing.suspended")
    assert _refused(platform) == [
        ("call.outbound", "B10", "billing.suspended"),
        ("call.transfer", "B10", "billing.suspended"),
    ]


def test_a_transfer_to_a_callee_outside_calling_hours_is_refused_as_a_call(
    platform: Platform, tmp_path: Path
) -> None:
    # V12: a telemarketing account transfers to whichever preset country's number is
    # outside its calling hours right now (see test_call_engine's direct call).
    candidates = ["+33612345678", "+18085550100", "+14155550100", "+442071838750"]
    closed = [n for n in candidates if calling_window(n, datetime.now(UTC)).refused]
    if not closed:
        pytest.skip("every preset country is inside its calling hours at this minute")
    cli(platform.env, "accounts", "set", "--account", platform.account_id, "--telemarketing")
    time.sleep(1.2)  # the engine's look-up cache (lookup_cache_seconds) lets go
    _transfer_refused(platform, tmp_path, closed[0], "403 calling_window.closed")
    _direct_call_refused(platform, tmp_path, closed[0], "calling_window.closed")
    assert _refused(platform) == [
        ("call.outbound", "V12", "calling_window.closed"),
        ("call.transfer", "V12", "calling_window.closed"),
    ]
