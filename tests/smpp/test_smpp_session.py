"""The SMPP session state machine, both sides: every state and transition, refusals,
the window, sequence numbers, timers, enquire_link, unbind, undecodable input."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dialtone.smpp.codec import decode, encode
from dialtone.smpp.constants import MAX_SEQUENCE, CommandId, CommandStatus
from dialtone.smpp.pdu import (
    Bind,
    BindKind,
    BindResp,
    Body,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    RequestBody,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from dialtone.smpp.session import (
    TRANSITIONS,
    BindRequested,
    Bound,
    Event,
    ProtocolError,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    Role,
    SessionSettings,
    SessionTimedOut,
    SmppSession,
    SmppSessionError,
    State,
    Transmit,
    Unbound,
)

S = CommandStatus
SETTINGS = SessionSettings(
    window=3, response_timeout=5.0, enquire_link_interval=20.0, session_init_timeout=10.0
)
STATE_OF_KIND = {
    BindKind.TRANSMITTER: State.BOUND_TX,
    BindKind.RECEIVER: State.BOUND_RX,
    BindKind.TRANSCEIVER: State.BOUND_TRX,
}
SUBMIT = SubmitSm("447700900123", "447700900456", b"hi")
DELIVER = DeliverSm("447700900456", "447700900123", b"yo")


def wire(body: Body, sequence: int, status: int = 0) -> bytes:
    return encode(Pdu(body, sequence, status))


def sent(events: list[Event]) -> list[Pdu]:
    return [decode(e.data) for e in events if isinstance(e, Transmit)]


def others(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, Transmit)]


def pair(kind: BindKind = BindKind.TRANSCEIVER) -> tuple[SmppSession, SmppSession]:
    """An ESME and an SMSC bound to each other with ``kind``, at time 0."""
    esme = SmppSession(Role.ESME, now=0.0, settings=SETTINGS)
    smsc = SmppSession(Role.SMSC, now=0.0, settings=SETTINGS)
    (requested,) = smsc.receive_data(esme.send(Bind(kind, "esme", "pw"), 0.0), 0.0)
    assert isinstance(requested, BindRequested)
    (bound,) = esme.receive_data(smsc.respond(requested.pdu, BindResp(kind, "smsc"), 0.0), 0.0)
    assert isinstance(bound, Bound)
    return esme, smsc


def in_state(role: Role, state: State) -> SmppSession:
    """A session of ``role`` in ``state`` (its peer driven by hand)."""
    session = SmppSession(role, now=0.0, settings=SETTINGS)
    if state is State.OPEN:
        return session
    if state is State.CLOSED:
        session.receive_data(b"\x00\x00\x00\x01" + bytes(12), 0.0)
        assert session.state is State.CLOSED
        return session
    kind = {State.BOUND_TX: BindKind.TRANSMITTER, State.BOUND_RX: BindKind.RECEIVER}.get(
        state, BindKind.TRANSCEIVER
    )
    if role is Role.ESME:
        session.send(Bind(kind, "me"), 0.0)
        if state is not State.BINDING:
            session.receive_data(wire(BindResp(kind, "smsc"), 1), 0.0)
    else:
        (requested,) = session.receive_data(wire(Bind(kind, "esme"), 1), 0.0)
        assert isinstance(requested, BindRequested)
        if state is not State.BINDING:
            session.respond(requested.pdu, BindResp(kind, "smsc"), 0.0)
    if state is State.UNBINDING:
        session.send(Unbind(), 0.0)
    assert session.state is state
    return session


# --- binding --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(BindKind))
def test_bind_of_each_kind(kind: BindKind) -> None:
    esme, smsc = pair(kind)
    assert esme.state is smsc.state is STATE_OF_KIND[kind]


def test_bind_steps_through_binding() -> None:
    esme = SmppSession(Role.ESME, now=0.0, settings=SETTINGS)
    smsc = SmppSession(Role.SMSC, now=0.0, settings=SETTINGS)
    assert esme.state is smsc.state is State.OPEN
    data = esme.send(Bind(BindKind.TRANSMITTER, "esme", "pw"), 1.0)
    assert esme.state is State.BINDING
    (requested,) = smsc.receive_data(data, 1.0)
    assert isinstance(requested, BindRequested)
    assert smsc.state is State.BINDING
    assert requested.pdu.body == Bind(BindKind.TRANSMITTER, "esme", "pw")
    answer = smsc.respond(requested.pdu, BindResp(BindKind.TRANSMITTER, "smsc"), 1.0)
    assert smsc.state is State.BOUND_TX
    (bound,) = esme.receive_data(answer, 1.0)
    assert bound == Bound(Pdu(BindResp(BindKind.TRANSMITTER, "smsc"), 1))
    assert esme.state is State.BOUND_TX


@pytest.mark.parametrize("refusal", [S.ESME_RINVPASWD, S.ESME_RBINDFAIL])
def test_smsc_refuses_a_bind_and_the_esme_may_try_again(refusal: int) -> None:
    esme = SmppSession(Role.ESME, now=0.0, settings=SETTINGS)
    smsc = SmppSession(Role.SMSC, now=0.0, settings=SETTINGS)
    (requested,) = smsc.receive_data(esme.send(Bind(BindKind.RECEIVER, "e", "bad"), 0.0), 0.0)
    assert isinstance(requested, BindRequested)
    answer = smsc.respond(requested.pdu, refusal, 0.0)
    assert answer == wire(BindResp(BindKind.RECEIVER), 1, refusal)
    assert len(answer) == 16  # a failed bind_resp has no body (§4.1.2)
    assert smsc.state is State.OPEN
    (response,) = esme.receive_data(answer, 0.0)
    assert isinstance(response, ResponseReceived)
    assert (response.request_seq, response.pdu.command_status) == (1, refusal)
    assert esme.state is State.OPEN
    (again,) = smsc.receive_data(esme.send(Bind(BindKind.RECEIVER, "e", "good"), 0.0), 0.0)
    assert isinstance(again, BindRequested)


def test_a_generic_nack_to_a_bind_refuses_it() -> None:
    esme = in_state(Role.ESME, State.BINDING)
    (response,) = esme.receive_data(wire(GenericNack(), 1, S.ESME_RINVCMDID), 0.0)
    assert isinstance(response, ResponseReceived)
    assert esme.state is State.OPEN


def test_a_second_bind_is_already_bound() -> None:
    for state in (State.BINDING, State.BOUND_TRX):
        smsc = in_state(Role.SMSC, state)
        events = smsc.receive_data(wire(Bind(BindKind.TRANSMITTER, "x"), 9), 1.0)
        assert sent(events) == [Pdu(BindResp(BindKind.TRANSMITTER), 9, S.ESME_RALYBND)]
        assert others(events) == []
        assert smsc.state is state


def test_outbind_asks_the_esme_to_bind() -> None:
    smsc = SmppSession(Role.SMSC, now=0.0, settings=SETTINGS)
    esme = SmppSession(Role.ESME, now=0.0, settings=SETTINGS)
    (received,) = esme.receive_data(smsc.send(Outbind("smsc", "pw"), 0.0), 0.0)
    assert isinstance(received, RequestReceived)
    assert received.pdu.body == Outbind("smsc", "pw")
    assert smsc.state is State.OPEN
    assert smsc.next_deadline() == 10.0  # no answer is awaited, only the bind
    with pytest.raises(SmppSessionError):
        esme.respond(received.pdu, S.ESME_ROK, 0.0)
    esme.send(Bind(BindKind.RECEIVER, "esme"), 0.0)
    assert esme.state is State.BINDING


def test_outbind_to_a_bound_esme_is_nacked() -> None:
    esme = in_state(Role.ESME, State.BOUND_RX)
    events = esme.receive_data(wire(Outbind("smsc"), 4), 1.0)
    assert sent(events) == [Pdu(GenericNack(), 4, S.ESME_RINVBNDSTS)]


# --- who may send what, where (SMPP 3.4 §2.3) ----------------------------------------

# Requests written out by hand, with the states in which the *receiving* side accepts them.
EVERYWHERE_BUT_CLOSED = set(State) - {State.CLOSED}
ACCEPTED_BY_SMSC: dict[str, tuple[RequestBody, set[State]]] = {
    "submit_sm": (SUBMIT, {State.BOUND_TX, State.BOUND_TRX}),
    "query_sm": (QuerySm("m1"), {State.BOUND_TX, State.BOUND_TRX}),
    "data_sm": (DataSm("1", "2"), {State.BOUND_TX, State.BOUND_TRX}),
    "deliver_sm": (DELIVER, set()),
    "bind": (Bind(BindKind.TRANSCEIVER, "x"), {State.OPEN}),
    "outbind": (Outbind("x"), set()),
}
ACCEPTED_BY_ESME: dict[str, tuple[RequestBody, set[State]]] = {
    "deliver_sm": (DELIVER, {State.BOUND_RX, State.BOUND_TRX}),
    "data_sm": (DataSm("1", "2"), {State.BOUND_RX, State.BOUND_TRX}),
    "submit_sm": (SUBMIT, set()),
    "query_sm": (QuerySm("m1"), set()),
    "bind": (Bind(BindKind.TRANSCEIVER, "x"), set()),
    "outbind": (Outbind("x"), {State.OPEN}),
}
LIVE = [s for s in State if s is not State.CLOSED]
CASES = [
    (role, name, state)
    for role, table in ((Role.SMSC, ACCEPTED_BY_SMSC), (Role.ESME, ACCEPTED_BY_ESME))
    for name in table
    for state in LIVE
]


@pytest.mark.parametrize(("role", "name", "state"), CASES, ids=lambda x: getattr(x, "value", x))
def test_a_request_is_taken_or_refused_by_state(role: Role, name: str, state: State) -> None:
    table = ACCEPTED_BY_SMSC if role is Role.SMSC else ACCEPTED_BY_ESME
    body, accepted_in = table[name]
    session = in_state(role, state)
    events = session.receive_data(wire(body, 77), 1.0)
    if state in accepted_in:
        assert len(others(events)) == 1
        assert isinstance(others(events)[0], RequestReceived | BindRequested)
        assert sent(events) == []
        return
    assert others(events) == []  # refused without an event
    (answer,) = sent(events)
    assert answer.sequence_number == 77
    if isinstance(body, Outbind):
        assert answer.body == GenericNack()
    else:
        assert answer.command_id == body.command_id | 0x80000000
    bind_again = isinstance(body, Bind) and role is Role.SMSC
    assert answer.command_status == (S.ESME_RALYBND if bind_again else S.ESME_RINVBNDSTS)
    assert session.state is state


SENDS: dict[str, tuple[Role, RequestBody, set[State]]] = {
    "esme submit_sm": (Role.ESME, SUBMIT, {State.BOUND_TX, State.BOUND_TRX}),
    "esme query_sm": (Role.ESME, QuerySm("m1"), {State.BOUND_TX, State.BOUND_TRX}),
    "esme data_sm": (Role.ESME, DataSm("1", "2"), {State.BOUND_TX, State.BOUND_TRX}),
    "esme deliver_sm": (Role.ESME, DELIVER, set()),
    "esme bind": (Role.ESME, Bind(BindKind.RECEIVER, "x"), {State.OPEN}),
    "esme unbind": (Role.ESME, Unbind(), {State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX}),
    "esme enquire_link": (Role.ESME, EnquireLink(), EVERYWHERE_BUT_CLOSED),
    "smsc deliver_sm": (Role.SMSC, DELIVER, {State.BOUND_RX, State.BOUND_TRX}),
    "smsc data_sm": (Role.SMSC, DataSm("1", "2"), {State.BOUND_RX, State.BOUND_TRX}),
    "smsc submit_sm": (Role.SMSC, SUBMIT, set()),
    "smsc outbind": (Role.SMSC, Outbind("x"), {State.OPEN}),
    "smsc bind": (Role.SMSC, Bind(BindKind.RECEIVER, "x"), set()),
    "smsc unbind": (Role.SMSC, Unbind(), {State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX}),
}


@pytest.mark.parametrize("name", list(SENDS))
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_what_this_side_may_send_by_state(name: str, state: State) -> None:
    role, body, allowed = SENDS[name]
    session = in_state(role, state)
    if state in allowed:
        assert decode(session.send(body, 1.0)).body == body
    else:
        with pytest.raises(SmppSessionError):
            session.send(body, 1.0)
        assert session.state is state


def test_every_transition_names_a_state() -> None:
    reached = {State.OPEN, *TRANSITIONS.values()}
    assert reached == set(State)


# --- traffic, responses, the window ---------------------------------------------------


def test_submit_and_its_response_both_ways() -> None:
    esme, smsc = pair(BindKind.TRANSCEIVER)
    (request,) = smsc.receive_data(esme.send(SUBMIT, 1.0), 1.0)
    assert isinstance(request, RequestReceived)
    assert request.pdu == Pdu(SUBMIT, 2)
    (response,) = esme.receive_data(smsc.respond(request.pdu, SubmitSmResp("M1"), 1.0), 1.0)
    assert response == ResponseReceived(2, Pdu(SubmitSmResp("M1"), 2), SUBMIT)
    (delivered,) = esme.receive_data(smsc.send(DELIVER, 2.0), 2.0)
    assert isinstance(delivered, RequestReceived)
    (answer,) = smsc.receive_data(esme.respond(delivered.pdu, DeliverSmResp(), 2.0), 2.0)
    assert answer == ResponseReceived(1, Pdu(DeliverSmResp(), 1), DELIVER)


def test_respond_with_a_status_sends_the_empty_response() -> None:
    smsc = in_state(Role.SMSC, State.BOUND_TX)
    (request,) = smsc.receive_data(wire(SUBMIT, 5), 1.0)
    assert isinstance(request, RequestReceived)
    assert smsc.respond(request.pdu, S.ESME_RTHROTTLED, 1.0) == wire(
        SubmitSmResp(), 5, S.ESME_RTHROTTLED
    )


def test_respond_checks_what_it_answers() -> None:
    smsc = in_state(Role.SMSC, State.BOUND_TX)
    (request,) = smsc.receive_data(wire(SUBMIT, 5), 1.0)
    assert isinstance(request, RequestReceived)
    with pytest.raises(SmppSessionError):
        smsc.respond(request.pdu, DeliverSmResp(), 1.0)
    assert smsc.respond(request.pdu, GenericNack(), 1.0, status=S.ESME_RSYSERR) == wire(
        GenericNack(),
        5,
        S.ESME_RSYSERR,
    )
    with pytest.raises(SmppSessionError):  # answered already
        smsc.respond(request.pdu, SubmitSmResp("x"), 1.0)
    with pytest.raises(SmppSessionError):  # never received
        smsc.respond(Pdu(SUBMIT, 99), SubmitSmResp("x"), 1.0)


def test_the_window() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    for _ in range(3):
        assert esme.can_send()
        esme.send(SUBMIT, 1.0)
    assert esme.outstanding == 3
    assert not esme.can_send()
    with pytest.raises(SmppSessionError):
        esme.send(SUBMIT, 1.0)
    esme.send(EnquireLink(), 1.0)  # keep-alive never waits for room
    esme.receive_data(wire(SubmitSmResp("a"), 3), 1.0)
    assert esme.can_send()
    esme.send(SUBMIT, 1.0)
    assert not esme.can_send()


def test_a_generic_nack_answers_a_request() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    esme.send(SUBMIT, 1.0)
    (response,) = esme.receive_data(wire(GenericNack(), 2, S.ESME_RINVCMDLEN), 1.0)
    assert isinstance(response, ResponseReceived)
    assert response.pdu.body == GenericNack()
    assert esme.outstanding == 0


def test_a_response_to_nothing_or_of_the_wrong_kind() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    (error,) = esme.receive_data(wire(SubmitSmResp("a"), 50), 1.0)
    assert isinstance(error, ProtocolError)
    assert (error.sequence_number, error.closed) == (50, False)
    esme.send(SUBMIT, 1.0)
    (error,) = esme.receive_data(encode(Pdu(DeliverSmResp(), 2)), 1.0)
    assert isinstance(error, ProtocolError)
    assert esme.outstanding == 1  # still waits for its own answer
    (response,) = esme.receive_data(wire(SubmitSmResp("a"), 2), 1.0)
    assert isinstance(response, ResponseReceived)


def test_sequence_numbers_count_up_wrap_and_skip_what_is_outstanding() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)  # the bind took 1
    assert [decode(esme.send(EnquireLink(), 0.0)).sequence_number for _ in range(2)] == [2, 3]
    esme._next_sequence = MAX_SEQUENCE
    assert decode(esme.send(SUBMIT, 0.0)).sequence_number == MAX_SEQUENCE
    # 1 is free again (the bind was answered), 2 and 3 still wait.
    assert decode(esme.send(SUBMIT, 0.0)).sequence_number == 1
    assert decode(esme.send(EnquireLink(), 0.0)).sequence_number == 4


# --- enquire_link and unbind ----------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("state", LIVE, ids=lambda s: s.value)
def test_enquire_link_is_answered_in_every_live_state(role: Role, state: State) -> None:
    session = in_state(role, state)
    events = session.receive_data(wire(EnquireLink(), 31), 1.0)
    assert events == [Transmit(encode(Pdu(EnquireLinkResp(), 31)))]
    assert session.state is state


def test_enquire_link_is_not_answered_when_closed() -> None:
    session = in_state(Role.SMSC, State.CLOSED)
    assert session.receive_data(wire(EnquireLink(), 31), 1.0) == []


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    "state", [State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX, State.UNBINDING]
)
def test_unbind_received_is_answered_and_closes(role: Role, state: State) -> None:
    session = in_state(role, state)
    events = session.receive_data(wire(Unbind(), 12) + wire(EnquireLink(), 13), 1.0)
    assert events == [Transmit(encode(Pdu(UnbindResp(), 12))), Unbound()]
    assert session.state is State.CLOSED
    assert session.closed
    assert session.next_deadline() is None
    assert session.receive_data(wire(EnquireLink(), 14), 2.0) == []
    with pytest.raises(SmppSessionError):
        session.send(EnquireLink(), 2.0)


def test_our_unbind() -> None:
    esme, smsc = pair()
    data = esme.send(Unbind(), 1.0)
    assert esme.state is State.UNBINDING
    # While unbinding, the peer's traffic is refused; its keep-alive still answered.
    events = esme.receive_data(wire(DELIVER, 8) + wire(EnquireLink(), 9), 1.0)
    assert [p.command_status for p in sent(events)] == [S.ESME_RINVBNDSTS, S.ESME_ROK]
    answer = smsc.receive_data(data, 1.0)
    assert others(answer) == [Unbound()]
    (unbind_resp,) = [e.data for e in answer if isinstance(e, Transmit)]
    assert esme.receive_data(unbind_resp, 1.0) == [Unbound()]
    assert esme.state is smsc.state is State.CLOSED


def test_respond_after_close_is_refused() -> None:
    smsc = in_state(Role.SMSC, State.BOUND_TX)
    (request,) = smsc.receive_data(wire(SUBMIT, 5), 1.0)
    assert isinstance(request, RequestReceived)
    smsc.receive_data(wire(Unbind(), 6), 1.0)
    with pytest.raises(SmppSessionError):
        smsc.respond(request.pdu, SubmitSmResp("x"), 1.0)


# --- undecodable input ----------------------------------------------------------------


def test_a_bad_field_is_answered_with_its_status_and_the_session_reads_on() -> None:
    smsc = in_state(Role.SMSC, State.BOUND_TX)
    good = wire(SubmitSm("Q", "2"), 40)
    body = good[16:].replace(b"Q\0", b"Q" * 30 + b"\0")
    bad = (16 + len(body)).to_bytes(4, "big") + good[4:16] + body
    events = smsc.receive_data(bad + wire(SUBMIT, 41), 1.0)
    assert sent(events) == [Pdu(SubmitSmResp(), 40, S.ESME_RINVSRCADR)]
    error, request = others(events)
    assert isinstance(error, ProtocolError)
    assert (error.status, error.sequence_number, error.closed) == (S.ESME_RINVSRCADR, 40, False)
    assert isinstance(request, RequestReceived)
    assert smsc.state is State.BOUND_TX


def test_an_unknown_command_is_nacked_and_the_session_reads_on() -> None:
    smsc = in_state(Role.SMSC, State.BOUND_TX)
    events = smsc.receive_data(bytes.fromhex("00000010 00000099 00000000 00000007"), 1.0)
    assert sent(events) == [Pdu(GenericNack(), 7, S.ESME_RINVCMDID)]
    assert others(events)[0] == ProtocolError(
        S.ESME_RINVCMDID, "command_id 0x00000099 is not read", 7, False
    )
    assert smsc.state is State.BOUND_TX


@pytest.mark.parametrize("length", [0, 15, 0x10001])
def test_a_wrong_command_length_is_nacked_and_closes(length: int) -> None:
    smsc = in_state(Role.SMSC, State.BOUND_TX)
    header = length.to_bytes(4, "big") + bytes.fromhex("00000004 00000000 00000021")
    events = smsc.receive_data(header + wire(SUBMIT, 34), 1.0)
    assert sent(events) == [Pdu(GenericNack(), 0x21, S.ESME_RINVCMDLEN)]
    (error,) = others(events)
    assert isinstance(error, ProtocolError)
    assert error.closed
    assert smsc.state is State.CLOSED


def test_a_bad_response_is_reported_not_answered() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    esme.send(SUBMIT, 1.0)
    bad = bytes.fromhex("00000012 80000004 00000000 00000002 4142")  # message_id without NUL
    (error,) = esme.receive_data(bad, 1.0)
    assert isinstance(error, ProtocolError)
    assert (error.sequence_number, error.closed) == (2, False)


# --- timers ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_no_bind_within_the_session_init_timeout(role: Role) -> None:
    session = SmppSession(role, now=100.0, settings=SETTINGS)
    assert session.next_deadline() == 110.0
    assert session.on_timer(109.9) == []
    assert session.on_timer(110.0) == [SessionTimedOut()]
    assert session.state is State.CLOSED
    assert session.next_deadline() is None
    assert session.on_timer(200.0) == []


def test_a_bound_session_has_no_init_timer() -> None:
    esme, _ = pair()
    assert esme.on_timer(10.0) == []


def test_an_unanswered_bind_closes() -> None:
    esme = SmppSession(Role.ESME, now=0.0, settings=SETTINGS)
    bind = Bind(BindKind.TRANSMITTER, "e")
    esme.send(bind, 2.0)
    assert esme.next_deadline() == 7.0  # the bind's answer is due before the init timer
    assert esme.on_timer(7.0) == [RequestTimedOut(1, bind)]
    assert esme.state is State.CLOSED


def test_an_unanswered_submit_times_out_and_the_session_stays() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    esme.send(SUBMIT, 1.0)
    esme.send(SUBMIT, 2.0)
    assert esme.next_deadline() == 6.0
    assert esme.on_timer(6.0) == [RequestTimedOut(2, SUBMIT)]
    assert esme.on_timer(7.0) == [RequestTimedOut(3, SUBMIT)]
    assert esme.state is State.BOUND_TX
    assert esme.outstanding == 0
    # A late answer answers nothing.
    assert isinstance(esme.receive_data(wire(SubmitSmResp("a"), 2), 8.0)[0], ProtocolError)


def test_an_unanswered_unbind_closes() -> None:
    esme = in_state(Role.ESME, State.UNBINDING)
    (timed_out,) = esme.on_timer(5.0)
    assert timed_out == RequestTimedOut(2, Unbind())
    assert esme.state is State.CLOSED


@pytest.mark.parametrize("role", list(Role))
def test_enquire_link_after_the_idle_interval(role: Role) -> None:
    session = in_state(role, State.BOUND_TRX)
    assert session.next_deadline() == 20.0
    assert session.on_timer(19.0) == []
    (keepalive,) = session.on_timer(20.0)
    assert isinstance(keepalive, Transmit)
    ping = decode(keepalive.data)
    assert ping.body == EnquireLink()
    # One at a time: the next is not due until this one is answered.
    assert session.next_deadline() == 25.0
    assert session.on_timer(22.0) == []
    assert session.receive_data(wire(EnquireLinkResp(), ping.sequence_number), 23.0) == []
    assert session.next_deadline() == 43.0
    assert session.state is State.BOUND_TRX


def test_traffic_from_the_peer_postpones_the_keepalive() -> None:
    esme = in_state(Role.ESME, State.BOUND_RX)
    esme.receive_data(wire(DELIVER, 3), 15.0)
    assert esme.next_deadline() == 35.0
    assert esme.on_timer(20.0) == []


def test_an_unanswered_keepalive_closes() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    (keepalive,) = esme.on_timer(20.0)
    assert isinstance(keepalive, Transmit)
    sequence = decode(keepalive.data).sequence_number
    assert esme.on_timer(25.0) == [RequestTimedOut(sequence, EnquireLink())]
    assert esme.state is State.CLOSED


def test_our_own_enquire_link_is_reported() -> None:
    esme = in_state(Role.ESME, State.BOUND_TX)
    esme.send(EnquireLink(), 1.0)
    (response,) = esme.receive_data(wire(EnquireLinkResp(), 2), 1.5)
    assert response == ResponseReceived(2, Pdu(EnquireLinkResp(), 2), EnquireLink())


@pytest.mark.parametrize(
    "drive",
    [
        lambda s: s.receive_data(b"\x00\x00\x00\x01" + bytes(12), 0.0),
        lambda s: s.on_timer(10.0),
    ],
)
def test_closed_means_no_deadline(drive: Callable[[SmppSession], object]) -> None:
    session = SmppSession(Role.SMSC, now=0.0, settings=SETTINGS)
    drive(session)
    assert session.state is State.CLOSED
    assert session.next_deadline() is None
    assert not session.can_send()


def test_data_sm_both_ways_on_a_transceiver() -> None:
    esme, smsc = pair(BindKind.TRANSCEIVER)
    body = DataSm("1", "2")
    (to_smsc,) = smsc.receive_data(esme.send(body, 1.0), 1.0)
    (to_esme,) = esme.receive_data(smsc.send(body, 1.0), 1.0)
    assert isinstance(to_smsc, RequestReceived)
    assert isinstance(to_esme, RequestReceived)
    assert to_smsc.pdu.command_id is to_esme.pdu.command_id is CommandId.DATA_SM
