"""What an SMSC's answer means for the sender (SMPP 3.4 §5.1.3): a submit_sm_resp's
status sorted into accepted, throttled (wait, then the same bind again), temporary (the
next carrier may take it) and permanent (no carrier will: the message fails), and a
delivery receipt's state as the outcome of one part (§5.2.28)."""

from __future__ import annotations

import enum
from typing import Literal

from dialtone.smpp.constants import CommandId, CommandStatus, MessageState


class SubmitOutcome(enum.Enum):
    ACCEPTED = "accepted"
    THROTTLED = "throttled"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


_S = CommandStatus
# Statuses that say "not now" or "not here" rather than "never": the SMSC's queue or
# system, its application, or our bind's state. Every other error is the message's own
# (an address, the length, the coding, a flag) and another carrier would refuse it too.
TEMPORARY_STATUSES = frozenset(
    {
        _S.ESME_RMSGQFUL,
        _S.ESME_RSYSERR,
        _S.ESME_RX_T_APPN,
        _S.ESME_RSUBMITFAIL,
        _S.ESME_RUNKNOWNERR,
        _S.ESME_RINVBNDSTS,
        _S.ESME_RBINDFAIL,
        _S.ESME_RDELIVERYFAILURE,
    }
)


def submit_outcome(command_id: int, status: int) -> SubmitOutcome:
    """How to act on the answer to a submit_sm (``command_id`` is the answer's: a
    submit_sm_resp or a generic_nack). A generic_nack without a status is the SMSC not
    reading our PDU at all: temporary (a carrier that reads it may exist)."""
    if status == _S.ESME_ROK:
        if command_id == CommandId.GENERIC_NACK:
            return SubmitOutcome.TEMPORARY
        return SubmitOutcome.ACCEPTED
    if status == _S.ESME_RTHROTTLED:
        return SubmitOutcome.THROTTLED
    if status in TEMPORARY_STATUSES:
        return SubmitOutcome.TEMPORARY
    return SubmitOutcome.PERMANENT


PartState = Literal["delivered", "undelivered", "expired", "sent"]

_PART_STATES: dict[MessageState, PartState] = {
    MessageState.DELIVERED: "delivered",
    MessageState.UNDELIVERABLE: "undelivered",
    MessageState.REJECTED: "undelivered",
    MessageState.DELETED: "undelivered",
    MessageState.EXPIRED: "expired",
    MessageState.ENROUTE: "sent",
    MessageState.ACCEPTED: "sent",
    MessageState.UNKNOWN: "sent",
}


def part_state(state: MessageState | None) -> PartState:
    """A receipt's state as its part's outcome: DELIVRD delivered; UNDELIV, REJECTD and
    DELETED undelivered; EXPIRED expired; ENROUTE, ACCEPTD, UNKNOWN (and a state the
    receipt does not name) still on its way, ``sent``."""
    if state is None:
        return "sent"
    return _PART_STATES[state]


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED`` for 0x58; ``0x00000458`` for a status 3.4 does not name."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"
