"""Number portability (TERMS N2, N4, N5): port-in as a state machine, port-out as a
decision.

Port-in (N4) goes draft → submitted → scheduled → completed, or ends cancelled or
rejected. Each step is a pure function from the current ``PortIn`` to the next one, or
to a refusal ``Decision``; the service stores whichever value comes back.

- The request starts (``submit``) only with the full list of numbers and every document
  in: an incomplete file blocks it.
- Port-ins run Monday to Friday inside the carriers' technical window. The terms give
  no hours (the carriers impose them and the customer is told beforehand), so
  ``TECHNICAL_WINDOW`` is a setting; its default, 08:00–12:00 in the carriers' local
  time, is a four-hour morning slot, the longest service interruption ARCEP allows on a
  fixed number's port day (décision n° 2009-0637). A date outside the window is taken
  only when the customer accepts the extra fee, and the fee is recorded on the value.
- The customer may cancel before the effective date (any day before it, not on it).
- Completing the port ends the previous line (``previous_line_ended``), which the
  losing carrier does: the value records that it happened.

Port-out (N5, with N2): the new operator asks at least ``PORT_OUT_NOTICE_DAYS`` (30)
calendar days before the end of the subscription period, never after termination; the
customer must have proved a local address when the number was activated; a number bought
from the platform ports out only where the operator allows it (TERMS "Portability"
decision: allowed by default, forbidden in the DP preset).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Literal

from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.telemarketing import WEEKDAYS, Window

PortState = Literal["draft", "submitted", "scheduled", "completed", "cancelled", "rejected"]

# What a port-in file holds besides the numbers: the customer's signed mandate (letter
# of authorisation), a recent bill of the losing carrier for the lines, and the identity
# of the signatory. Operators pass their own list.
PORT_IN_DOCUMENTS = frozenset({"mandate", "carrier_bill", "identity"})
TECHNICAL_WINDOW = Window(WEEKDAYS, time(8), time(12))
PORT_OUT_NOTICE_DAYS = 30
# TERMS "Portability (N2 vs N5)": numbers bought from the platform may port out unless
# the operator forbids it (the DP preset passes False).
PLATFORM_NUMBERS_PORT_OUT = True


@dataclass(frozen=True, slots=True)
class PortIn:
    """A port-in request: the numbers, the documents received, where it stands and what
    it has recorded (``effective_at`` in the carriers' local time; ``closed_at``: when
    it completed, was cancelled or rejected)."""

    numbers: tuple[str, ...] = ()
    documents: frozenset[str] = frozenset()
    state: PortState = "draft"
    submitted_at: datetime | None = None
    effective_at: datetime | None = None
    out_of_window_fee: bool = False
    previous_line_ended: bool = False
    closed_at: datetime | None = None
    rejection: str | None = None


def _wrong_state(port: PortIn, step: str) -> Decision:
    return refuse(
        "port_in.wrong_state",
        f"a {port.state} port-in cannot be {step}",
        state=port.state,
        step=step,
    )


def submit(
    port: PortIn, *, now: datetime, required: Collection[str] = PORT_IN_DOCUMENTS
) -> PortIn | Decision:
    """TERMS N4: start the request, only with at least one number and every document of
    ``required`` in (an incomplete file blocks the port-in)."""
    if port.state != "draft":
        return _wrong_state(port, "submitted")
    missing = tuple(sorted(set(required) - port.documents))
    if not port.numbers or missing:
        what = [*(["the numbers to port"] if not port.numbers else []), *missing]
        return refuse(
            "port_in.incomplete",
            f"the port-in file is incomplete: {', '.join(what)} missing",
            numbers=len(port.numbers),
            missing_documents=missing,
        )
    return replace(port, state="submitted", submitted_at=now)


def schedule(
    port: PortIn,
    effective_at: datetime,
    *,
    now: datetime,
    accept_fee: bool = False,
    window: Window = TECHNICAL_WINDOW,
) -> PortIn | Decision:
    """TERMS N4: set (or move, before it comes) the effective date and time, given in
    the carriers' local time. Inside ``window`` it is free; outside it only when the
    customer accepts the extra fee, which the returned value records."""
    if port.state not in ("submitted", "scheduled"):
        return _wrong_state(port, "scheduled")
    if _date_has_come(port, now):
        return refuse(
            "port_in.wrong_state",
            "the port-in's effective date has come: it can no longer be moved",
            state=port.state,
            step="scheduled",
        )
    if effective_at <= now:
        return refuse("request.invalid", "the effective date must be in the future")
    inside = window.contains(effective_at)
    if not inside and not accept_fee:
        return refuse(
            "port_in.outside_window",
            f"{effective_at:%a %Y-%m-%d %H:%M} is outside the carriers' window "
            f"({window.describe()}): accept the extra fee or pick a time inside it",
            effective_at=effective_at.isoformat(),
            window=window.describe(),
        )
    return replace(port, state="scheduled", effective_at=effective_at, out_of_window_fee=not inside)


def _date_has_come(port: PortIn, now: datetime) -> bool:
    """Whether ``now`` is on or after the effective date, in the carriers' calendar (the
    effective time's zone): from that day on the carriers are moving the number."""
    effective = port.effective_at
    if effective is None:
        return False
    if now.tzinfo is not None and effective.tzinfo is not None:
        now = now.astimezone(effective.tzinfo)
    return now.date() >= effective.date()


def cancel(port: PortIn, *, now: datetime) -> PortIn | Decision:
    """TERMS N4: the customer may cancel any day before the effective date; on that day
    the carriers are already moving the number."""
    if port.state in ("cancelled", "rejected"):
        return _wrong_state(port, "cancelled")
    effective = port.effective_at
    if port.state == "completed" or _date_has_come(port, now):
        return refuse(
            "port_in.too_late_to_cancel",
            "a port-in can be cancelled only before its effective date"
            + (f" ({effective:%Y-%m-%d})" if effective is not None else ""),
            effective_at=effective.isoformat() if effective is not None else None,
        )
    return replace(port, state="cancelled", closed_at=now)


def reject(port: PortIn, reason: str, *, now: datetime) -> PortIn | Decision:
    """A carrier refused the port (wrong mandate, number not held…): the request ends;
    a corrected file is a new request."""
    if port.state not in ("submitted", "scheduled"):
        return _wrong_state(port, "rejected")
    return replace(port, state="rejected", rejection=reason, closed_at=now)


def complete(port: PortIn, *, now: datetime) -> PortIn | Decision:
    """TERMS N4: the carriers moved the numbers; the previous line ends with it."""
    if port.state != "scheduled":
        return _wrong_state(port, "completed")
    return replace(port, state="completed", previous_line_ended=True, closed_at=now)


# -- N5: port-out ------------------------------------------------------------------------

NumberOrigin = Literal["platform", "ported_in"]


@dataclass(frozen=True, slots=True)
class PortOutFacts:
    """What a port-out decision needs of the number and its subscription: where the
    number came from, whether a local address in its zone was proved at activation, the
    date the current subscription period ends and the date the subscription's
    termination took effect (None: it runs)."""

    number: str
    origin: NumberOrigin
    local_address_proven: bool
    period_end: date
    terminated_on: date | None = None


def port_out(
    facts: PortOutFacts,
    requested_on: date,
    *,
    notice_days: int = PORT_OUT_NOTICE_DAYS,
    platform_numbers: bool = PLATFORM_NUMBERS_PORT_OUT,
) -> Decision:
    """TERMS N5 (and N2): whether a port-out the new operator asked for on
    ``requested_on`` goes ahead. Refused after termination, for a number bought from the
    platform where the operator forbids those (``platform_numbers``), without the local
    address proved at activation, and when fewer than ``notice_days`` calendar days are
    left before ``period_end``. Allowed, it ends the line and its services."""
    if facts.terminated_on is not None and requested_on >= facts.terminated_on:
        return refuse(
            "port_out.after_termination",
            f"the subscription was terminated on {facts.terminated_on:%Y-%m-%d}",
            number=facts.number,
            terminated_on=facts.terminated_on.isoformat(),
        )
    if facts.origin == "platform" and not platform_numbers:
        return refuse(
            "port_out.platform_number",
            f"{facts.number} was bought from the platform: only ported-in numbers port out",
            number=facts.number,
        )
    if not facts.local_address_proven:
        return refuse(
            "port_out.address_unproven",
            f"no local address in the zone of {facts.number} was proved at activation",
            number=facts.number,
        )
    days_left = (facts.period_end - requested_on).days
    if days_left < notice_days:
        return refuse(
            "port_out.notice_too_short",
            f"requested {days_left} days before the subscription period ends on "
            f"{facts.period_end:%Y-%m-%d}; at least {notice_days} are needed",
            number=facts.number,
            days_left=days_left,
            notice_days=notice_days,
        )
    return ALLOWED
