"""Transactions with a fake clock (RFC 3261 §17, RFC 6026): plain floats for ``now``."""

from __future__ import annotations

import pytest

from dialtone.sip.message import Request, make_response, parse_message
from dialtone.sip.transaction import (
    ClientTransaction,
    InviteServerTransaction,
    NonInviteServerTransaction,
    ResponseReceived,
    Send,
    State,
    TimerSettings,
    TransactionTimedOut,
)

from .sipfix import request

PEER = ("127.0.0.1", 5070)
T = TimerSettings()  # T1 0.5 s, T2 4 s, T4 5 s


def req(method: str = "INVITE") -> Request:
    message = parse_message(request(method))
    assert isinstance(message, Request)
    return message


def sends(outputs: list[object]) -> list[bytes]:
    return [o.data for o in outputs if isinstance(o, Send)]


def run_until(
    tx: InviteServerTransaction | ClientTransaction | NonInviteServerTransaction, end: float
) -> list[tuple[float, object]]:
    """Fire every timer up to ``end``; returns (time, output) pairs."""
    fired: list[tuple[float, object]] = []
    while tx.deadline is not None and tx.deadline <= end:
        now = tx.deadline
        fired.extend((now, out) for out in tx.handle_timer(now))
    return fired


def test_invite_retransmission_gets_the_same_provisional() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    ringing = make_response(invite, 180, to_tag="t")
    first = sends(tx.send_response(ringing, 0.1))
    assert sends(tx.receive_request(invite, 0.6)) == first
    assert tx.state is State.PROCEEDING


def test_2xx_retransmitted_doubling_to_t2_until_ack() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    ok = sends(tx.send_response(make_response(invite, 200, to_tag="t"), 0.0))
    assert tx.state is State.ACCEPTED
    fired = run_until(tx, 10.0)
    times = [t for t, out in fired if isinstance(out, Send)]
    # T1, then doubling (1, 2, 4) capped at T2 = 4 s.
    assert times == [0.5, 1.5, 3.5, 7.5]
    assert all(out.data == ok[0] for _, out in fired if isinstance(out, Send))
    assert tx.receive_ack(10.0) == []
    assert tx.acknowledged
    assert [out for _, out in run_until(tx, 40.0) if isinstance(out, Send)] == []
    # Timer L (64*T1) ends the transaction quietly once acknowledged.
    assert tx.terminated


def test_2xx_without_ack_times_out_at_timer_l() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    fired = run_until(tx, 100.0)
    timeouts = [(t, out) for t, out in fired if isinstance(out, TransactionTimedOut)]
    assert [t for t, _ in timeouts] == [32.0]
    assert tx.terminated
    retransmits = [t for t, out in fired if isinstance(out, Send)]
    assert retransmits[-1] < 32.0
    assert len(retransmits) == 10  # 0.5 1.5 3.5 7.5 11.5 … 31.5


def test_retransmitted_invite_in_accepted_gets_the_2xx() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    ok = sends(tx.send_response(make_response(invite, 200, to_tag="t"), 0.0))
    assert sends(tx.receive_request(invite, 0.2)) == ok


def test_non_2xx_final_timer_g_then_ack_then_timer_i() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    busy = sends(tx.send_response(make_response(invite, 486, to_tag="t"), 0.0))
    assert tx.state is State.COMPLETED
    fired = run_until(tx, 2.0)
    assert [t for t, out in fired if isinstance(out, Send)] == [0.5, 1.5]
    assert sends(tx.receive_request(invite, 2.0)) == busy
    ack = parse_message(request("ACK"))
    assert isinstance(ack, Request)
    tx.receive_request(ack, 2.1)
    assert tx.state is State.CONFIRMED
    assert tx.deadline == pytest.approx(2.1 + T.t4)
    assert run_until(tx, 8.0) == []
    assert tx.terminated


def test_non_2xx_without_ack_times_out_at_timer_h() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 404, to_tag="t"), 0.0)
    fired = run_until(tx, 100.0)
    assert [t for t, out in fired if isinstance(out, TransactionTimedOut)] == [32.0]


def test_reliable_transport_does_not_retransmit() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0, reliable=True)
    tx.send_response(make_response(invite, 486, to_tag="t"), 0.0)
    assert [o for _, o in run_until(tx, 40.0) if isinstance(o, Send)] == []


def test_invite_answered_twice_is_refused() -> None:
    invite = req()
    tx = InviteServerTransaction(invite, PEER, now=0.0)
    tx.send_response(make_response(invite, 200, to_tag="t"), 0.0)
    with pytest.raises(ValueError, match="already answered"):
        tx.send_response(make_response(invite, 487, to_tag="t"), 0.1)


def test_non_invite_server() -> None:
    options = req("OPTIONS")
    tx = NonInviteServerTransaction(options, PEER, now=0.0)
    assert tx.receive_request(options, 0.1) == []  # Trying: absorbed
    tx.send_response(make_response(options, 100), 0.2)
    provisional = sends(tx.receive_request(options, 0.3))
    assert provisional
    assert provisional[0].startswith(b"SIP/2.0 100")
    final = sends(tx.send_response(make_response(options, 200), 0.4))
    assert sends(tx.receive_request(options, 1.0)) == final
    assert tx.deadline == pytest.approx(0.4 + 32.0)  # Timer J
    run_until(tx, 40.0)
    assert tx.terminated


def test_client_timer_e_schedule_and_timer_f() -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=0.0)
    assert len(tx.start()) == 1
    fired = run_until(tx, 100.0)
    times = [t for t, out in fired if isinstance(out, Send)]
    assert times[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert [t for t, out in fired if isinstance(out, TransactionTimedOut)] == [32.0]


def test_client_provisional_moves_to_t2_and_final_ends_after_timer_k() -> None:
    bye = req("BYE")
    tx = ClientTransaction(bye, PEER, now=0.0)
    trying = parse_message(make_response(bye, 100).encode())
    out = tx.receive_response(trying, 0.2)  # type: ignore[arg-type]
    assert isinstance(out[0], ResponseReceived)
    fired = run_until(tx, 9.0)
    assert [t for t, o in fired if isinstance(o, Send)] == [0.5, 4.5, 8.5]
    ok = parse_message(make_response(bye, 200).encode())
    assert isinstance(tx.receive_response(ok, 9.0)[0], ResponseReceived)  # type: ignore[arg-type]
    assert tx.receive_response(ok, 9.1) == []  # type: ignore[arg-type]
    assert tx.deadline == pytest.approx(9.0 + T.t4)
    assert run_until(tx, 20.0) == []
    assert tx.terminated
