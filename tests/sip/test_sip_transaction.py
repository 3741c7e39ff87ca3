"""Transactions on a fake clock (RFC 3261 §17, RFC 6026): ``now`` is a plain float."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from dialtone.sip.message import Request, Response, make_response, parse_message
from dialtone.sip.transaction import (
    ClientTransaction,
    InviteServerTransaction,
    NonInviteServerTransaction,
    ResponseReceived,
    Send,
    State,
    TimerSettings,
    TransactionTimedOut,
    server_transaction_key,
)

PEER = ("192.0.2.7", 5070)
T = TimerSettings()  # T1 0.5 s, T2 4 s, T4 5 s, 64*T1 = 32 s

Tx = InviteServerTransaction | NonInviteServerTransaction | ClientTransaction


def raw_request(
    method: str = "INVITE",
    *,
    branch: str = "z9hG4bKtx1",
    sent_by: str = "192.0.2.7:5070",
    cseq: int = 1,
    cseq_method: str | None = None,
    call_id: str = "tx-call",
    to_tag: str | None = None,
) -> bytes:
    to = "<sip:bob@192.0.2.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:bob@192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {sent_by};branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@192.0.2.7>;tag=alice1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "Contact: <sip:alice@192.0.2.7:5070>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def req(method: str = "INVITE", **kw: object) -> Request:
    message = parse_message(raw_request(method, **kw))  # type: ignore[arg-type]
    assert isinstance(message, Request)
    return message


def resp(request: Request, status: int, tag: str | None = "srv") -> Response:
    """A response as received off the wire (parsed back from bytes)."""
    message = parse_message(make_response(request, status, to_tag=tag).encode())
    assert isinstance(message, Response)
    return message


def sends(outputs: Sequence[object]) -> list[bytes]:
    out = []
    for o in outputs:
        if isinstance(o, Send):
            assert o.destination == PEER
            out.append(o.data)
    return out


def run_until(tx: Tx, end: float) -> list[tuple[float, object]]:
    """Fire every timer due up to ``end`` exactly at its deadline; (time, output) pairs."""
    fired: list[tuple[float, object]] = []
    steps = 0
    while tx.deadline is not None and tx.deadline <= end:
        now = tx.deadline
        fired.extend((now, out) for out in tx.handle_timer(now))
        steps += 1
        assert steps < 1000, "timer loop does not advance"
    return fired


def send_times(fired: list[tuple[float, object]]) -> list[float]:
    return [t for t, out in fired if isinstance(out, Send)]


def timeout_times(fired: list[tuple[float, object]]) -> list[float]:
    return [t for t, out in fired if isinstance(out, TransactionTimedOut)]


def doubling_schedule(start: float, t1: float, t2: float, end: float) -> list[float]:
    """Retransmission times: first at start + T1, interval doubling, capped at T2."""
    times = []
    interval = t1
    t = start + t1
    while t < end:
        times.append(t)
        interval = min(2 * interval, t2)
        t += interval
    return times


# -- INVITE server transaction ---------------------------------------------------------------


def test_invite_server_starts_in_proceeding_without_timers() -> None:
    tx = InviteServerTransaction(req(), PEER, now=0.0)
    assert tx.state is State.PROCEEDING
    assert tx.deadline is None
    assert tx.is_invite
    # A retransmission before any response has nothing to repeat.
    assert tx.receive_request(req(), 0.1) == []


@pytest.mark.parametrize("statuses", [[100], [100, 180], [183], [100, 180, 182]])
def test_retransmitted_invite_gets_the_latest_provisional(statuses: list[int]) -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    last = b""
    for n, status in enumerate(statuses):
        (last,) = sends(tx.send_response(make_response(invite, status, to_tag="t"), n * 0.1))
    assert sends(tx.receive_request(invite, 1.0)) == [last]
    assert sends(tx.receive_request(invite, 1.1)) == [last]
    assert tx.state is State.PROCEEDING
    assert tx.deadline is None  # provisional responses are not retransmitted by the server


@pytest.mark.parametrize("status", [200, 202, 299])
def test_retransmitted_invite_in_accepted_gets_the_identical_2xx(status: int) -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    sends(tx.send_response(make_response(invite, 100), 0.0))
    (ok,) = sends(tx.send_response(make_response(invite, status, to_tag="t"), 0.1))
    assert tx.state is State.ACCEPTED
    for now in (0.2, 0.3, 5.0):
        assert sends(tx.receive_request(invite, now)) == [ok]
    assert tx.last_response is not None
    assert tx.last_response.status == status


@pytest.mark.parametrize(
    ("t1", "t2"), [(0.5, 4.0), (0.1, 0.4), (1.0, 4.0), (0.5, 0.5), (0.25, 16.0)]
)
def test_2xx_retransmitted_doubling_to_t2_then_timer_l(t1: float, t2: float) -> None:
    timers = TimerSettings(t1=t1, t2=t2)
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=10.0, timers=timers)
    (ok,) = sends(tx.send_response(make_response(invite, 200, to_tag="t"), 10.0))
    assert tx.deadline == pytest.approx(10.0 + t1)
    fired = run_until(tx, 10.0 + 1000)
    expected = doubling_schedule(10.0, t1, t2, 10.0 + 64 * t1)
    assert send_times(fired) == pytest.approx(expected)
    assert all(out.data == ok for _, out in fired if isinstance(out, Send))
    # Timer L: no ACK within 64*T1, the TU must hear of it (and end the dialog with BYE).
    assert timeout_times(fired) == pytest.approx([10.0 + 64 * t1])
    (event,) = [out for _, out in fired if isinstance(out, TransactionTimedOut)]
    assert event.transaction is tx
    assert tx.terminated
    assert tx.deadline is None


def test_2xx_schedule_with_default_timers_literally() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    fired = run_until(tx, 100.0)
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert timeout_times(fired) == [32.0]


@pytest.mark.parametrize("ack_at", [0.2, 0.5, 2.0, 7.5, 31.9])
def test_ack_stops_2xx_retransmissions(ack_at: float) -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    before = run_until(tx, ack_at)
    assert send_times(before) == [t for t in doubling_schedule(0.0, 0.5, 4.0, 32.0) if t <= ack_at]
    assert tx.receive_ack(ack_at) == []
    assert tx.acknowledged
    assert tx.state is State.ACCEPTED  # RFC 6026: stays to absorb INVITE retransmissions
    assert tx.deadline == pytest.approx(32.0)  # only Timer L left
    after = run_until(tx, 100.0)
    assert after == []  # no retransmission, no timeout event
    assert tx.terminated


def test_second_ack_changes_nothing() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    tx.receive_ack(1.0)
    deadline = tx.deadline
    assert tx.receive_ack(2.0) == []
    assert tx.deadline == deadline


def test_ack_with_the_invite_branch_in_accepted_is_taken_as_the_ack() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    assert tx.receive_request(req("ACK", to_tag="t"), 0.3) == []
    assert tx.acknowledged
    assert run_until(tx, 100.0) == []


def test_late_timer_call_still_retransmits_once_and_reschedules() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    (ok,) = sends(tx.send_response(make_response(invite, 200, to_tag="t"), 0.0))
    assert tx.handle_timer(0.2) == []  # early: nothing due
    assert sends(tx.handle_timer(2.0)) == [ok]  # late: one retransmission, not a burst
    assert tx.deadline is not None
    assert tx.deadline > 2.0


@pytest.mark.parametrize("status", [300, 404, 486, 487, 500, 603])
def test_non_2xx_timer_g_then_ack_confirmed_then_timer_i(status: int) -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    (final,) = sends(tx.send_response(make_response(invite, status, to_tag="t"), 0.0))
    assert tx.state is State.COMPLETED
    fired = run_until(tx, 8.0)
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5]  # Timer G: T1 doubling to T2
    assert all(out.data == final for _, out in fired if isinstance(out, Send))
    # A retransmitted INVITE gets the final response again.
    assert sends(tx.receive_request(invite, 8.0)) == [final]
    ack = req("ACK", to_tag="t")
    assert tx.receive_request(ack, 8.1) == []
    assert tx.state.value == "confirmed"
    assert tx.deadline == pytest.approx(8.1 + T.t4)  # Timer I
    # In Confirmed, retransmitted ACKs and INVITEs are absorbed.
    assert tx.receive_request(ack, 9.0) == []
    assert tx.receive_request(invite, 9.0) == []
    assert run_until(tx, 100.0) == []
    assert tx.terminated


def test_timer_g_caps_at_t2() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 486, to_tag="t"), 0.0)
    fired = run_until(tx, 31.0)
    times = send_times(fired)
    assert times == doubling_schedule(0.0, 0.5, 4.0, 31.0)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:3] == [1.0, 2.0, 4.0]
    assert set(gaps[3:]) == {4.0}


def test_timer_h_times_out_without_ack() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=5.0)
    tx.send_response(make_response(invite, 404, to_tag="t"), 5.0)
    fired = run_until(tx, 100.0)
    assert timeout_times(fired) == [5.0 + 32.0]
    (event,) = [out for _, out in fired if isinstance(out, TransactionTimedOut)]
    assert event.transaction is tx
    assert tx.terminated
    assert max(send_times(fired)) < 37.0


def test_reliable_transport_no_timer_g_and_immediate_timer_i() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0, reliable=True)
    tx.send_response(make_response(invite, 486, to_tag="t"), 0.0)
    assert tx.deadline == pytest.approx(32.0)  # only Timer H
    assert send_times(run_until(tx, 31.0)) == []
    tx.receive_request(req("ACK", to_tag="t"), 1.0)
    assert tx.state is State.CONFIRMED
    assert tx.deadline == pytest.approx(1.0)  # Timer I = 0 on a reliable transport
    assert run_until(tx, 1.0) == []
    assert tx.terminated


def test_reliable_transport_timer_h_still_fires() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0, reliable=True)
    tx.send_response(make_response(invite, 486, to_tag="t"), 0.0)
    fired = run_until(tx, 100.0)
    assert send_times(fired) == []
    assert timeout_times(fired) == [32.0]


def test_reliable_transport_still_retransmits_2xx_until_ack() -> None:
    # RFC 3261 §13.3.1.4: the 2xx is retransmitted end to end whatever the transport.
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0, reliable=True)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    assert send_times(run_until(tx, 4.0)) == [0.5, 1.5, 3.5]
    tx.receive_ack(4.0)
    assert send_times(run_until(tx, 100.0)) == []


@pytest.mark.parametrize("first", [200, 486])
def test_invite_answered_twice_is_refused(first: int) -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, first, to_tag="t"), 0.0)
    with pytest.raises(ValueError, match="already answered"):
        tx.send_response(make_response(invite, 487, to_tag="t"), 0.1)
    with pytest.raises(ValueError, match="already answered"):
        tx.send_response(make_response(invite, 180, to_tag="t"), 0.1)


def test_ack_before_any_final_response_changes_nothing() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 180, to_tag="t"), 0.0)
    assert tx.receive_ack(0.1) == []
    assert tx.state is State.PROCEEDING
    assert not tx.acknowledged
    assert tx.deadline is None


# -- non-INVITE server transaction ----------------------------------------------------------


def test_non_invite_trying_absorbs_retransmissions() -> None:
    options = req("OPTIONS")
    tx = NonInviteServerTransaction(options, PEER, now=0.0)
    assert tx.state is State.TRYING
    assert not tx.is_invite
    assert tx.receive_request(options, 0.1) == []
    assert tx.receive_request(options, 0.6) == []
    assert tx.deadline is None


def test_non_invite_proceeding_repeats_the_provisional() -> None:
    options = req("OPTIONS")
    tx = NonInviteServerTransaction(options, PEER, now=0.0)
    (trying,) = sends(tx.send_response(make_response(options, 100), 0.1))
    assert tx.state is State.PROCEEDING
    assert sends(tx.receive_request(options, 0.3)) == [trying]
    assert tx.deadline is None


@pytest.mark.parametrize("status", [200, 404, 481, 500])
def test_non_invite_completed_answers_with_the_identical_final(status: int) -> None:
    options = req("OPTIONS")
    tx = NonInviteServerTransaction(options, PEER, now=0.0)
    (final,) = sends(tx.send_response(make_response(options, status, to_tag="t"), 0.4))
    assert tx.state is State.COMPLETED
    for now in (0.5, 1.0, 20.0, 32.3):
        assert sends(tx.receive_request(options, now)) == [final]
    assert tx.deadline == pytest.approx(0.4 + 32.0)  # Timer J = 64*T1
    assert tx.handle_timer(32.3) == []
    assert not tx.terminated
    assert run_until(tx, 100.0) == []  # Timer J ends it quietly
    assert tx.terminated
    assert tx.receive_request(options, 40.0) == []


def test_non_invite_reliable_timer_j_is_zero() -> None:
    options = req("OPTIONS")
    tx = NonInviteServerTransaction(options, PEER, now=0.0, reliable=True)
    tx.send_response(make_response(options, 200, to_tag="t"), 3.0)
    assert tx.deadline == pytest.approx(3.0)
    run_until(tx, 3.0)
    assert tx.terminated


def test_non_invite_final_twice_is_refused() -> None:
    options = req("OPTIONS")
    tx = NonInviteServerTransaction(options, PEER, now=0.0)
    tx.send_response(make_response(options, 200, to_tag="t"), 0.0)
    with pytest.raises(ValueError, match="already answered"):
        tx.send_response(make_response(options, 500, to_tag="t"), 0.1)


# -- client (non-INVITE) transaction --------------------------------------------------------


def test_client_start_sends_the_request() -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=0.0)
    out = tx.start()
    assert len(out) == 1
    assert isinstance(out[0], Send)
    assert out[0].destination == PEER
    assert out[0].data == bye.encode()
    assert tx.state is State.TRYING
    assert tx.key == ("z9hG4bKtx1", "BYE")


@pytest.mark.parametrize(("t1", "t2"), [(0.5, 4.0), (0.1, 0.4), (0.5, 0.5)])
def test_client_timer_e_doubling_to_t2_then_timer_f(t1: float, t2: float) -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=2.0, timers=TimerSettings(t1=t1, t2=t2))
    fired = run_until(tx, 1000.0)
    assert send_times(fired) == pytest.approx(doubling_schedule(2.0, t1, t2, 2.0 + 64 * t1))
    assert all(out.data == bye.encode() for _, out in fired if isinstance(out, Send))
    assert timeout_times(fired) == pytest.approx([2.0 + 64 * t1])  # Timer F
    (event,) = [out for _, out in fired if isinstance(out, TransactionTimedOut)]
    assert event.transaction is tx
    assert tx.terminated


def test_client_timer_e_default_schedule_literally() -> None:
    tx = ClientTransaction(req("BYE"), PEER, now=0.0)
    fired = run_until(tx, 100.0)
    assert send_times(fired) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert timeout_times(fired) == [32.0]


def test_client_provisional_switches_timer_e_to_t2() -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=0.0)
    assert send_times(run_until(tx, 0.6)) == [0.5]
    (event,) = tx.receive_response(resp(bye, 100, tag=None), 0.7)
    assert isinstance(event, ResponseReceived)
    assert event.transaction is tx
    assert event.response.status == 100
    assert tx.state is State.PROCEEDING
    # Next fire was already set for 1.5; from then on every T2 (RFC 3261 §17.1.2.2).
    fired = run_until(tx, 14.0)
    assert send_times(fired) == [1.5, 5.5, 9.5, 13.5]
    # Timer F still ends it.
    fired = run_until(tx, 100.0)
    assert timeout_times(fired) == [32.0]


@pytest.mark.parametrize("status", [200, 404, 481, 503])
def test_client_final_response_then_timer_k(status: int) -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=0.0)
    run_until(tx, 1.6)
    final = resp(bye, status)
    (event,) = tx.receive_response(final, 2.0)
    assert isinstance(event, ResponseReceived)
    assert event.response is final
    assert tx.state is State.COMPLETED
    assert tx.final_response is final
    assert tx.deadline == pytest.approx(2.0 + T.t4)  # Timer K
    # Retransmitted finals and late provisionals are absorbed.
    assert tx.receive_response(final, 3.0) == []
    assert tx.receive_response(resp(bye, 180), 3.0) == []
    assert run_until(tx, 100.0) == []  # no more requests, no timeout
    assert tx.terminated


def test_client_reliable_no_timer_e_and_timer_k_zero() -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=0.0, reliable=True)
    assert tx.deadline == pytest.approx(32.0)  # only Timer F
    tx.receive_response(resp(bye, 200), 1.0)
    assert tx.deadline == pytest.approx(1.0)
    assert run_until(tx, 1.0) == []
    assert tx.terminated


def test_client_reliable_timer_f() -> None:
    tx = ClientTransaction(req("BYE"), PEER, now=0.0, reliable=True)
    fired = run_until(tx, 100.0)
    assert send_times(fired) == []
    assert timeout_times(fired) == [32.0]


# -- matching keys ---------------------------------------------------------------------------


def test_server_key_rfc3261() -> None:
    invite = req()
    assert server_transaction_key(invite) == ("z9hG4bKtx1", "192.0.2.7", "5070", "INVITE")
    # ACK matches its INVITE; CANCEL has a transaction of its own.
    assert server_transaction_key(req("ACK")) == server_transaction_key(invite)
    assert server_transaction_key(req("CANCEL")) != server_transaction_key(invite)
    assert server_transaction_key(req("CANCEL"))[-1] == "CANCEL"


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"branch": "z9hG4bKother"}, False),
        ({"sent_by": "192.0.2.8:5070"}, False),
        ({"sent_by": "192.0.2.7:5071"}, False),
        ({"sent_by": "192.0.2.7"}, False),
        ({"call_id": "another"}, True),  # RFC 3261 matching looks at branch and sent-by only
        ({"cseq": 9}, True),
    ],
)
def test_server_key_fields(change: dict[str, object], same: bool) -> None:
    base = server_transaction_key(req("OPTIONS"))
    other = server_transaction_key(req("OPTIONS", **change))
    assert (base == other) is same


@pytest.mark.parametrize("branch", ["z9hG4bK", "390skdjuw", "Z9HG4BKxyz"])
def test_server_key_rfc2543_fallback(branch: str) -> None:
    invite = req(branch=branch)
    key = server_transaction_key(invite)
    assert key[0] == "rfc2543"
    assert server_transaction_key(req("ACK", branch=branch)) == key
    assert server_transaction_key(req(branch=branch, cseq=2)) != key
    assert server_transaction_key(req(branch=branch, call_id="x")) != key


# ---------------------------------------------------------------- retirement (memory)


@pytest.mark.parametrize("status", [200, 404])
def test_non_invite_server_lets_go_of_its_messages_once_answered(status: int) -> None:
    bye = req("BYE", to_tag="t")
    tx = NonInviteServerTransaction(bye, PEER, now=0.0)
    tx.send_response(make_response(bye, 100), 0.0)
    assert not tx.retired  # provisional: the TU still answers it
    assert tx.request is bye
    first = sends(tx.send_response(make_response(bye, status), 0.1))
    assert tx.retired
    assert tx.last_response is None
    assert tx.last_status == status
    assert tx.last_to_tag == "t"
    with pytest.raises(RuntimeError, match="retired"):
        tx.request  # noqa: B018
    # Retransmitted requests still get the identical final response until Timer J.
    assert sends(tx.receive_request(bye, 5.0)) == first
    run_until(tx, 40.0)
    assert tx.terminated


@pytest.mark.parametrize("status", [200, 486])
def test_invite_server_lets_go_of_its_messages_when_acknowledged(status: int) -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    final = sends(tx.send_response(make_response(invite, status, to_tag="t"), 0.0))
    assert not tx.retired  # unacknowledged: Timer H/L may still end it with an event
    assert tx.request is invite
    tx.receive_ack(0.2)
    assert tx.retired
    assert (tx.last_status, tx.last_to_tag) == (status, "t")
    if status == 200:
        # A retransmitted INVITE in Accepted gets the 2xx again, from the kept bytes.
        assert sends(tx.receive_request(invite, 1.0)) == final
    assert [e for _, e in run_until(tx, 100.0) if isinstance(e, TransactionTimedOut)] == []
    assert tx.terminated


def test_an_unacknowledged_invite_keeps_its_request_for_the_timeout_event() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    fired = run_until(tx, 100.0)
    assert any(isinstance(e, TransactionTimedOut) for _, e in fired)
    assert tx.request is invite
