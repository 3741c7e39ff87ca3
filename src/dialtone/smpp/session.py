"""One SMPP 3.4 session (one TCP connection), as a state machine that does no I/O and
reads no clock, for either side: an ESME (we bind to a carrier's SMSC) or an SMSC (an
ESME binds to us). In the style of h11 and ``dialtone.sip.transaction``.

Bytes that arrive go to ``receive_data``, which returns events; the requests this side
makes go through ``send`` and its answers through ``respond``, both returning the bytes
to write. Bytes the session writes on its own (enquire_link and its answer, the answers
to requests the state does not allow, generic_nack) come out as ``Transmit`` events, in
order with the others. ``next_deadline`` says when ``on_timer`` is due.

What the session does by itself (SMPP 3.4 §2.3, §2.8, §3.3, §4.11):
- answers enquire_link and unbind (then CLOSED);
- refuses, with ESME_RINVBNDSTS (ESME_RALYBND for a second bind), a request the peer may
  not send in the current state, without an event;
- answers a PDU it cannot read with the command's own response carrying the decode
  status, or a generic_nack; when the command_length itself is wrong the framing is
  lost: generic_nack, then CLOSED;
- sends enquire_link after ``enquire_link_interval`` without a PDU from the peer;
- reports a request unanswered after ``response_timeout`` (``RequestTimedOut``); an
  unanswered bind, unbind or enquire_link means the peer is gone: CLOSED;
- closes a connection not bound within ``session_init_timeout`` (``SessionTimedOut``).
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass

from dialtone.smpp.codec import DEFAULT_MAX_LENGTH, PduReader, encode
from dialtone.smpp.constants import MAX_SEQUENCE, RESPONSE_BIT, CommandId, CommandStatus
from dialtone.smpp.errors import SmppDecodeError
from dialtone.smpp.pdu import (
    Bind,
    BindKind,
    EnquireLink,
    GenericNack,
    Outbind,
    Pdu,
    RequestBody,
    ResponseBody,
    Unbind,
    error_response_for,
    response_to,
)


class Role(enum.Enum):
    ESME = "esme"
    SMSC = "smsc"

    @property
    def peer(self) -> Role:
        return Role.SMSC if self is Role.ESME else Role.ESME


class State(enum.Enum):
    """Session states (SMPP 3.4 §2.2), the same on both sides; BINDING is the time
    between a bind and its answer, UNBINDING between our unbind and its answer."""

    OPEN = "open"
    BINDING = "binding"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


class Trigger(enum.Enum):
    BIND = "bind sent (ESME) or received (SMSC)"
    ACCEPTED_TX = "bind_transmitter answered ESME_ROK"
    ACCEPTED_RX = "bind_receiver answered ESME_ROK"
    ACCEPTED_TRX = "bind_transceiver answered ESME_ROK"
    REFUSED = "bind answered with an error"
    UNBIND_SENT = "we sent unbind"
    UNBIND_RECEIVED = "the peer sent unbind (answered at once)"
    UNBIND_ANSWERED = "our unbind was answered"


_S = State
_T = Trigger
BOUND = frozenset({_S.BOUND_TX, _S.BOUND_RX, _S.BOUND_TRX})
# Every state goes to CLOSED as well when the connection fails (framing lost, timeouts).
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (_S.OPEN, _T.BIND): _S.BINDING,
    (_S.BINDING, _T.ACCEPTED_TX): _S.BOUND_TX,
    (_S.BINDING, _T.ACCEPTED_RX): _S.BOUND_RX,
    (_S.BINDING, _T.ACCEPTED_TRX): _S.BOUND_TRX,
    (_S.BINDING, _T.REFUSED): _S.OPEN,  # the ESME may try again (§2.8)
    **{(state, _T.UNBIND_SENT): _S.UNBINDING for state in BOUND},
    **{(state, _T.UNBIND_RECEIVED): _S.CLOSED for state in (*BOUND, _S.UNBINDING)},
    (_S.UNBINDING, _T.UNBIND_ANSWERED): _S.CLOSED,
}
_ACCEPTED = {
    BindKind.TRANSMITTER: _T.ACCEPTED_TX,
    BindKind.RECEIVER: _T.ACCEPTED_RX,
    BindKind.TRANSCEIVER: _T.ACCEPTED_TRX,
}

_C = CommandId
_ESME, _SMSC = Role.ESME, Role.SMSC
_TX_SIDE = frozenset({_S.BOUND_TX, _S.BOUND_TRX})  # ESME to SMSC traffic
_RX_SIDE = frozenset({_S.BOUND_RX, _S.BOUND_TRX})  # SMSC to ESME traffic
_ALIVE = frozenset(State) - {_S.CLOSED}
# Which side may send each request, in which states (SMPP 3.4 §2.3, Table 2-1, §4).
MAY_SEND: dict[tuple[Role, CommandId], frozenset[State]] = {
    (_ESME, _C.BIND_TRANSMITTER): frozenset({_S.OPEN}),
    (_ESME, _C.BIND_RECEIVER): frozenset({_S.OPEN}),
    (_ESME, _C.BIND_TRANSCEIVER): frozenset({_S.OPEN}),
    (_SMSC, _C.OUTBIND): frozenset({_S.OPEN}),
    (_ESME, _C.SUBMIT_SM): _TX_SIDE,
    (_ESME, _C.QUERY_SM): _TX_SIDE,
    (_ESME, _C.DATA_SM): _TX_SIDE,
    (_SMSC, _C.DATA_SM): _RX_SIDE,
    (_SMSC, _C.DELIVER_SM): _RX_SIDE,
    (_ESME, _C.ENQUIRE_LINK): _ALIVE,
    (_SMSC, _C.ENQUIRE_LINK): _ALIVE,
    (_ESME, _C.UNBIND): BOUND,
    (_SMSC, _C.UNBIND): BOUND,
}


_RESPONSE_IDS = frozenset(c for c in CommandId if c.is_response)


class SmppSessionError(Exception):
    """This side broke the protocol: a request the state does not allow, past the
    window, an answer to nothing. A programming error, never caused by the peer."""


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transmit:
    """Bytes the session wrote on its own: send them, in order with the other events."""

    data: bytes


@dataclass(frozen=True, slots=True)
class BindRequested:
    """(SMSC) An ESME asks to bind: check it, then ``respond`` with a BindResp or a status."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Bound:
    """(ESME) Our bind was accepted; ``pdu`` is the bind_resp."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request the state allows: answer it with ``respond`` (outbind has no answer)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The answer to our request ``request_seq`` (a generic_nack included). A bind
    refused comes this way too, the session back in OPEN."""

    request_seq: int
    pdu: Pdu
    request: RequestBody


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """Our request ``sequence_number`` had no answer within ``response_timeout``."""

    sequence_number: int
    body: RequestBody


@dataclass(frozen=True, slots=True)
class Unbound:
    """The session ended by unbind, either side's: close the connection."""


@dataclass(frozen=True, slots=True)
class SessionTimedOut:
    """No bind within ``session_init_timeout``: close the connection."""


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """The peer sent something wrong. ``closed``: the framing is lost, close the
    connection (the generic_nack went first)."""

    status: int
    reason: str
    sequence_number: int | None
    closed: bool


Event = (
    Transmit
    | BindRequested
    | Bound
    | RequestReceived
    | ResponseReceived
    | RequestTimedOut
    | Unbound
    | SessionTimedOut
    | ProtocolError
)


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Timers in seconds (the names of SMPP 5.0 §2.9, whose values 3.4 leaves open) and
    the window: how many of our requests may wait for an answer at once (§2.7;
    enquire_link does not count, so keep-alive never waits for room)."""

    window: int = 10
    response_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    session_init_timeout: float = 30.0
    max_pdu_length: int = DEFAULT_MAX_LENGTH


@dataclass(slots=True)
class _Outstanding:
    body: RequestBody
    deadline: float
    internal: bool  # our own keep-alive: its answer is no event


class SmppSession:
    """One connection's SMPP session, for ``role``'s side. ``now`` is monotonic seconds."""

    def __init__(self, role: Role, *, now: float, settings: SessionSettings | None = None) -> None:
        self.role = role
        self.settings = settings or SessionSettings()
        self.state = State.OPEN
        self._reader = PduReader(max_length=self.settings.max_pdu_length)
        self._opened_at = now
        self._last_received = now
        self._next_sequence = 1
        self._outstanding: dict[int, _Outstanding] = {}
        self._windowed = 0  # outstanding requests that count against the window
        self._internal = 0  # outstanding keep-alives of our own
        self._unanswered: dict[int, Pdu] = {}

    # --- state ------------------------------------------------------------------------

    def _fire(self, trigger: Trigger) -> None:
        self.state = TRANSITIONS[(self.state, trigger)]

    def _close(self) -> None:
        self.state = State.CLOSED

    @property
    def closed(self) -> bool:
        """Whether the session has ended: the connection should close."""
        return self.state is State.CLOSED

    @property
    def outstanding(self) -> int:
        """Our requests waiting for an answer that count against the window."""
        return self._windowed

    def can_send(self) -> bool:
        """Whether the window has room for one more request."""
        return self.state is not State.CLOSED and self.outstanding < self.settings.window

    # --- sending ----------------------------------------------------------------------

    def _count(self, body: RequestBody, internal: bool, step: int) -> None:
        """Keep the window's count (enquire_link is outside it) and our own keep-alives'
        count, so neither is a walk over the outstanding requests."""
        if not isinstance(body, EnquireLink):
            self._windowed += step
        if internal:
            self._internal += step

    def _forget(self, sequence: int) -> None:
        entry = self._outstanding.pop(sequence)
        self._count(entry.body, entry.internal, -1)

    def _take_sequence(self) -> int:
        while True:
            sequence = self._next_sequence
            self._next_sequence = 1 if sequence >= MAX_SEQUENCE else sequence + 1
            if sequence not in self._outstanding:
                return sequence

    def _request(self, body: RequestBody, now: float, *, internal: bool = False) -> bytes:
        sequence = self._take_sequence()
        if not isinstance(body, Outbind):  # outbind has no answer to wait for (§4.1.7)
            deadline = now + self.settings.response_timeout
            self._outstanding[sequence] = _Outstanding(body, deadline, internal)
            self._count(body, internal, 1)
        return encode(Pdu(body, sequence))

    def send(self, body: RequestBody, now: float) -> bytes:
        """Our request ``body`` as bytes to write, with the next sequence number.
        Raises ``SmppSessionError`` when the state does not allow it (§2.3) or the
        window is full (check ``can_send``)."""
        if self.state not in MAY_SEND.get((self.role, body.command_id), frozenset()):
            raise SmppSessionError(
                f"{self.role.value} may not send {body.command_id.name} in {self.state.value}"
            )
        if not isinstance(body, EnquireLink) and not self.can_send():
            raise SmppSessionError(f"the window of {self.settings.window} is full")
        data = self._request(body, now)
        if isinstance(body, Bind):
            self._fire(Trigger.BIND)
        elif isinstance(body, Unbind):
            self._fire(Trigger.UNBIND_SENT)
        return data

    def respond(
        self,
        request: Pdu,
        reply: ResponseBody | int,
        now: float,
        *,
        status: int = CommandStatus.ESME_ROK,
    ) -> bytes:
        """The answer to the peer's ``request``: a response body (with ``status``), or a
        bare command_status, which sends the command's empty response (§3.3). Answering
        a bind (SMSC) binds the session, or returns it to OPEN on an error."""
        del now  # answers start no timer; the parameter keeps every entry point alike
        if self.state is State.CLOSED:
            raise SmppSessionError("the session is closed")
        if self._unanswered.get(request.sequence_number) is not request:
            raise SmppSessionError(f"request {request.sequence_number} awaits no answer")
        body = request.body
        if isinstance(body, Outbind | ResponseBody):
            raise SmppSessionError("only requests are answered")
        expected = response_to(body)
        if isinstance(reply, int):
            answer, status = expected, reply
        elif type(reply) is type(expected) or isinstance(reply, GenericNack):
            answer = reply
        else:
            raise SmppSessionError(f"{type(reply).__name__} does not answer {type(body).__name__}")
        del self._unanswered[request.sequence_number]
        if isinstance(body, Bind) and self.state is State.BINDING:
            failed = status != CommandStatus.ESME_ROK or isinstance(answer, GenericNack)
            self._fire(Trigger.REFUSED if failed else _ACCEPTED[body.kind])
        return encode(Pdu(answer, request.sequence_number, status))

    # --- receiving --------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes read from the connection; the events they make, in order."""
        events: list[Event] = []
        if self.closed:
            return events
        self._reader.feed(data)
        while not self.closed:
            try:
                pdu = self._reader.next_pdu()
            except SmppDecodeError as error:
                events += self._undecodable(error)
                continue
            if pdu is None:
                break
            self._last_received = now
            body = pdu.body
            if isinstance(body, ResponseBody):
                events += self._on_response(pdu)
            else:
                events += self._on_request(pdu, body)
        return events

    def _undecodable(self, error: SmppDecodeError) -> list[Event]:
        sequence = error.sequence_number
        event = ProtocolError(error.status, str(error), sequence, error.framing_lost)
        command_id = error.command_id
        known_response = command_id in _RESPONSE_IDS
        if known_response and not error.framing_lost:
            return [event]  # a response is never answered (§3.3)
        answer: ResponseBody = GenericNack()
        if not error.framing_lost and command_id is not None:
            answer = error_response_for(command_id) or answer
        out: list[Event] = [Transmit(encode(Pdu(answer, sequence or 0, error.status))), event]
        if error.framing_lost:
            self._close()
        return out

    def _refusal(self, body: RequestBody) -> CommandStatus | None:
        if self.state in MAY_SEND.get((self.role.peer, body.command_id), frozenset()):
            return None
        if isinstance(body, Unbind) and self.state is State.UNBINDING:
            return None  # both sides unbinding at once: answer and close
        if isinstance(body, Bind) and self.role is Role.SMSC and self.state is not State.OPEN:
            return CommandStatus.ESME_RALYBND
        return CommandStatus.ESME_RINVBNDSTS

    def _on_request(self, pdu: Pdu, body: RequestBody) -> list[Event]:
        refusal = self._refusal(body)
        if refusal is not None:
            answer = GenericNack() if isinstance(body, Outbind) else response_to(body)
            return [Transmit(encode(Pdu(answer, pdu.sequence_number, refusal)))]
        match body:
            case EnquireLink():
                return [Transmit(encode(Pdu(response_to(body), pdu.sequence_number)))]
            case Unbind():
                self._fire(Trigger.UNBIND_RECEIVED)
                return [Transmit(encode(Pdu(response_to(body), pdu.sequence_number))), Unbound()]
            case Outbind():
                return [RequestReceived(pdu)]
            case Bind():
                self._fire(Trigger.BIND)
                self._unanswered[pdu.sequence_number] = pdu
                return [BindRequested(pdu)]
            case _:
                self._unanswered[pdu.sequence_number] = pdu
                return [RequestReceived(pdu)]

    def _on_response(self, pdu: Pdu) -> list[Event]:
        sequence = pdu.sequence_number
        entry = self._outstanding.get(sequence)
        if entry is None:
            reason = f"{pdu.command_id.name} answers no request of ours"
            return [ProtocolError(CommandStatus.ESME_RINVCMDID, reason, sequence, False)]
        request = entry.body
        if pdu.command_id not in (request.command_id | RESPONSE_BIT, CommandId.GENERIC_NACK):
            reason = f"{pdu.command_id.name} does not answer {request.command_id.name}"
            return [ProtocolError(CommandStatus.ESME_RINVCMDID, reason, sequence, False)]
        self._forget(sequence)
        accepted = pdu.command_status == 0 and pdu.command_id != CommandId.GENERIC_NACK
        if isinstance(request, Bind):
            self._fire(_ACCEPTED[request.kind] if accepted else Trigger.REFUSED)
            if accepted:
                return [Bound(pdu)]
        elif isinstance(request, Unbind):
            self._fire(Trigger.UNBIND_ANSWERED)
            return [Unbound()]
        if entry.internal:
            return []
        return [ResponseReceived(sequence, pdu, request)]

    # --- timers -----------------------------------------------------------------------

    def _keepalive_due(self) -> float | None:
        if self.state not in BOUND or self._internal:
            return None
        return self._last_received + self.settings.enquire_link_interval

    def _init_due(self) -> float | None:
        if self.state not in (State.OPEN, State.BINDING):
            return None
        return self._opened_at + self.settings.session_init_timeout

    def next_deadline(self) -> float | None:
        """When ``on_timer`` is next due, or None (closed, or nothing to wait for)."""
        if self.state is State.CLOSED:
            return None
        # Every request waits the same response_timeout from a clock that does not go
        # back, so the oldest request (dicts keep insertion order) is the first due: no
        # walk over the window at every PDU.
        due = [o.deadline for o in itertools.islice(self._outstanding.values(), 1)]
        due += [d for d in (self._keepalive_due(), self._init_due()) if d is not None]
        return min(due, default=None)

    def on_timer(self, now: float) -> list[Event]:
        """Whatever is due at ``now``: time-outs, the session init timer, keep-alive."""
        events: list[Event] = []
        for sequence, entry in sorted(self._outstanding.items()):
            if self.state is State.CLOSED or entry.deadline > now:
                continue
            self._forget(sequence)
            events.append(RequestTimedOut(sequence, entry.body))
            # Silence to a bind, unbind or keep-alive means the peer is gone.
            if isinstance(entry.body, Bind | Unbind | EnquireLink):
                self._close()
        init_due = self._init_due()
        if init_due is not None and now >= init_due:
            events.append(SessionTimedOut())
            self._close()
        keepalive_due = self._keepalive_due()
        if keepalive_due is not None and now >= keepalive_due:
            events.append(Transmit(self._request(EnquireLink(), now, internal=True)))
        return events
