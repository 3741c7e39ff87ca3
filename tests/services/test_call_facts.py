"""The facts of one call setup, gathered in one session for the engine and the dry run
(issue 14, item 3): what each action reads, what makes the gathering fresh (never cached
whole), and the caller ID each action presents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.policy.checklist import Action, checks, verdict
from dialtone.policy.destinations import DestinationSettings
from dialtone.services import call_facts
from dialtone.services.billing import subscriptions
from dialtone.services.call_facts import OperatorPolicy, Setup
from dialtone.services.compliance import dnc
from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing, trunks, users

from .conftest import REALM, T0

OPERATOR = OperatorPolicy(DestinationSettings(), "FR")
OURS = "+33123456789"
NOW = T0 + timedelta(days=1)


@pytest.fixture
def alice(session: Session, account: str) -> str:
    numbers.add_number(session, account, OURS, now=T0)
    user = users.create_user(
        session, account, name="Alice", now=T0, extension="201", realm=REALM, channels=2
    )
    return user.id


def _gather(session: Session, setup: Setup) -> call_facts.Gathered:
    facts = call_facts.account_facts(session, setup.account_id, OPERATOR)
    return call_facts.gather(session, setup, facts, now=NOW)


def test_a_device_dialling_an_extension_reads_its_user_and_nothing_outside(
    session: Session, account: str, alice: str
) -> None:
    got = _gather(session, Setup(Action.DEVICE_CALL, account, "201", alice))
    assert got.callee is not None
    assert got.callee.id == alice
    assert (got.intent.is_extension, got.intent.e164, got.intent.plan) == (True, None, None)
    assert got.intent.channels == 2  # the user's own V2 override
    assert got.fresh  # a user's status is read fresh, as before
    assert [r.name for r in checks(Action.DEVICE_CALL, got.intent)] == ["concurrency"]


def test_a_device_dialling_an_outside_number_in_e164_is_cacheable(
    session: Session, account: str, alice: str
) -> None:
    dnc.import_csv(session, account, "+33612345678\n", now=T0)
    got = _gather(session, Setup(Action.DEVICE_CALL, account, "+33612345678", alice))
    intent = got.intent
    assert (intent.e164, intent.dnc_listed_by, intent.caller_id) == (
        "+33612345678",
        "account",
        OURS,  # V10's default: the account's first number (none is routed to alice)
    )
    assert not got.fresh  # no user, location or plan usage read: cached whole
    assert verdict(checks(Action.DEVICE_CALL, intent)).code == "dnc.listed"


def test_a_device_dialling_one_of_our_numbers_gets_its_route(
    session: Session, account: str, alice: str
) -> None:
    routing.set_route(session, account, OURS, kind="user", target=alice)
    got = _gather(session, Setup(Action.DEVICE_CALL, account, "0123456789", alice))
    assert got.route is not None
    assert got.route.number == OURS
    assert (got.intent.routed, got.intent.e164) == (True, OURS)
    assert [r.name for r in checks(Action.DEVICE_CALL, got.intent)] == [
        "concurrency",
        "dialling",
    ]


def test_an_emergency_call_reads_the_location_fresh_and_presents_a_held_number(
    session: Session, account: str, alice: str
) -> None:
    got = _gather(session, Setup(Action.DEVICE_CALL, account, "112", alice, "+15555550123"))
    assert got.fresh
    # A number the account does not hold is not presented: its own instead.
    assert got.intent.emergency_caller.caller_number == OURS
    assert verdict(checks(Action.DEVICE_CALL, got.intent)).code == "emergency.location_missing"
    users.set_emergency_location(
        session, account, alice, address="1 rue de Rivoli, Paris", country="FR",
        warning_acknowledged=True, now=T0,
    )  # fmt: skip
    again = _gather(session, Setup(Action.DEVICE_CALL, account, "112", alice))
    assert verdict(checks(Action.DEVICE_CALL, again.intent)).allowed


def test_the_plans_usage_is_read_for_a_plan_that_limits_calls(
    session: Session, account: str, alice: str
) -> None:
    subscriptions.subscribe(
        session, account, plan_code="prepaid", currency="EUR", country="FR", now=T0
    )
    got = _gather(session, Setup(Action.DEVICE_CALL, account, "+442071838750", alice))
    assert got.intent.plan is not None
    assert got.intent.plan.prepaid
    assert got.fresh  # usage and credits move with every call: never cached
    assert verdict(checks(Action.DEVICE_CALL, got.intent)).code == "billing.no_credit"


def test_a_transfer_presents_the_calls_number_when_it_may(
    session: Session, account: str, alice: str
) -> None:
    got = _gather(session, Setup(Action.TRANSFER, account, "0612345678", None, OURS))
    assert (got.intent.e164, got.intent.caller_id) == ("+33612345678", OURS)
    # A call to a number the account does not hold presents the account's first.
    other = _gather(session, Setup(Action.TRANSFER, account, "0612345678", None, "+3399"))
    assert other.intent.caller_id == OURS
    extension = _gather(session, Setup(Action.TRANSFER, account, "201", None, OURS))
    assert extension.callee is not None
    assert list(checks(Action.TRANSFER, extension.intent)) == []


def test_a_forward_needs_a_trunk(session: Session, account: str) -> None:
    got = _gather(session, Setup(Action.FORWARD, account, "+33612345678"))
    assert verdict(checks(Action.FORWARD, got.intent)).code == "route.inactive_endpoint"
    trunks.create_trunk(session, account_id=None, name="carrier", host="127.0.0.1", now=T0)
    got = _gather(session, Setup(Action.FORWARD, account, "+33612345678"))
    assert verdict(checks(Action.FORWARD, got.intent)).allowed
