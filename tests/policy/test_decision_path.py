"""One decision path (issue 14, item 3): for random facts and every action, the dry
run's verdict (every check evaluated, the first refusal) is what the engine does (its
own ``setup_outcome``, which stops at the first refusal), with the same code, rule and
SIP/HTTP status; and a transfer to a number is refused exactly as a direct call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.policy.billing import PlanUsage
from dialtone.policy.checklist import Action, CallIntent, CheckResult, checks, verdict
from dialtone.policy.destinations import DestinationSettings, read_dialled
from dialtone.policy.emergency import EmergencyCaller, is_emergency_number
from dialtone.policy.fraud import AbuseState
from dialtone.runtime import setup_decision
from dialtone.runtime.setup_decision import setup_outcome

HELD = ("+33123456789", "+33987654321", "+14155550100")
DIALLED = (
    "",
    "201",
    "112",
    "911",
    "15",
    "311",
    "0",
    "3949",
    "2901",
    "0612345678",
    "0899123456",
    "+33612345678",
    "+33123456789",
    "+33891234567",
    "+19005550123",
    "+442071838750",
    "+8812",
    "+18085550100",
    "2125551234",
    "abc",
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=365 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))


@st.composite
def facts(draw: st.DrawFn) -> CallIntent:
    country = draw(st.sampled_from(("FR", "US", "GB")))
    dialed = draw(st.sampled_from(DIALLED))
    # Mostly what the account's plan reads, sometimes any number (the facts are random).
    e164 = draw(
        st.one_of(
            st.just(read_dialled(dialed, country) if dialed else None),
            st.sampled_from((None, "+33612345678", "+19005550123", "3949")),
        )
    )
    now = draw(st.one_of(st.none(), moments))
    plan = draw(
        st.one_of(
            st.none(),
            st.builds(
                PlanUsage,
                trial=st.booleans(),
                smart=st.booleans(),
                prepaid=st.booleans(),
                minutes_used=st.integers(0, 80),
                contacts_this_month=st.integers(490, 510),
                known_contact=st.booleans(),
                included=st.booleans(),
                credits=st.sampled_from((Decimal(0), Decimal("0.01"), Decimal(5))),
            ),
        )
    )
    return CallIntent(
        dialed=dialed,
        e164=e164,
        is_extension=draw(st.booleans()),
        country=country,
        destinations=DestinationSettings(
            premium_rate_allowed=draw(st.booleans()),
            high_cost_allowed=draw(st.booleans()),
            denied_prefixes=draw(st.sampled_from(((), ("+4420",), ("+33",)))),
        ),
        active_calls=draw(st.integers(0, 3)),
        channels=draw(st.integers(1, 2)),
        caller_id=draw(st.sampled_from((None, *HELD, "+15555550123"))),
        held_numbers=draw(st.sampled_from((HELD, HELD[:1], ()))),
        emergency_caller=EmergencyCaller(
            location_country=draw(st.sampled_from((None, "FR", "US", "DE"))),
            warning_acknowledged=draw(st.booleans()),
            caller_number=draw(st.sampled_from((None, *HELD))),
        ),
        dnc_listed_by=draw(st.sampled_from((None, "account", "bloctel"))),
        telemarketing=draw(st.booleans()),
        now=now,
        abuse=draw(
            st.sampled_from(
                (
                    AbuseState(),
                    AbuseState(suspended_at=T0),
                    AbuseState(suspended_at=T0, remedied=True),
                    AbuseState(suspended_at=T0, terminated_at=T0 + timedelta(days=7)),
                )
            )
        ),
        inbound_only_numbers=draw(st.sampled_from(((), HELD[1:2]))),
        billing_suspended_at=draw(st.one_of(st.none(), st.just(T0))),
        routed=draw(st.booleans()),
        plan=plan,
        trunks_available=draw(st.booleans()),
    )


@settings(max_examples=600, deadline=None)
@given(intent=facts(), action=st.sampled_from(list(Action)))
def test_the_dry_runs_verdict_is_what_the_engine_does(intent: CallIntent, action: Action) -> None:
    dry = list(checks(action, intent))  # the dry run: every check evaluated
    first = verdict(dry)
    done = setup_outcome(action, intent)  # the engine: stops at the first refusal
    if first.allowed:
        assert done.refusal is None
        names = [r.name for r in dry]
        assert (done.go == "emergency") == ("emergency" in names)
        if action is Action.DEVICE_CALL and done.go == "trunks":
            # An outside call goes out only once V5 and V10 were both checked.
            assert {"number", "caller_id"} <= set(names)
        return
    assert done.refusal is not None
    assert done.refusal.decision == first
    assert done.refusal in dry
    assert done.sip_status() == first.sip_status()
    assert done.refusal.decision.as_error().status == first.http_status()


@settings(max_examples=400, deadline=None)
@given(intent=facts())
def test_a_transfer_to_a_number_is_refused_as_the_direct_call_would_be(
    intent: CallIntent,
) -> None:
    # Where nothing but a device's own call is concerned (its one call per user, an
    # emergency number, an extension or one of our numbers), a REFER's target meets the
    # same checks in the same order as the account's direct call, with the same code.
    if intent.dialed == "" or is_emergency_number(intent.dialed, intent.country):
        return
    direct = replace(intent, is_extension=False, routed=False, active_calls=0, channels=1)
    transfer = setup_outcome(Action.TRANSFER, direct)
    call = setup_outcome(Action.DEVICE_CALL, direct)
    assert (transfer.refusal is None) == (call.refusal is None)
    if transfer.refusal is not None and call.refusal is not None:
        assert transfer.refusal.decision == call.refusal.decision
        assert transfer.sip_status() == call.sip_status()
        assert transfer.audit_action == "call.transfer"


def test_the_engine_evaluates_nothing_after_the_first_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The engine consumes the same generator lazily: a refusal at V2 leaves V6 onwards
    # undecided (the dry run decides them all).
    seen: list[str] = []

    def spying(action: Action, intent: CallIntent) -> Iterator[CheckResult]:
        for result in checks(action, intent):
            seen.append(result.name)
            yield result

    intent = CallIntent(
        dialed="+33612345678",
        e164="+33612345678",
        is_extension=False,
        country="FR",
        destinations=DestinationSettings(),
        active_calls=1,
        channels=1,
        caller_id=None,
        held_numbers=(),
    )
    monkeypatch.setattr(setup_decision, "checks", spying)
    done = setup_outcome(Action.DEVICE_CALL, intent)
    assert done.refusal is not None
    assert done.refusal.decision.code == "concurrency.user_limit"
    assert seen == ["concurrency"]
    assert [r.name for r in checks(Action.DEVICE_CALL, intent)][-1] == "caller_id"
