"""Where a call to a number goes (its route), and ring groups.

A number's route is one of:

- ``greeting``: the number's greeting plays (the default);
- ``user``: the user's registered devices ring; no answer → voicemail;
- ``group``: a ring group rings (all at once, or one after another);
- ``forward``: the call is forwarded to an E.164 number (outside numbers are billed per
  minute by destination, TERMS V4);
- ``voicemail``: straight to a user's voicemail box;
- ``agent``: an AI agent answers (issue 17, TERMS A1): the target is the id of one of
  the account's agent profiles; ``voicemail_user_id``, when set, is the box the
  messages the agent takes go to.

A number with a ``voice_url`` (set over the Twilio-compatible API) runs that TwiML
instead of its route.

TERMS N10: a number is never forwarded to an inactive endpoint: a disabled user, a group
with nobody who can answer, a platform number nobody holds or held by an inactive
account. D1: a scheduler takes no calls. V5: no forwarding to a destination the account
may not call (premium-rate, high-cost, operator-blocked).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy import destinations
from dialtone.services.accounts import accounts
from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers
from dialtone.services.telephony.users import can_take_calls
from dialtone.store.agent_models import AgentProfileRow
from dialtone.store.models import Account, PhoneNumber, RingGroup, RingGroupMember, User

KINDS = ("greeting", "user", "group", "forward", "voicemail", "agent")
STRATEGIES = ("parallel", "sequential")
# Kinds that ring someone, for which no_answer_seconds and a voicemail box make sense.
RINGING_KINDS = ("user", "group", "forward")
MIN_RING_SECONDS = 5
MAX_RING_SECONDS = 300
MAX_GROUP_MEMBERS = 50


@dataclass(frozen=True)
class Route:
    """How the runtime handles a call to ``number`` (an E.164 the account holds).

    ``target``: a user id (user, voicemail), a ring-group id (group), an E.164 number
    (forward) or an agent profile id (agent); None for greeting. ``no_answer_seconds``
    None: the setting applies.
    ``voicemail_user_id``: whose box takes unanswered calls; None on a user route means
    that user's own box. ``greeting``: the number's greeting file, None for the default.
    """

    number: str
    account_id: str
    kind: str
    target: str | None
    no_answer_seconds: int | None
    voicemail_user_id: str | None
    greeting: str | None
    # The number's TwiML (the Twilio-compatible VoiceUrl): when set, it runs the call
    # instead of the route.
    voice: VoiceUrls | None = None


@dataclass(frozen=True, slots=True)
class VoiceUrls:
    """Where a number's TwiML comes from and where its calls' status goes (the
    IncomingPhoneNumbers fields)."""

    voice_url: str
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"


def _route(row: PhoneNumber) -> Route:
    voice = None
    if row.voice_url:
        voice = VoiceUrls(
            row.voice_url,
            row.voice_method,
            row.voice_fallback_url,
            row.voice_fallback_method,
            row.status_callback,
            row.status_callback_method,
        )
    return Route(
        number=row.number,
        account_id=row.account_id,
        kind=row.route_kind,
        target=row.route_target,
        no_answer_seconds=row.no_answer_seconds,
        voicemail_user_id=row.voicemail_user_id,
        greeting=row.greeting,
        voice=voice,
    )


def _invalid(message: str, rule: str | None = None) -> DialtoneError:
    return DialtoneError("route.invalid", message, rule=rule)


def _inactive(target: str) -> DialtoneError:
    return DialtoneError(
        "route.inactive_endpoint", f"{target} is not an active endpoint.", rule="N10"
    )


def _account_user(session: Session, account_id: str, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.account_id != account_id:
        raise _invalid(f"The account has no user {user_id}.")
    return user


def _check_ringable_user(session: Session, account_id: str, user_id: str) -> None:
    user = _account_user(session, account_id, user_id)
    if user.role == "scheduler":
        raise _invalid(f"User {user_id} is a scheduler, who takes no calls.", rule="D1")
    if not can_take_calls(user):
        raise _inactive(f"User {user_id}")


def _check_group(session: Session, account_id: str, group_id: str) -> None:
    group = session.get(RingGroup, group_id)
    if group is None or group.account_id != account_id:
        raise _invalid(f"The account has no ring group {group_id}.")
    if not group_members(session, group_id):
        raise _inactive(f"Ring group {group_id} (nobody in it can take calls)")


def _check_agent(session: Session, account_id: str, profile_id: str) -> None:
    # Read from the store, not services.agents: that domain sits above this one. A
    # profile of another account is refused as if it did not exist (nothing leaks).
    profile = session.get(AgentProfileRow, profile_id)
    if profile is None or profile.account_id != account_id:
        raise _invalid(f"The account has no agent {profile_id}.")


def _check_forward(
    session: Session,
    number: str,
    target: str,
    platform_prefixes: Collection[str],
    settings: destinations.DestinationSettings,
) -> str:
    try:
        e164 = numbers.to_e164(target)
    except DialtoneError as exc:
        raise _invalid(f"A forward target is an E.164 number: {exc.message}") from None
    if e164 == number:
        raise _invalid("A number cannot forward to itself.")
    allowed = destinations.destination(e164, settings)
    if allowed.refused:
        raise allowed.as_error()
    holder = session.scalar(select(PhoneNumber).where(PhoneNumber.number == e164))
    if holder is not None:
        account = session.get(Account, holder.account_id)
        if account is None or account.status != "active":
            raise _inactive(e164)
    elif any(e164.startswith(prefix) for prefix in platform_prefixes):
        # One of the platform's own numbers that nobody holds: nothing would answer.
        raise _inactive(e164)
    return e164


def get_route(session: Session, account_id: str, number: str) -> Route:
    """The route of one of the account's numbers (404 ``number.not_found``)."""
    return _route(numbers.get_number(session, account_id, number))


def set_route(
    session: Session,
    account_id: str,
    number: str,
    *,
    kind: str,
    target: str | None = None,
    no_answer_seconds: int | None = None,
    voicemail_user_id: str | None = None,
    platform_prefixes: Collection[str] = (),
    operator_destinations: destinations.DestinationSettings = destinations.DEFAULT,
) -> Route:
    """Route calls to one of the account's numbers.

    Targets must be the account's (``route.invalid``); a disabled user, an empty group
    or a forward to a platform number with no active holder is refused with
    ``route.inactive_endpoint`` (TERMS N10). ``platform_prefixes`` are E.164 prefixes of
    the operator's own number blocks: a forward into them must reach a held number.
    ``no_answer_seconds`` (5–300) and ``voicemail_user_id`` apply to ringing routes.
    A forward must be to a destination the account may call (TERMS V5: the operator's
    ``operator_destinations`` lists with the account's permissions).
    """
    row = numbers.get_number(session, account_id, number)
    if kind not in KINDS:
        raise _invalid(f"kind is one of {', '.join(KINDS)}.")
    if no_answer_seconds is not None:
        if kind not in RINGING_KINDS:
            raise _invalid("no_answer_seconds applies to user, group and forward routes.")
        if isinstance(no_answer_seconds, bool) or not (
            MIN_RING_SECONDS <= no_answer_seconds <= MAX_RING_SECONDS
        ):
            raise _invalid(
                f"no_answer_seconds is between {MIN_RING_SECONDS} and {MAX_RING_SECONDS}."
            )
    if kind == "greeting":
        if target is not None or voicemail_user_id is not None:
            raise _invalid("A greeting route takes no target and no voicemail box.")
    elif target is None:
        raise _invalid(f"A {kind} route needs a target.")
    elif kind == "user":
        _check_ringable_user(session, account_id, target)
    elif kind == "group":
        _check_group(session, account_id, target)
    elif kind == "agent":
        _check_agent(session, account_id, target)
    elif kind == "forward":
        allowed = accounts.destination_settings(
            accounts.get_account(session, account_id), operator_destinations
        )
        target = _check_forward(session, row.number, target, platform_prefixes, allowed)
    else:  # voicemail: the target is the user whose box takes every call
        _account_user(session, account_id, target)
        if voicemail_user_id not in (None, target):
            raise _invalid("A voicemail route's box is its target.")
        voicemail_user_id = target
    if voicemail_user_id is not None:
        _account_user(session, account_id, voicemail_user_id)
    row.route_kind = kind
    row.route_target = target
    row.no_answer_seconds = no_answer_seconds
    row.voicemail_user_id = voicemail_user_id
    session.flush()
    return _route(row)


def route_for(session: Session, dialed_e164: str) -> Route | None:
    """The route of the number an incoming INVITE dialled, or None when nobody holds it.

    Accepts what :func:`numbers.dialed_to_e164` accepts (``+33…``, ``0033…``, ``33…``).
    The runtime checks targets again at call time (a user may be disabled since).
    """
    row = numbers.find_holder(session, dialed_e164)
    # N6: a number deactivated for non-payment takes no calls (the caller gets 404); N3:
    # nor does one not activated yet.
    if row is None or row.deactivated_at is not None or row.activated_at is None:
        return None
    return _route(row)


def release_agent_routes(session: Session, account_id: str, profile_id: str) -> list[str]:
    """Numbers routed to the agent ``profile_id`` go back to the greeting (N10: a route
    never points at an endpoint that is gone); returns them, for the caller to say."""
    routed = list(
        session.scalars(
            select(PhoneNumber.number).where(
                PhoneNumber.account_id == account_id,
                PhoneNumber.route_kind == "agent",
                PhoneNumber.route_target == profile_id,
            )
        )
    )
    session.execute(
        update(PhoneNumber)
        .where(
            PhoneNumber.account_id == account_id,
            PhoneNumber.route_kind == "agent",
            PhoneNumber.route_target == profile_id,
        )
        .values(
            route_kind="greeting", route_target=None, no_answer_seconds=None, voicemail_user_id=None
        )
        .execution_options(synchronize_session="fetch")
    )
    return routed


def _reset_routes_to(session: Session, account_id: str, kind: str, target: str) -> None:
    # N10: a route must not point at an endpoint that is gone; the greeting is safe.
    session.execute(
        update(PhoneNumber)
        .where(
            PhoneNumber.account_id == account_id,
            PhoneNumber.route_kind == kind,
            PhoneNumber.route_target == target,
        )
        .values(route_kind="greeting", route_target=None, no_answer_seconds=None)
        .execution_options(synchronize_session="fetch")
    )


def _group_invalid(message: str, rule: str | None = None) -> DialtoneError:
    return DialtoneError("ring_group.invalid", message, rule=rule)


def create_ring_group(
    session: Session,
    account_id: str,
    *,
    name: str,
    strategy: str,
    member_seconds: int,
    user_ids: Sequence[str],
    now: datetime,
) -> RingGroup:
    """A ring group of the account's users, rung in the order given.

    ``strategy``: "parallel" (all at once) or "sequential" (each ``member_seconds``, 5–300,
    in turn). 1–50 distinct members; a scheduler cannot be one (TERMS D1).
    Raises 400 ``ring_group.invalid``.
    """
    name = (name or "").strip()
    if not 1 <= len(name) <= 200:
        raise _group_invalid("A ring group name has 1 to 200 characters.")
    if strategy not in STRATEGIES:
        raise _group_invalid(f"strategy is one of {', '.join(STRATEGIES)}.")
    if isinstance(member_seconds, bool) or not (
        MIN_RING_SECONDS <= member_seconds <= MAX_RING_SECONDS
    ):
        raise _group_invalid(
            f"member_seconds is between {MIN_RING_SECONDS} and {MAX_RING_SECONDS}."
        )
    if not 1 <= len(user_ids) <= MAX_GROUP_MEMBERS:
        raise _group_invalid(f"A ring group has 1 to {MAX_GROUP_MEMBERS} members.")
    if len(set(user_ids)) != len(user_ids):
        raise _group_invalid("A user appears twice in the ring group.")
    for user_id in user_ids:
        user = session.get(User, user_id)
        if user is None or user.account_id != account_id:
            raise _group_invalid(f"The account has no user {user_id}.")
        if user.role == "scheduler":
            raise _group_invalid(f"User {user_id} is a scheduler, who takes no calls.", "D1")
    group = RingGroup(
        id=new_id("RI"),
        account_id=account_id,
        name=name,
        strategy=strategy,
        member_seconds=member_seconds,
        created_at=now,
    )
    group.members = [
        RingGroupMember(group_id=group.id, user_id=user_id, position=position)
        for position, user_id in enumerate(user_ids)
    ]
    session.add(group)
    session.flush()
    return group


def list_ring_groups(session: Session, account_id: str) -> list[RingGroup]:
    """The account's ring groups, oldest first (members loaded, in order)."""
    return list(
        session.scalars(
            select(RingGroup)
            .where(RingGroup.account_id == account_id)
            .order_by(RingGroup.created_at, RingGroup.id)
        )
    )


def get_ring_group(session: Session, account_id: str, group_id: str) -> RingGroup:
    """One of the account's ring groups, ``members`` in ring order (404 otherwise)."""
    group = session.get(RingGroup, group_id)
    if group is None or group.account_id != account_id:
        raise NotFound("ring_group.not_found", f"The account has no ring group {group_id}.")
    return group


def delete_ring_group(session: Session, account_id: str, group_id: str) -> None:
    """Remove a ring group; numbers routed to it fall back to the greeting (N10)."""
    group = get_ring_group(session, account_id, group_id)
    _reset_routes_to(session, account_id, "group", group.id)
    session.delete(group)
    session.flush()


def group_members(session: Session, group_id: str) -> list[User]:
    """The users a call to the group rings, in order: those who can take calls (active,
    not schedulers, TERMS D1)."""
    users = session.scalars(
        select(User)
        .join(RingGroupMember, RingGroupMember.user_id == User.id)
        .where(RingGroupMember.group_id == group_id)
        .order_by(RingGroupMember.position)
    )
    return [user for user in users if can_take_calls(user)]


def numbers_routed_to(session: Session, user_id: str) -> list[str]:
    """The numbers whose route rings ``user_id``: the caller ID a user's outbound calls
    show by default (TERMS V10: a number the account holds)."""
    rows = session.scalars(
        select(PhoneNumber.number)
        .where(PhoneNumber.route_kind == "user", PhoneNumber.route_target == user_id)
        .order_by(PhoneNumber.number)
    )
    return list(rows)
