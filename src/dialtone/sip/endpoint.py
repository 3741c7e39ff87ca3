"""The sans-I/O SIP endpoint: transport rules, transaction layer and UAS core checks.

Bytes come in with ``receive(data, source, now)``; what to do goes out as a list of
outputs: :class:`~dialtone.sip.transaction.Send` for the socket, and events for the
application (the transaction user). The application answers with ``respond``. Nothing here
opens a socket or reads a clock, so the whole protocol is tested without either.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass

from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import Headers, Via, parse_via, split_list
from dialtone.sip.message import (
    MalformedRequest,
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from dialtone.sip.transaction import (
    DEFAULT_TIMERS,
    MAGIC_COOKIE,
    Address,
    ClientTransaction,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteServerTransaction,
    ResponseReceived,
    Send,
    ServerTransaction,
    TimerSettings,
    TransactionTimedOut,
    server_transaction_key,
)

KNOWN_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request for the application; answer it with ``SipEndpoint.respond``."""

    transaction: ServerTransaction
    request: Request
    source: Address


@dataclass(frozen=True, slots=True)
class AckReceived:
    """The ACK for a 2xx: the dialog is confirmed (RFC 3261 §13.3.1.4)."""

    request: Request
    transaction: InviteServerTransaction | None
    source: Address


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """A CANCEL matched a pending INVITE; the endpoint already answered the CANCEL 200.

    The application should answer the INVITE 487 unless it already sent a final response.
    """

    invite: InviteServerTransaction
    request: Request


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """A message that could not be processed: answered with ``status`` or dropped."""

    reason: str
    source: Address
    status: int | None


@dataclass(frozen=True, slots=True)
class StraySuccess:
    """A 2xx to one of our INVITEs whose transaction has ended (Timer M passed, or a late
    fork): the TU acknowledges it in its dialog, or sends ACK and BYE (RFC 3261 §13.2.2.4)."""

    response: Response
    source: Address


Output = (
    Send
    | StraySuccess
    | RequestReceived
    | AckReceived
    | CancelReceived
    | MessageRejected
    | ResponseReceived
    | TransactionTimedOut
)


# The branch of the first (top) Via of a message, read from its bytes.
_TOP_BRANCH = re.compile(
    rb"\r\n(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch[ \t]*=[ \t]*([^;, \t\r\n]+)", re.IGNORECASE
)

# Given a new out-of-dialog request and its transaction: None to let it through, or the
# response that refuses it.
Screen = Callable[[Request, ServerTransaction], Response | None]
# Told each final response to a new INVITE (no To tag: a call attempt, not a re-INVITE)
# as it is sent, whoever made it: the application, the UAS checks or the screen.
FinalAnswer = Callable[[Request, Response], None]


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    """What the UAS core accepts (RFC 3261 §8.2): methods, URI schemes, extensions,
    body types."""

    methods: frozenset[str] = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"})
    uri_schemes: frozenset[str] = frozenset({"sip", "sips", "tel"})
    extensions: frozenset[str] = frozenset()
    content_types: frozenset[str] = frozenset({"application/sdp"})
    user_agent: str = "dialtone"


class SipEndpoint:
    """One SIP endpoint bound to one local address over one transport.

    ``new_tag`` supplies To tags, ``new_branch`` branch ids; both are passed in so the core
    stays deterministic under test.
    """

    def __init__(
        self,
        *,
        local_host: str,
        local_port: int,
        new_tag: Callable[[], str],
        new_branch: Callable[[], str],
        transport: str = "UDP",
        timers: TimerSettings = DEFAULT_TIMERS,
        policy: EndpointPolicy | None = None,
    ) -> None:
        self.local_host = local_host
        self.local_port = local_port
        self.transport = transport.upper()
        self.reliable = self.transport != "UDP"
        self.timers = timers
        self.policy = policy or EndpointPolicy()
        self._new_tag = new_tag
        self._new_branch = new_branch
        self._server: dict[tuple[str, ...], ServerTransaction] = {}
        self._client: dict[tuple[str, str], ClientTransaction] = {}
        # 2xx-answered INVITEs waiting for their ACK, by (Call-ID, To tag, CSeq number): a
        # re-INVITE shares the first two with the INVITE that made the dialog.
        self._accepted: dict[tuple[str, str, int], InviteServerTransaction] = {}
        self._timers: list[tuple[float, int, object]] = []
        self._seq = 0
        self.stats: dict[str, int] = {"received": 0, "rejected": 0, "dropped": 0, "shed": 0}
        # Asked about every new out-of-dialog request before the application hears of it
        # (overload control): a response it returns is sent instead, through the request's
        # transaction, so retransmissions get it again and an ACK is absorbed.
        self.screen: Screen | None = None
        # INVITEs the screen refused, awaiting their ACK, by branch (see _absorb_ack).
        self._refused: dict[str, InviteServerTransaction] = {}
        # Requests received by method (retransmissions and ACKs included): methods we do
        # not know count as "other", so a peer cannot grow the table.
        self.requests: dict[str, int] = {method: 0 for method in KNOWN_METHODS}
        self.requests["other"] = 0
        self.on_final: FinalAnswer | None = None

    # -- input -----------------------------------------------------------------------------

    def receive(self, data: bytes, source: Address, now: float) -> list[Output]:
        """Handle one datagram (or one framed stream message) from ``source``."""
        self.stats["received"] += 1
        if not data.strip(b"\r\n"):
            return []  # CRLF keep-alive (RFC 5626 §3.5.1)
        if self._refused and data[:4] == b"ACK " and self._absorb_ack(data, now):
            return []
        try:
            message = parse_message(data, stream=self.reliable)
        except MalformedRequest as malformed:
            # A name of its own: compiled (mypyc), one name is one type in a function.
            return self._reject_malformed(malformed, source)
        except SipParseError as exc:
            self.stats["dropped"] += 1
            return [MessageRejected(str(exc), source, None)]
        if isinstance(message, Response):
            return self._receive_response(message, source, now)
        return self._receive_request(message, source, now)

    def _reject_malformed(self, exc: MalformedRequest, source: Address) -> list[Output]:
        response = None if exc.method == "ACK" else make_error_response(exc, to_tag=self._new_tag())
        if response is None:
            self.stats["dropped"] += 1
            return [MessageRejected(exc.reason, source, None)]
        self.stats["rejected"] += 1
        try:
            destination = self._response_destination(top_via_of(response.headers), source)
        except SipParseError:
            destination = source
        return [
            Send(response.encode(), destination),
            MessageRejected(exc.reason, source, response.status),
        ]

    def _receive_response(self, response: Response, source: Address, now: float) -> list[Output]:
        via = response.top_via
        if via.host.lower() != self.local_host.lower() or (via.port or 5060) != self.local_port:
            # Not a response to anything we sent (RFC 3261 §18.1.2): discard it.
            return [MessageRejected("response whose top Via is not ours", source, None)]
        key = (via.branch or "", response.cseq.method)
        tx = self._client.get(key)
        if tx is None and response.cseq.method == "INVITE" and 200 <= response.status < 300:
            return [StraySuccess(response, source)]
        if tx is None:
            # Stray responses are absorbed (RFC 3261 §18.1.2); never answer a response.
            return [MessageRejected("response matches no transaction", source, None)]
        outs = tx.receive_response(response, now)
        self._arm(tx)
        return list(outs)

    def _receive_request(self, request: Request, source: Address, now: float) -> list[Output]:
        method = request.method
        self.requests[method if method in self.requests else "other"] += 1
        self._stamp_received(request, source)
        key = server_transaction_key(request)
        existing = self._server.get(key)
        if existing is not None:
            outs: list[Output] = list(existing.receive_request(request, now))
            self._arm(existing)
            # An ACK for a non-2xx (same branch) ends there; for a 2xx sent by a peer that
            # reuses the INVITE's branch, the application hears of it too.
            last = existing.last_status
            if request.method == "ACK" and last is not None and 200 <= last < 300:
                assert isinstance(existing, InviteServerTransaction)
                outs.append(AckReceived(request, existing, source))
            return outs
        if request.method == "ACK":
            return self._receive_ack(request, source, now)
        peer = self._response_destination(request.top_via, source)
        if request.method == "CANCEL":
            return self._receive_cancel(request, peer, now)
        rejection = self._check_request(request)
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = InviteServerTransaction(
                request, peer, now=now, reliable=self.reliable, timers=self.timers
            )
        else:
            tx = NonInviteServerTransaction(
                request, peer, now=now, reliable=self.reliable, timers=self.timers
            )
        self._server[tx.key] = tx
        if rejection is not None:
            self.stats["rejected"] += 1
            return [
                *self.respond(tx, rejection, now),
                MessageRejected(rejection.reason, source, rejection.status),
            ]
        if self.screen is not None and request.to.tag is None:
            refusal = self.screen(request, tx)
            if refusal is not None:
                # Before 100 Trying: a refused request must cost as little as it can.
                self.stats["shed"] += 1
                if isinstance(tx, InviteServerTransaction) and tx.key[0] != "rfc2543":
                    self._refused[tx.key[0]] = tx
                return self.respond(tx, refusal, now)
        out: list[Output] = []
        if request.method == "INVITE":
            # Sent at once: the application may take longer than 200 ms (§17.2.1).
            out.extend(self.respond(tx, make_response(request, 100), now))
        out.append(RequestReceived(tx, request, source))
        return out

    def _absorb_ack(self, data: bytes, now: float) -> bool:
        """The ACK of a refused INVITE, absorbed without parsing the message: under
        overload every refused INVITE brings one, and its parse was as costly as the
        refusal. Matched by the top Via's branch alone, which RFC 3261 §8.1.1.7 makes
        unique; all the ACK can do is stop the refusal's retransmissions, so a forged
        one gains nothing. Anything unusual (no match) takes the normal path."""
        found = _TOP_BRANCH.search(data)
        if found is None:
            return False
        tx = self._refused.pop(found.group(1).decode("ascii", "replace"), None)
        if tx is None:
            return False
        tx.receive_ack(now)
        self._arm(tx)
        return True

    def _receive_ack(self, request: Request, source: Address, now: float) -> list[Output]:
        to_tag = request.to.tag or ""
        tx = self._accepted.get((request.call_id, to_tag, request.cseq.number))
        if tx is not None:
            tx.receive_ack(now)
            self._arm(tx)
        # An ACK for a dialog we know nothing about is absorbed (never answered).
        return [AckReceived(request, tx, source)]

    def _receive_cancel(self, request: Request, peer: Address, now: float) -> list[Output]:
        cancel_tx = NonInviteServerTransaction(
            request, peer, now=now, reliable=self.reliable, timers=self.timers
        )
        self._server[cancel_tx.key] = cancel_tx
        invite_key = (*server_transaction_key(request)[:-1], "INVITE")
        invite = self._server.get(invite_key)
        if not isinstance(invite, InviteServerTransaction):
            return list(
                self.respond(cancel_tx, make_response(request, 481, to_tag=self._new_tag()), now)
            )
        # The To tag of the INVITE's responses when there is one (§9.2); a UAS tags every
        # response but 100 (§8.2.6.2), so a fresh one otherwise.
        to_tag = invite.last_to_tag
        if to_tag is None:
            to_tag = self._new_tag()
        out: list[Output] = list(
            self.respond(cancel_tx, make_response(request, 200, to_tag=to_tag), now)
        )
        if invite.last_status is None or invite.last_status < 200:
            out.append(CancelReceived(invite, request))
        return out

    def _check_request(self, request: Request) -> Response | None:
        """The UAS core checks of RFC 3261 §8.2, in the order it gives."""
        policy = self.policy
        method = request.method

        def reject(status: int, *extra: tuple[str, str]) -> Response:
            # Every response but 100 carries a To tag (§8.2.6.2).
            return make_response(request, status, to_tag=self._new_tag(), extra_headers=extra)

        if method not in policy.methods:
            status = 405 if method in KNOWN_METHODS else 501
            return reject(status, ("Allow", ", ".join(sorted(policy.methods))))
        if request.uri.scheme not in policy.uri_schemes:
            return reject(416)
        required = [
            opt for opt in request.headers.values("Require") if opt and opt not in policy.extensions
        ]
        if required and method not in ("CANCEL", "ACK"):
            return reject(420, ("Unsupported", ", ".join(required)))
        if request.body:
            content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type.lower() not in policy.content_types:
                return reject(415, ("Accept", ", ".join(sorted(policy.content_types))))
        # Only an INVITE's answer carries a body (the SDP answer) that Accept could refuse;
        # a 200 to OPTIONS needs none (RFC 3261 §11.2), so monitoring probes that accept
        # only text/plain (sipsak) get their 200 rather than a 406.
        if method == "INVITE" and "Accept" in request.headers:
            accepted = {v.split(";")[0].strip().lower() for v in request.headers.values("Accept")}
            ok = accepted & (policy.content_types | {"*/*", "application/*"})
            if accepted - {""} and not ok:
                return reject(406)
        return None

    # -- output ----------------------------------------------------------------------------

    def respond(
        self, transaction: ServerTransaction, response: Response, now: float
    ) -> list[Output]:
        """Send the application's response through its transaction."""
        if self.policy.user_agent and "Server" not in response.headers:
            response.headers.add("Server", self.policy.user_agent)
        outs = transaction.send_response(response, now)
        if (
            self.on_final is not None
            and response.status >= 200
            and isinstance(transaction, InviteServerTransaction)
            and transaction.request.to.tag is None
        ):
            self.on_final(transaction.request, response)
        if isinstance(transaction, InviteServerTransaction) and 200 <= response.status < 300:
            tag = response.to.tag or ""
            key = (transaction.request.call_id, tag, transaction.request.cseq.number)
            transaction.accepted_key = key
            self._accepted[key] = transaction
        self._arm(transaction)
        return list(outs)

    def send_request(self, request: Request, destination: Address, now: float) -> list[Output]:
        """Start a client transaction for ``request`` to ``destination``.

        INVITE gets an INVITE client transaction; an ACK for a 2xx has none (it is sent
        once per 2xx received, §13.2.2.4); anything else a non-INVITE one.
        """
        if self.policy.user_agent and "User-Agent" not in request.headers:
            request.headers.add("User-Agent", self.policy.user_agent)
        if request.method == "ACK":
            return [Send(request.encode(), destination)]
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = InviteClientTransaction(
                request, destination, now=now, reliable=self.reliable, timers=self.timers
            )
        else:
            tx = ClientTransaction(
                request, destination, now=now, reliable=self.reliable, timers=self.timers
            )
        self._client[tx.key] = tx
        self._arm(tx)
        return list(tx.start())

    def client_transaction(self, branch: str, method: str) -> ClientTransaction | None:
        """The live client transaction for (branch, method), if any."""
        return self._client.get((branch, method))

    def via(self) -> Via:
        """A new top Via for a request this endpoint sends."""
        return Via(
            transport=self.transport,
            host=self.local_host,
            port=self.local_port,
            params=(("branch", MAGIC_COOKIE + self._new_branch()), ("rport", None)),
        )

    def new_tag(self) -> str:
        """A fresh tag for a To or From header."""
        return self._new_tag()

    # -- timers ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``handle_timers`` must next be called (None when nothing is pending)."""
        while self._timers:
            deadline, _, tx = self._timers[0]
            if getattr(tx, "deadline", None) == deadline:
                return deadline
            heapq.heappop(self._timers)
        return None

    def handle_timers(self, now: float) -> list[Output]:
        """Fire every transaction timer due at ``now``; forget ended transactions."""
        out: list[Output] = []
        while self._timers and self._timers[0][0] <= now:
            deadline, _, tx = heapq.heappop(self._timers)
            if not isinstance(tx, ServerTransaction | ClientTransaction):
                continue
            if tx.deadline != deadline:
                continue  # rescheduled since; a newer heap entry stands for it
            out.extend(tx.handle_timer(now))
            self._arm(tx)
        return out

    def _arm(self, tx: ServerTransaction | ClientTransaction) -> None:
        if tx.terminated:
            self._forget(tx)
            return
        if tx.deadline is not None:
            self._seq += 1
            heapq.heappush(self._timers, (tx.deadline, self._seq, tx))

    def _forget(self, tx: ServerTransaction | ClientTransaction) -> None:
        if isinstance(tx, ClientTransaction):
            if self._client.get(tx.key) is tx:
                del self._client[tx.key]
            return
        if self._server.get(tx.key) is tx:
            del self._server[tx.key]
        if self._refused.get(tx.key[0]) is tx:
            del self._refused[tx.key[0]]
        key = tx.accepted_key
        if key is not None and self._accepted.get(key) is tx:
            del self._accepted[key]

    @property
    def transaction_count(self) -> int:
        """Live server and client transactions (for health and tests)."""
        return len(self._server) + len(self._client)

    # -- transport rules -------------------------------------------------------------------

    def _stamp_received(self, request: Request, source: Address) -> None:
        """Add ``received`` and fill ``rport`` on the top Via (RFC 3261 §18.2.1, RFC 3581)."""
        via = request.top_via
        updates: dict[str, str | None] = {}
        if via.host.strip("[]") != source[0]:
            updates["received"] = source[0]
        if via.param("rport") == "":
            updates["rport"] = str(source[1])
            updates["received"] = source[0]
        if not updates:
            return
        stamped = via.with_params(**updates)
        # Only the first value of the first Via line is the top Via.
        first_line = split_list(request.headers.get_all("Via")[0])
        first_line[0] = str(stamped)
        rebuilt = Headers()
        replaced = False
        for name, value in request.headers:
            if name == "Via" and not replaced:
                rebuilt.add(name, ", ".join(first_line))
                replaced = True
            else:
                rebuilt.add(name, value)
        request.headers = rebuilt
        request._via = (stamped, *request.vias[1:])

    def _response_destination(self, via: Via, source: Address) -> Address:
        """Where responses go (RFC 3261 §18.2.2, RFC 3581 §4): the source address, and the
        source port when ``rport`` was asked for, else the port in Via."""
        if self.reliable:
            return source
        rport = via.param("rport")
        if rport:
            return (source[0], int(rport))
        if rport == "":
            return source
        return (source[0], via.port or 5060)


def top_via_of(headers: Headers) -> Via:
    """The top Via of a header list."""
    values = headers.values("Via")
    if not values:
        raise SipParseError("no Via")
    return parse_via(values[0])
