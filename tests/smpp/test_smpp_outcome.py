"""What an SMSC's answer means for the sender: the submit_sm_resp statuses sorted into
accepted / throttled / temporary / permanent, and receipt states as part outcomes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.smpp.constants import CommandId, CommandStatus, MessageState
from dialtone.smpp.outcome import (
    TEMPORARY_STATUSES,
    SubmitOutcome,
    part_state,
    status_name,
    submit_outcome,
)

S = CommandStatus
RESP = CommandId.SUBMIT_SM_RESP


@pytest.mark.parametrize(
    ("command_id", "status", "outcome"),
    [
        (RESP, S.ESME_ROK, SubmitOutcome.ACCEPTED),
        (RESP, S.ESME_RTHROTTLED, SubmitOutcome.THROTTLED),
        (RESP, S.ESME_RMSGQFUL, SubmitOutcome.TEMPORARY),
        (RESP, S.ESME_RSYSERR, SubmitOutcome.TEMPORARY),
        (RESP, S.ESME_RX_T_APPN, SubmitOutcome.TEMPORARY),
        (RESP, S.ESME_RINVBNDSTS, SubmitOutcome.TEMPORARY),
        (RESP, S.ESME_RUNKNOWNERR, SubmitOutcome.TEMPORARY),
        (RESP, S.ESME_RINVDSTADR, SubmitOutcome.PERMANENT),
        (RESP, S.ESME_RINVSRCADR, SubmitOutcome.PERMANENT),
        (RESP, S.ESME_RINVMSGLEN, SubmitOutcome.PERMANENT),
        (RESP, S.ESME_RX_P_APPN, SubmitOutcome.PERMANENT),
        (RESP, S.ESME_RINVDCS, SubmitOutcome.PERMANENT),
        (RESP, 0x400, SubmitOutcome.PERMANENT),  # a vendor's code: nothing says "retry"
        (CommandId.GENERIC_NACK, S.ESME_ROK, SubmitOutcome.TEMPORARY),
        (CommandId.GENERIC_NACK, S.ESME_RINVCMDLEN, SubmitOutcome.PERMANENT),
        (CommandId.GENERIC_NACK, S.ESME_RTHROTTLED, SubmitOutcome.THROTTLED),
    ],
)
def test_submit_outcomes(command_id: int, status: int, outcome: SubmitOutcome) -> None:
    assert submit_outcome(command_id, status) is outcome


@given(st.integers(min_value=1, max_value=0xFFFFFFFF))
def test_every_error_status_is_one_of_the_three_failures(status: int) -> None:
    outcome = submit_outcome(RESP, status)
    assert outcome is not SubmitOutcome.ACCEPTED
    assert (outcome is SubmitOutcome.TEMPORARY) == (status in TEMPORARY_STATUSES)


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (MessageState.DELIVERED, "delivered"),
        (MessageState.UNDELIVERABLE, "undelivered"),
        (MessageState.REJECTED, "undelivered"),
        (MessageState.DELETED, "undelivered"),
        (MessageState.EXPIRED, "expired"),
        (MessageState.ENROUTE, "sent"),
        (MessageState.ACCEPTED, "sent"),
        (MessageState.UNKNOWN, "sent"),
        (None, "sent"),
    ],
)
def test_receipt_states_as_part_outcomes(state: MessageState | None, outcome: str) -> None:
    assert part_state(state) == outcome


def test_every_message_state_has_an_outcome() -> None:
    assert {part_state(s) for s in MessageState} == {"delivered", "undelivered", "expired", "sent"}


def test_status_names() -> None:
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x458) == "0x00000458"
