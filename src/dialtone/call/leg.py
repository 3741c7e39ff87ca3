"""Legs: one dialog with one party, as an explicit state machine per direction.

An incoming leg (we are the UAS: the caller's INVITE) goes OFFERED → EARLY (18x sent) →
ANSWERED (2xx sent) → CONFIRMED (its ACK) → ENDED; an outgoing leg (we are the UAC: an
INVITE we send) goes CALLING → PROCEEDING (1xx) → CONFIRMED (2xx, our ACK sent) → ENDED,
through CANCELLING when we give up and AUTHENTICATING while a carrier's 401/407 is being
answered. Every request and response of a leg is built here, once: the INVITE, its
responses (with Contact, To tag, Allow), ACK, CANCEL, BYE, re-INVITE, INFO and NOTIFY.

Glare (RFC 3261 §14.1): a re-INVITE received while ours is pending is answered 491; ours
answered 491 is sent again after the random delay the ``Ids`` factory draws.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from dialtone.call.actions import Action, SendRequest, SendResponse, SetTimer
from dialtone.call.context import ALLOW, Address, Ids, SignallingPath, Trace
from dialtone.sip.dialog import Dialog
from dialtone.sip.digest import DigestError, authorization
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import NameAddress
from dialtone.sip.message import Request, Response, make_request, make_response
from dialtone.sip.transaction import InviteServerTransaction, ServerTransaction, cancel_for
from dialtone.sip.uri import Uri


class IncomingState(enum.Enum):
    OFFERED = "offered"
    EARLY = "early"
    ANSWERED = "answered"
    CONFIRMED = "confirmed"
    ENDED = "ended"


class OutgoingState(enum.Enum):
    CALLING = "calling"
    PROCEEDING = "proceeding"
    AUTHENTICATING = "authenticating"
    CONFIRMED = "confirmed"
    CANCELLING = "cancelling"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What we answer a carrier's digest challenge with."""

    username: str
    password: str = field(repr=False)  # never in a log line


@dataclass(frozen=True, slots=True)
class Destination:
    """One device or trunk an outgoing leg rings."""

    uri: Uri
    path: SignallingPath
    peer: Address
    to: NameAddress
    caller: NameAddress
    trace: Trace
    user_id: str | None = None
    credentials: Credentials | None = None
    # Headers the INVITE carries besides the usual ones (Referred-By for a transfer).
    extra_headers: tuple[tuple[str, str], ...] = ()


@dataclass(eq=False, slots=True)
class Leg:
    """What both kinds of leg share: the dialog, where it travels, in-dialog requests."""

    path: SignallingPath
    peer: Address
    call_id: str
    local_tag: str
    trace: Trace
    side: int = 0
    user_id: str | None = None
    dialog: Dialog | None = None
    sdp_version: int = 1
    # Our re-INVITE waiting for its final answer (glare, §14.1), and its body.
    reinvite: Request | None = None
    # We chose the Call-ID (an outgoing leg): the longer §14.1 retry delay is ours.
    owner: bool = False
    gone: bool = False  # BYE sent or received, or transferred away

    @property
    def key(self) -> tuple[str, str]:
        """(Call-ID, our tag): how in-dialog requests and responses find the leg."""
        return (self.call_id, self.local_tag)

    def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        contact: bool = False,
    ) -> SendRequest:
        """A request inside the leg's dialog (§12.2.1.1)."""
        assert self.dialog is not None
        request = self.dialog.create_request(
            method,
            via=self.path.via(),
            contact=self.path.contact if contact else None,
            body=body,
            content_type=content_type,
        )
        for name, value in headers:
            request.headers.add(name, value)
        return SendRequest(self.path, request, self.peer)

    def bye(self) -> list[Action]:
        """End the dialog from our side (nothing when there is none or it is gone)."""
        if self.dialog is None or self.gone:
            return []
        self.gone = True
        return [self.request("BYE")]

    def notify(self, sipfrag: str, *, active: bool) -> list[Action]:
        """A NOTIFY of the implicit REFER subscription (RFC 3515 §2.4.5), sipfrag body."""
        if self.dialog is None or self.gone:
            return []
        state = "active;expires=60" if active else "terminated;reason=noresource"
        return [
            self.request(
                "NOTIFY",
                body=sipfrag.encode() + b"\r\n",
                content_type="message/sipfrag;version=2.0",
                headers=(("Event", "refer"), ("Subscription-State", state)),
                contact=True,
            )
        ]

    def send_reinvite(self, body: bytes) -> list[Action]:
        """Offer ``body`` in a re-INVITE (hold, resume, a new party's media)."""
        if self.dialog is None or self.gone:
            return []
        send = self.request("INVITE", body=body, content_type="application/sdp", contact=True)
        self.reinvite = send.request
        return [send]

    def on_reinvite_response(self, response: Response, now: float, ids: Ids) -> list[Action]:
        """The answer to our re-INVITE: a 2xx is acknowledged and refreshes the target; a
        491 (glare) sends it again after the §14.1 delay (timer ``glare_timer``)."""
        request = self.reinvite
        if request is None or response.status < 200 or self.dialog is None:
            return []
        if 200 <= response.status < 300:
            self.reinvite = None
            self.dialog.update_target(response)
            ack = self.dialog.ack(request.cseq.number, via=self.path.via())
            return [SendRequest(self.path, ack, self.peer)]
        if response.status == 491:
            return [SetTimer(self.glare_timer, now + ids.glare_delay(self.owner))]
        self.reinvite = None
        return []

    @property
    def glare_timer(self) -> str:
        """The timer that retries our re-INVITE after a 491."""
        return f"glare:{self.call_id}:{self.local_tag}"

    def retry_reinvite(self) -> list[Action]:
        """The §14.1 delay passed: the re-INVITE again, with a new CSeq."""
        request = self.reinvite
        if request is None or self.gone:
            return []
        return self.send_reinvite(request.body)

    def reply(
        self,
        transaction: ServerTransaction,
        status: int,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        contact: bool = False,
    ) -> SendResponse:
        """Answer a request received inside the dialog."""
        extra = (("Contact", self.path.contact),) if contact else ()
        response = make_response(
            transaction.request,
            status,
            body=body,
            content_type=content_type,
            extra_headers=extra,
        )
        return SendResponse(self.path, transaction, response)


@dataclass(eq=False, slots=True)
class IncomingLeg(Leg):
    """The caller's side: the INVITE we received, answered here (the one responder)."""

    invite: Request | None = None
    transaction: InviteServerTransaction | None = None
    state: IncomingState = IncomingState.OFFERED
    allow: str = ALLOW

    @classmethod
    def from_invite(
        cls,
        request: Request,
        transaction: InviteServerTransaction,
        path: SignallingPath,
        peer: Address,
        trace: Trace,
        *,
        allow: str = ALLOW,
        user_id: str | None = None,
    ) -> IncomingLeg:
        return cls(
            path=path,
            peer=peer,
            call_id=request.call_id,
            local_tag=path.new_tag(),
            trace=trace,
            side=0,
            user_id=user_id,
            invite=request,
            transaction=transaction,
            allow=allow,
        )

    @property
    def pending(self) -> bool:
        """No final answer sent to the INVITE yet."""
        return self.state in (IncomingState.OFFERED, IncomingState.EARLY)

    def _respond(self, response: Response) -> SendResponse:
        assert self.transaction is not None
        return SendResponse(self.path, self.transaction, response)

    def provisional(self, status: int, body: bytes = b"") -> list[Action]:
        """180 or 183 (with early media's SDP), with our tag and Contact."""
        if not self.pending:
            return []
        assert self.invite is not None
        self.state = IncomingState.EARLY
        response = make_response(
            self.invite,
            status,
            to_tag=self.local_tag,
            body=body,
            content_type="application/sdp" if body else None,
            extra_headers=(("Contact", self.path.contact),),
        )
        return [self._respond(response)]

    def answer(self, body: bytes, local_seq: int) -> list[Action]:
        """200 with the SDP answer: the dialog exists from here (§12.1.1)."""
        if not self.pending:
            return []
        assert self.invite is not None
        response = make_response(
            self.invite,
            200,
            to_tag=self.local_tag,
            body=body,
            content_type="application/sdp",
            extra_headers=(("Contact", self.path.contact), ("Allow", self.allow)),
        )
        self.dialog = Dialog.from_invite(self.invite, response, local_seq=local_seq)
        self.state = IncomingState.ANSWERED
        return [self._respond(response)]

    def refuse(self, status: int, headers: tuple[tuple[str, str], ...] = ()) -> list[Action]:
        """A final non-2xx answer to the INVITE: the leg ends."""
        if not self.pending:
            return []
        assert self.invite is not None
        self.state = IncomingState.ENDED
        self.gone = True
        response = make_response(self.invite, status, to_tag=self.local_tag, extra_headers=headers)
        return [self._respond(response)]

    def acknowledged(self) -> None:
        """The caller's ACK for our 2xx."""
        if self.state is IncomingState.ANSWERED:
            self.state = IncomingState.CONFIRMED
            if self.dialog is not None:
                self.dialog.confirmed = True

    def bye(self) -> list[Action]:
        out = Leg.bye(self)
        if out:
            self.state = IncomingState.ENDED
        return out


class InviteResult(enum.Enum):
    """What a response to an outgoing leg's INVITE means to whoever dialled it."""

    IGNORED = "ignored"  # 100, a retransmitted 2xx (ACKed again), a leg we gave up
    PROVISIONAL = "provisional"
    ANSWERED = "answered"
    FAILED = "failed"
    CHALLENGED = "challenged"  # answered with credentials: the INVITE went again


@dataclass(eq=False, slots=True)
class OutgoingLeg(Leg):
    """A party we call: the one INVITE builder, and what its responses mean."""

    destination: Destination | None = None
    invite: Request | None = None
    state: OutgoingState = OutgoingState.CALLING
    auth_tried: bool = False
    status: int = 0  # the final status (408 for a timeout)

    @classmethod
    def dial(
        cls,
        destination: Destination,
        *,
        side: int,
        ids: Ids,
        offer: bytes,
        allow: str | None = ALLOW,
    ) -> tuple[OutgoingLeg, list[Action]]:
        """A new leg to ``destination`` and its INVITE carrying ``offer``."""
        path = destination.path
        leg = cls(
            path=path,
            peer=destination.peer,
            call_id=ids.call_id(),
            local_tag=path.new_tag(),
            trace=destination.trace,
            side=side,
            user_id=destination.user_id,
            owner=True,
            destination=destination,
        )
        extra = (("Allow", allow),) if allow else ()
        leg.invite = make_request(
            "INVITE",
            destination.uri,
            via=path.via(),
            from_=destination.caller.with_tag(leg.local_tag),
            to=destination.to,
            call_id=leg.call_id,
            cseq=1,
            contact=path.contact,
            extra_headers=(*extra, *destination.extra_headers),
            body=offer,
            content_type="application/sdp",
        )
        return leg, [SendRequest(path, leg.invite, leg.peer)]

    @property
    def ringing(self) -> bool:
        """Waiting for a final answer (and not given up)."""
        return self.state in (
            OutgoingState.CALLING,
            OutgoingState.PROCEEDING,
            OutgoingState.AUTHENTICATING,
        )

    def on_invite_response(self, response: Response, ids: Ids) -> tuple[InviteResult, list[Action]]:
        """Classify a response to the INVITE; every 2xx is ACKed (§13.2.2.4), a 2xx after
        we gave up (CANCEL raced it) or a second one then gets a BYE from the caller."""
        status = response.status
        if status < 200:
            if status == 100 or not self.ringing:
                return InviteResult.IGNORED, []
            self.state = OutgoingState.PROCEEDING
            return InviteResult.PROVISIONAL, []
        if status < 300:
            return self._on_success(response)
        if self.state in (OutgoingState.CONFIRMED, OutgoingState.ENDED):
            return InviteResult.IGNORED, []
        if (
            status in (401, 407)
            and self.state is not OutgoingState.CANCELLING
            and not self.auth_tried
        ):
            actions = self._authenticate(response, ids)
            if actions:
                return InviteResult.CHALLENGED, actions
        cancelled = self.state is OutgoingState.CANCELLING
        self.state = OutgoingState.ENDED
        self.status = status
        self.gone = True
        return (InviteResult.IGNORED if cancelled else InviteResult.FAILED), []

    def _on_success(self, response: Response) -> tuple[InviteResult, list[Action]]:
        assert self.invite is not None
        if self.dialog is None:
            try:
                self.dialog = Dialog.from_response(self.invite, response)
            except SipParseError:
                return InviteResult.IGNORED, []
        ack = self.dialog.ack(self.invite.cseq.number, via=self.path.via())
        actions: list[Action] = [SendRequest(self.path, ack, self.peer)]
        if self.state is OutgoingState.CONFIRMED:
            return InviteResult.IGNORED, actions  # a retransmission: ACKed again
        if self.state in (OutgoingState.CANCELLING, OutgoingState.ENDED):
            # The 200 crossed our CANCEL (or the call ended): the dialog exists, end it.
            self.state = OutgoingState.ENDED
            self.gone = False
            return InviteResult.IGNORED, [*actions, *Leg.bye(self)]
        self.state = OutgoingState.CONFIRMED
        self.status = response.status
        return InviteResult.ANSWERED, actions

    def ack_again(self, response: Response) -> list[Action]:
        """A 2xx retransmitted after the transaction ended (a stray success)."""
        if self.dialog is None:
            return []
        ack = self.dialog.ack(response.cseq.number, via=self.path.via())
        return [SendRequest(self.path, ack, self.peer)]

    def timed_out(self) -> bool:
        """No final answer in time (Timer B): a 408. True when this ends a ringing leg."""
        if not self.ringing and self.state is not OutgoingState.CANCELLING:
            return False
        was_ringing = self.ringing
        self.state = OutgoingState.ENDED
        self.status = 408
        self.gone = True
        return was_ringing

    def cancel(self) -> list[Action]:
        """Give up on a ringing leg (§9.1); the 487 that follows is absorbed."""
        if not self.ringing or self.invite is None:
            return []
        self.state = OutgoingState.CANCELLING
        return [SendRequest(self.path, cancel_for(self.invite), self.peer)]

    def hang_up(self) -> list[Action]:
        """CANCEL while ringing, BYE once answered."""
        if self.ringing:
            return self.cancel()
        out = Leg.bye(self)
        if out:
            self.state = OutgoingState.ENDED
        return out

    def _authenticate(self, response: Response, ids: Ids) -> list[Action]:
        """Answer a carrier's 401/407 once with its credentials: the INVITE again, CSeq+1."""
        destination = self.destination
        old = self.invite
        if destination is None or destination.credentials is None or old is None:
            return []
        header = "Proxy-Authenticate" if response.status == 407 else "WWW-Authenticate"
        challenge = response.headers.get(header)
        if challenge is None:
            return []
        try:
            value = authorization(
                challenge,
                method="INVITE",
                uri=str(old.uri),
                username=destination.credentials.username,
                password=destination.credentials.password,
                cnonce=ids.cnonce(),
            )
        except DigestError:
            return []
        self.auth_tried = True
        self.state = OutgoingState.AUTHENTICATING
        invite = make_request(
            "INVITE",
            old.uri,
            via=self.path.via(),
            from_=old.from_,
            to=old.to,
            call_id=old.call_id,
            cseq=old.cseq.number + 1,
            contact=old.headers.get("Contact"),
            extra_headers=(
                ("Allow", old.headers.get("Allow") or "INVITE, ACK, BYE, CANCEL"),
                *destination.extra_headers,
                ("Proxy-Authorization" if response.status == 407 else "Authorization", value),
            ),
            body=old.body,
            content_type="application/sdp",
        )
        self.invite = invite
        return [SendRequest(self.path, invite, self.peer)]
