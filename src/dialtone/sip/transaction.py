"""SIP transactions (RFC 3261 §17), as state machines that never read a clock.

Each method takes ``now`` (seconds, any monotonic origin) and returns what to do: bytes to
send and events for the transaction user. ``deadline`` says when ``handle_timer`` must be
called next. The INVITE server transaction follows RFC 6026: after a 2xx it enters the
Accepted state, retransmits the 2xx until the ACK comes (RFC 3261 §13.3.1.4) and absorbs
retransmitted INVITEs until Timer L.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dialtone.sip.headers import Headers, parse_name_address
from dialtone.sip.message import Request, Response

Address = tuple[str, int]
MAGIC_COOKIE = "z9hG4bK"


@dataclass(frozen=True, slots=True)
class TimerSettings:
    """RFC 3261 §17.1.1.1 and Table 4 base values, in seconds."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def timeout(self) -> float:
        """64*T1: Timers B, F, H, J and L."""
        return 64 * self.t1


DEFAULT_TIMERS = TimerSettings()


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``data`` to ``destination`` over the transport that carries the transaction."""

    data: bytes
    destination: Address


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """A transaction ended without the message it waited for.

    For an INVITE server transaction: no ACK came (Timer H, or Timer L after a 2xx — the
    TU must then end the dialog with BYE, RFC 3261 §13.3.1.4). For a client transaction:
    no final response (Timer F), which the TU treats as a 408.
    """

    transaction: ServerTransaction | ClientTransaction


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response that matched a client transaction, for its transaction user."""

    transaction: ClientTransaction
    response: Response


TransactionOutput = Send | TransactionTimedOut | ResponseReceived


class State(enum.Enum):
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def server_transaction_key(request: Request) -> tuple[str, ...]:
    """The key that matches a request to its server transaction (RFC 3261 §17.2.3).

    ACK matches the INVITE it acknowledges; CANCEL has a transaction of its own.
    Requests without the RFC 3261 magic cookie fall back to RFC 2543 matching.
    """
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        host, port = via.sent_by
        return (branch, host.lower(), str(port or ""), method)
    # RFC 2543 §17.2.3 fallback: Call-ID, CSeq number, From tag and the top Via as a whole.
    return (
        "rfc2543",
        request.call_id,
        str(request.cseq.number),
        request.from_.tag or "",
        str(via).lower(),
        method,
    )


class ServerTransaction:
    """Behaviour shared by INVITE and non-INVITE server transactions."""

    is_invite = False

    def __init__(
        self,
        request: Request,
        peer: Address,
        *,
        now: float,
        reliable: bool = False,
        timers: TimerSettings = DEFAULT_TIMERS,
    ) -> None:
        self._request: Request | None = request
        self.key = server_transaction_key(request)
        self.peer = peer
        self.reliable = reliable
        self.timers = timers
        self.created_at = now
        self.state = State.TRYING
        self.last_response: Response | None = None
        self.last_status: int | None = None
        self._last_to: str | None = None
        self._last_bytes: bytes | None = None
        self.deadline: float | None = None
        # Set by the endpoint when a 2xx makes this INVITE match ACKs by dialog.
        self.accepted_key: tuple[str, str, int] | None = None
        self._start()

    @property
    def request(self) -> Request:
        """The request that opened the transaction (gone once the transaction is retired)."""
        if self._request is None:
            raise RuntimeError("the transaction is retired: only retransmissions remain")
        return self._request

    @property
    def retired(self) -> bool:
        """Whether the parsed request and response were let go (see ``_retire``)."""
        return self._request is None

    @property
    def last_to_tag(self) -> str | None:
        """The To tag of the last response sent (None before one, or without a tag)."""
        if self._last_to is None:
            return None
        return parse_name_address(self._last_to, what="To").tag

    def _retire(self) -> None:
        """Let go of the parsed request and response once only retransmissions are left
        to absorb (the bytes to resend stay). A lingering transaction (32 s for RFC 3261's
        timers J and L) then holds no message objects: at a few hundred calls/s those
        were most of what the garbage collector walked and most of the memory per call."""
        self._request = None
        self.last_response = None

    def _start(self) -> None:
        """Set the state the transaction starts in (a hook for the INVITE kind)."""

    @property
    def terminated(self) -> bool:
        """Whether the transaction is over and may be forgotten."""
        return self.state is State.TERMINATED

    def _transmit(self, response: Response) -> Send:
        self.last_response = response
        self.last_status = response.status
        self._last_to = response.headers.get("To")
        self._last_bytes = response.encode()
        return Send(self._last_bytes, self.peer)

    def _retransmit(self) -> list[TransactionOutput]:
        if self._last_bytes is None:
            return []
        return [Send(self._last_bytes, self.peer)]

    def receive_request(self, request: Request, now: float) -> list[TransactionOutput]:
        """A retransmission of the request (or, for INVITE, its ACK) arrived."""
        raise NotImplementedError

    def send_response(self, response: Response, now: float) -> list[TransactionOutput]:
        """The TU answers; returns the bytes to send."""
        raise NotImplementedError

    def handle_timer(self, now: float) -> list[TransactionOutput]:
        """Fire whatever timers are due at ``now``."""
        raise NotImplementedError


class NonInviteServerTransaction(ServerTransaction):
    """RFC 3261 §17.2.2 (Figure 8)."""

    def receive_request(self, request: Request, now: float) -> list[TransactionOutput]:
        if self.state in (State.PROCEEDING, State.COMPLETED):
            return self._retransmit()
        return []

    def send_response(self, response: Response, now: float) -> list[TransactionOutput]:
        if self.state in (State.COMPLETED, State.TERMINATED):
            raise ValueError(f"transaction already answered ({self.state.value})")
        out: list[TransactionOutput] = [self._transmit(response)]
        if response.status < 200:
            self.state = State.PROCEEDING
            return out
        self.state = State.COMPLETED
        # Timer J keeps the final response for retransmitted requests.
        wait = 0.0 if self.reliable else self.timers.timeout
        self.deadline = now + wait
        self._retire()
        return out

    def handle_timer(self, now: float) -> list[TransactionOutput]:
        if self.deadline is not None and now >= self.deadline and self.state is State.COMPLETED:
            self.state = State.TERMINATED
            self.deadline = None
        return []


class InviteServerTransaction(ServerTransaction):
    """RFC 3261 §17.2.1 (Figure 7) with the Accepted state of RFC 6026."""

    is_invite = True

    def _start(self) -> None:
        self.state = State.PROCEEDING
        self.acknowledged = False
        self._retransmit_interval = self.timers.t1
        self._retransmit_at: float | None = None
        self._end_at: float | None = None

    def _schedule(self) -> None:
        candidates = [t for t in (self._retransmit_at, self._end_at) if t is not None]
        self.deadline = min(candidates) if candidates else None

    def receive_request(self, request: Request, now: float) -> list[TransactionOutput]:
        if request.method == "ACK":
            return self.receive_ack(now)
        # A retransmitted INVITE gets the last response again (§17.2.1).
        if self.state in (State.PROCEEDING, State.COMPLETED, State.ACCEPTED):
            return self._retransmit()
        return []

    def receive_ack(self, now: float) -> list[TransactionOutput]:
        """An ACK for this INVITE: for a non-2xx it matched by branch, for a 2xx the
        dialog layer matched it and says so here."""
        if self.state is State.COMPLETED:
            self.state = State.CONFIRMED
            self._retransmit_at = None
            # Timer I absorbs ACK retransmissions.
            self._end_at = now + (0.0 if self.reliable else self.timers.t4)
            self._schedule()
            self._retire()
        elif self.state is State.ACCEPTED and not self.acknowledged:
            self.acknowledged = True
            self._retransmit_at = None
            self._schedule()
            self._retire()
        return []

    def send_response(self, response: Response, now: float) -> list[TransactionOutput]:
        if self.state is not State.PROCEEDING:
            raise ValueError(f"INVITE already answered ({self.state.value})")
        out: list[TransactionOutput] = [self._transmit(response)]
        if response.status < 200:
            return out
        self._retransmit_interval = self.timers.t1
        if response.status < 300:
            self.state = State.ACCEPTED
            # The 2xx is retransmitted whatever the transport until the ACK (§13.3.1.4).
            self._retransmit_at = now + self.timers.t1
            self._end_at = now + self.timers.timeout  # Timer L
        else:
            self.state = State.COMPLETED
            self._retransmit_at = None if self.reliable else now + self.timers.t1  # Timer G
            self._end_at = now + self.timers.timeout  # Timer H
        self._schedule()
        return out

    def handle_timer(self, now: float) -> list[TransactionOutput]:
        out: list[TransactionOutput] = []
        if self._end_at is not None and now >= self._end_at:
            timed_out = (self.state is State.COMPLETED) or (
                self.state is State.ACCEPTED and not self.acknowledged
            )
            self.state = State.TERMINATED
            self._end_at = self._retransmit_at = None
            self._schedule()
            if timed_out:
                out.append(TransactionTimedOut(self))
            return out
        if self._retransmit_at is not None and now >= self._retransmit_at:
            out.extend(self._retransmit())
            self._retransmit_interval = min(2 * self._retransmit_interval, self.timers.t2)
            self._retransmit_at = now + self._retransmit_interval
        self._schedule()
        return out


class ClientTransaction:
    """A non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6).

    Used for the requests the platform sends inside a dialog (BYE).
    """

    def __init__(
        self,
        request: Request,
        destination: Address,
        *,
        now: float,
        reliable: bool = False,
        timers: TimerSettings = DEFAULT_TIMERS,
    ) -> None:
        self.request = request
        self.destination = destination
        self.reliable = reliable
        self.timers = timers
        via = request.top_via
        self.key = (via.branch or "", request.cseq.method)
        self.state = State.TRYING
        self.final_response: Response | None = None
        self._bytes = request.encode()
        self._interval = timers.t1
        self._retransmit_at: float | None = None if reliable else now + timers.t1  # Timer E
        self._end_at: float | None = now + timers.timeout  # Timer F
        self.deadline: float | None = None
        self._schedule()

    @property
    def terminated(self) -> bool:
        """Whether the transaction is over and may be forgotten."""
        return self.state is State.TERMINATED

    def _schedule(self) -> None:
        candidates = [t for t in (self._retransmit_at, self._end_at) if t is not None]
        self.deadline = min(candidates) if candidates else None

    def start(self) -> list[TransactionOutput]:
        """The first transmission of the request."""
        return [Send(self._bytes, self.destination)]

    def receive_response(self, response: Response, now: float) -> list[TransactionOutput]:
        """A response matched this transaction (by branch and CSeq method)."""
        if self.state in (State.COMPLETED, State.TERMINATED):
            return []
        if response.status < 200:
            if self.state is State.TRYING:
                self.state = State.PROCEEDING
            return [ResponseReceived(self, response)]
        self.state = State.COMPLETED
        self.final_response = response
        self._retransmit_at = None
        self._end_at = now + (0.0 if self.reliable else self.timers.t4)  # Timer K
        self._schedule()
        return [ResponseReceived(self, response)]

    def handle_timer(self, now: float) -> list[TransactionOutput]:
        """Fire Timer E (retransmit), F (time out) or K (end)."""
        out: list[TransactionOutput] = []
        if self._end_at is not None and now >= self._end_at:
            timed_out = self.state in (State.TRYING, State.PROCEEDING)
            self.state = State.TERMINATED
            self._end_at = self._retransmit_at = None
            self._schedule()
            if timed_out:
                out.append(TransactionTimedOut(self))
            return out
        if self._retransmit_at is not None and now >= self._retransmit_at:
            out.append(Send(self._bytes, self.destination))
            if self.state is State.PROCEEDING:
                self._interval = self.timers.t2
            else:
                self._interval = min(2 * self._interval, self.timers.t2)
            self._retransmit_at = now + self._interval
        self._schedule()
        return out


class InviteClientTransaction(ClientTransaction):
    """The INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) with RFC 6026.

    Timer A retransmits the INVITE (unreliable transports), Timer B gives up while no
    response came. A non-2xx final response is acknowledged here (same branch) and the
    ACK is sent again for each retransmission until Timer D. A 2xx moves to Accepted:
    every 2xx (first and retransmitted, possibly from several forks) goes to the TU, which
    acknowledges it in its dialog, until Timer M.
    """

    def __init__(
        self,
        request: Request,
        destination: Address,
        *,
        now: float,
        reliable: bool = False,
        timers: TimerSettings = DEFAULT_TIMERS,
    ) -> None:
        super().__init__(request, destination, now=now, reliable=reliable, timers=timers)
        self.state = State.TRYING  # "Calling" in Figure 5
        self._ack: bytes | None = None

    def receive_response(self, response: Response, now: float) -> list[TransactionOutput]:
        """A response matched this INVITE (by branch and CSeq method)."""
        status = response.status
        if self.state is State.TERMINATED:
            return []
        if status < 200:
            if self.state in (State.TRYING, State.PROCEEDING):
                self.state = State.PROCEEDING
                # No Timer B once the far end is proceeding: the TU's own ring timeout
                # (and CANCEL) decides how long a call may ring (§17.1.1.2).
                self._retransmit_at = None
                self._end_at = None
                self._schedule()
                return [ResponseReceived(self, response)]
            return []
        if status < 300:
            first = self.state in (State.TRYING, State.PROCEEDING)
            if first:
                self.state = State.ACCEPTED
                self.final_response = response
                self._retransmit_at = None
                self._end_at = now + self.timers.timeout  # Timer M (RFC 6026 §8.4)
                self._schedule()
            if self.state is State.ACCEPTED:
                return [ResponseReceived(self, response)]
            return []
        if self.state is State.COMPLETED:
            # A retransmitted final response: acknowledge it again, tell nobody.
            return [Send(self._ack, self.destination)] if self._ack is not None else []
        if self.state is State.ACCEPTED:
            return []
        self.state = State.COMPLETED
        self.final_response = response
        self._ack = ack_for_failure(self.request, response).encode()
        self._retransmit_at = None
        self._end_at = now + (0.0 if self.reliable else 32.0)  # Timer D
        self._schedule()
        return [Send(self._ack, self.destination), ResponseReceived(self, response)]

    def handle_timer(self, now: float) -> list[TransactionOutput]:
        """Fire Timer A (retransmit), B (time out), D or M (end)."""
        out: list[TransactionOutput] = []
        if self._end_at is not None and now >= self._end_at:
            timed_out = self.state is State.TRYING
            self.state = State.TERMINATED
            self._end_at = self._retransmit_at = None
            self._schedule()
            if timed_out:
                out.append(TransactionTimedOut(self))
            return out
        if self._retransmit_at is not None and now >= self._retransmit_at:
            out.append(Send(self._bytes, self.destination))
            # Timer A doubles without the T2 cap the non-INVITE Timer E has (§17.1.1.2).
            self._interval = 2 * self._interval
            self._retransmit_at = now + self._interval
        self._schedule()
        return out


def ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3).

    Same Request-URI, Call-ID, From, CSeq number and top Via (so the same branch) as the
    INVITE; To from the response (it carries the far end's tag); the INVITE's Route set.
    """
    return _same_transaction(invite, "ACK", to=response.headers.get("To") or "")


def cancel_for(invite: Request) -> Request:
    """The CANCEL for a pending INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From,
    To, CSeq number, top Via and Route set; the method is CANCEL."""
    return _same_transaction(invite, "CANCEL", to=invite.headers.get("To") or "")


def _same_transaction(invite: Request, method: str, *, to: str) -> Request:
    """A request that shares the INVITE's top Via (branch), Route set, From, Call-ID and
    CSeq number, as ACK-for-failure and CANCEL both must."""
    headers = Headers()
    headers.add("Via", invite.headers.values("Via")[0])
    headers.add("Max-Forwards", "70")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} {method}")
    return Request(headers=headers, method=method, uri=invite.uri)
