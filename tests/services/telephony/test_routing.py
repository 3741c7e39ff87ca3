"""Number routes (N10 never to an inactive endpoint, D1, V5) and ring groups."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy import destinations
from dialtone.services.accounts import accounts
from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing, users
from dialtone.store.models import RingGroup, User

from ..conftest import REALM, T0

NUMBER = "+33123456789"


def _user(session: Session, account: str, name: str = "Alice", **kwargs: Any) -> User:
    return users.create_user(session, account, name=name, now=T0, realm=REALM, **kwargs)


def _group(session: Session, account: str, user_ids: list[str], **kwargs: Any) -> RingGroup:
    kwargs.setdefault("name", "Sales")
    kwargs.setdefault("strategy", "sequential")
    kwargs.setdefault("member_seconds", 20)
    return routing.create_ring_group(session, account, user_ids=user_ids, now=T0, **kwargs)


@pytest.fixture
def number(session: Session, account: str) -> str:
    return numbers.add_number(session, account, NUMBER, now=T0).number


def _refusal(session: Session, account: str, **kwargs: Any) -> tuple[str, str | None, int]:
    with pytest.raises(DialtoneError) as info:
        routing.set_route(session, account, NUMBER, **kwargs)
    return info.value.code, info.value.rule, info.value.status


def test_default_route_is_the_greeting(session: Session, account: str, number: str) -> None:
    route = routing.get_route(session, account, number)
    assert route == routing.Route(
        number=NUMBER,
        account_id=account,
        kind="greeting",
        target=None,
        no_answer_seconds=None,
        voicemail_user_id=None,
        greeting=None,
    )


def test_user_route(session: Session, account: str, number: str) -> None:
    alice = _user(session, account)
    route = routing.set_route(
        session, account, number, kind="user", target=alice.id, no_answer_seconds=25
    )
    assert (route.kind, route.target, route.no_answer_seconds) == ("user", alice.id, 25)
    assert route.voicemail_user_id is None  # the runtime uses alice's own box
    assert routing.route_for(session, NUMBER) == route


@pytest.mark.parametrize("dialed", [NUMBER, "33123456789", "0033123456789", "+33 1 23 45 67 89"])
def test_route_for_accepts_dialled_forms(
    session: Session, account: str, number: str, dialed: str
) -> None:
    route = routing.route_for(session, dialed)
    assert route is not None
    assert route.number == NUMBER


@pytest.mark.parametrize("dialed", ["+33987654321", "", "abc", "+"])
def test_route_for_unheld_is_none(session: Session, number: str, dialed: str) -> None:
    assert routing.route_for(session, dialed) is None


@pytest.mark.parametrize(("seconds", "ok"), [(4, False), (5, True), (300, True), (301, False)])
def test_no_answer_seconds_bounds(
    session: Session, account: str, number: str, seconds: int, ok: bool
) -> None:
    alice = _user(session, account)
    kwargs: dict[str, Any] = {"kind": "user", "target": alice.id, "no_answer_seconds": seconds}
    if ok:
        assert routing.set_route(session, account, number, **kwargs).no_answer_seconds == seconds
    else:
        assert _refusal(session, account, **kwargs) == ("route.invalid", None, 400)


def test_targets_must_be_the_accounts(
    session: Session, account: str, other_account: str, number: str
) -> None:
    stranger = _user(session, other_account, "Mallory")
    their_group = _group(session, other_account, [stranger.id])
    assert _refusal(session, account, kind="user", target=stranger.id)[0] == "route.invalid"
    assert _refusal(session, account, kind="group", target=their_group.id)[0] == "route.invalid"
    assert _refusal(session, account, kind="voicemail", target=stranger.id)[0] == "route.invalid"
    alice = _user(session, account)
    refused = _refusal(
        session, account, kind="user", target=alice.id, voicemail_user_id=stranger.id
    )
    assert refused[0] == "route.invalid"


def test_another_accounts_number_is_not_found(
    session: Session, other_account: str, number: str
) -> None:
    with pytest.raises(DialtoneError) as info:
        routing.set_route(session, other_account, number, kind="greeting")
    assert (info.value.code, info.value.status) == ("number.not_found", 404)


def test_n10_never_to_a_disabled_user(session: Session, account: str, number: str) -> None:
    alice = _user(session, account)
    users.update_user(session, account, alice.id, status="disabled")
    assert _refusal(session, account, kind="user", target=alice.id) == (
        "route.inactive_endpoint",
        "N10",
        400,
    )


def test_d1_a_scheduler_takes_no_calls(session: Session, account: str, number: str) -> None:
    planner = _user(session, account, role="scheduler")
    assert _refusal(session, account, kind="user", target=planner.id) == (
        "route.invalid",
        "D1",
        400,
    )


def test_n10_never_to_a_group_nobody_can_answer(
    session: Session, account: str, number: str
) -> None:
    alice = _user(session, account)
    group = _group(session, account, [alice.id])
    assert routing.set_route(session, account, number, kind="group", target=group.id).kind == (
        "group"
    )
    users.update_user(session, account, alice.id, status="disabled")
    assert _refusal(session, account, kind="group", target=group.id)[:2] == (
        "route.inactive_endpoint",
        "N10",
    )


@pytest.mark.parametrize(
    ("target", "code", "rule"),
    [
        ("not a number", "route.invalid", None),
        ("0612345678", "route.invalid", None),  # national form: not E.164
        (NUMBER, "route.invalid", None),  # itself
        ("+33891234567", "destination.premium_rate", "V5"),  # premium rate
        ("+19005550123", "destination.premium_rate", "V5"),
    ],
)
@pytest.mark.usefixtures("number")
def test_forward_target_checks(
    session: Session, account: str, target: str, code: str, rule: str | None
) -> None:
    assert _refusal(session, account, kind="forward", target=target)[:2] == (code, rule)


def test_forward_to_outside_and_held_numbers(
    session: Session, account: str, other_account: str, number: str
) -> None:
    route = routing.set_route(session, account, number, kind="forward", target="+44 20 7946 0958")
    assert route.target == "+442079460958"  # normalised (V4: billed per minute)
    numbers.add_number(session, other_account, "+33198765432", now=T0)
    assert routing.set_route(session, account, number, kind="forward", target="+33198765432")
    accounts.get_account(session, other_account).status = "suspended"
    assert _refusal(session, account, kind="forward", target="+33198765432")[:2] == (
        "route.inactive_endpoint",
        "N10",
    )


def test_n10_forward_into_the_platforms_block_needs_a_holder(
    session: Session, account: str, number: str
) -> None:
    with pytest.raises(DialtoneError) as info:
        routing.set_route(
            session,
            account,
            number,
            kind="forward",
            target="+33123450000",
            platform_prefixes=("+3312345",),
        )
    assert (info.value.code, info.value.rule) == ("route.inactive_endpoint", "N10")
    route = routing.set_route(
        session,
        account,
        number,
        kind="forward",
        target="+33612345678",
        platform_prefixes=("+3312345",),
    )
    assert route.target == "+33612345678"


def test_voicemail_route_box_is_its_target(session: Session, account: str, number: str) -> None:
    alice, bob = _user(session, account), _user(session, account, "Bob")
    route = routing.set_route(session, account, number, kind="voicemail", target=alice.id)
    assert route.voicemail_user_id == alice.id
    refused = _refusal(
        session, account, kind="voicemail", target=alice.id, voicemail_user_id=bob.id
    )
    assert refused[0] == "route.invalid"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "nowhere"},
        {"kind": "greeting", "target": "US1"},
        {"kind": "greeting", "no_answer_seconds": 20},
        {"kind": "user"},
        {"kind": "forward"},
    ],
)
def test_malformed_routes(
    session: Session, account: str, number: str, kwargs: dict[str, Any]
) -> None:
    assert _refusal(session, account, **kwargs)[0] == "route.invalid"


def test_back_to_greeting_clears_everything(session: Session, account: str, number: str) -> None:
    alice = _user(session, account)
    routing.set_route(session, account, number, kind="user", target=alice.id, no_answer_seconds=9)
    route = routing.set_route(session, account, number, kind="greeting")
    assert (route.target, route.no_answer_seconds, route.voicemail_user_id) == (None, None, None)


# ring groups


@pytest.mark.parametrize(
    ("kwargs", "ok"),
    [
        ({"member_seconds": 4}, False),
        ({"member_seconds": 5}, True),
        ({"member_seconds": 300}, True),
        ({"member_seconds": 301}, False),
        ({"strategy": "parallel"}, True),
        ({"strategy": "random"}, False),
        ({"name": ""}, False),
    ],
)
def test_ring_group_validation(
    session: Session, account: str, kwargs: dict[str, Any], ok: bool
) -> None:
    alice = _user(session, account)
    if ok:
        assert _group(session, account, [alice.id], **kwargs).id.startswith("RI")
    else:
        with pytest.raises(DialtoneError) as info:
            _group(session, account, [alice.id], **kwargs)
        assert info.value.code == "ring_group.invalid"


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (50, True), (51, False)])
def test_ring_group_size(session: Session, account: str, size: int, ok: bool) -> None:
    members = [_user(session, account, f"U{i}").id for i in range(size)]
    if ok:
        assert len(_group(session, account, members).members) == size
    else:
        with pytest.raises(DialtoneError) as info:
            _group(session, account, members)
        assert info.value.code == "ring_group.invalid"


def test_ring_group_members_checks(session: Session, account: str, other_account: str) -> None:
    alice = _user(session, account)
    planner = _user(session, account, "Planner", role="scheduler")
    stranger = _user(session, other_account, "Mallory")
    for ids, rule in [([alice.id, alice.id], None), ([planner.id], "D1"), ([stranger.id], None)]:
        with pytest.raises(DialtoneError) as info:
            _group(session, account, ids)
        assert (info.value.code, info.value.rule) == ("ring_group.invalid", rule)


def test_group_members_in_order_and_only_those_who_can_answer(
    session: Session, account: str
) -> None:
    a, b, c = (_user(session, account, n) for n in ("A", "B", "C"))
    group = _group(session, account, [c.id, a.id, b.id])
    assert [m.user_id for m in routing.get_ring_group(session, account, group.id).members] == [
        c.id,
        a.id,
        b.id,
    ]
    users.update_user(session, account, a.id, status="disabled")
    users.update_user(session, account, b.id, role="scheduler")
    assert routing.group_members(session, group.id) == [c]


def test_ring_groups_are_per_account(session: Session, account: str, other_account: str) -> None:
    alice = _user(session, account)
    group = _group(session, account, [alice.id])
    assert routing.list_ring_groups(session, account) == [group]
    assert routing.list_ring_groups(session, other_account) == []
    for call in (
        lambda: routing.get_ring_group(session, other_account, group.id),
        lambda: routing.delete_ring_group(session, other_account, group.id),
    ):
        with pytest.raises(DialtoneError) as info:
            call()
        assert (info.value.code, info.value.status) == ("ring_group.not_found", 404)


def test_deleting_a_group_resets_its_routes(session: Session, account: str, number: str) -> None:
    alice = _user(session, account)
    group = _group(session, account, [alice.id])
    routing.set_route(session, account, number, kind="group", target=group.id)
    routing.delete_ring_group(session, account, group.id)
    assert routing.get_route(session, account, number).kind == "greeting"
    assert routing.list_ring_groups(session, account) == []


@pytest.mark.parametrize(
    ("target", "permissions", "operator", "code"),
    [
        # V5 at route time: the account's permissions and the operator's lists apply.
        ("+33891234567", {}, {}, "destination.premium_rate"),
        ("+33891234567", {"premium_rate_allowed": True}, {}, None),
        ("+881612345678", {}, {}, "destination.high_cost"),
        ("+881612345678", {"high_cost_allowed": True}, {}, None),
        ("+447400123456", {}, {"denied_prefixes": ("+447",)}, "destination.denied"),
        (
            "+447400123456",
            {"premium_rate_allowed": True, "high_cost_allowed": True},
            {"denied_prefixes": ("+447",)},
            "destination.denied",
        ),
        ("+33891234567", {}, {"allowed_prefixes": ("+33891",)}, None),
    ],
)
@pytest.mark.usefixtures("number")
def test_v5_forward_targets_follow_account_permissions_and_operator_lists(
    *,
    session: Session,
    account: str,
    target: str,
    permissions: dict[str, bool],
    operator: dict[str, tuple[str, ...]],
    code: str | None,
) -> None:
    accounts.set_destination_options(session, account, **permissions)
    lists = destinations.DestinationSettings(**operator)  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {
        "kind": "forward",
        "target": target,
        "operator_destinations": lists,
    }
    if code is None:
        assert routing.set_route(session, account, NUMBER, **kwargs).target == target
    else:
        assert _refusal(session, account, **kwargs) == (code, "V5", 403)
