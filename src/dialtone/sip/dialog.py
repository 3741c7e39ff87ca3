"""Dialogs (RFC 3261 §12), UAS and UAC side: what two user agents share during a call."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import Headers, NameAddress, Via
from dialtone.sip.message import Request, Response
from dialtone.sip.uri import Uri

DialogId = tuple[str, str, str]


@dataclass(slots=True)
class Dialog:
    """A dialog, made by ``from_invite`` (we answered) or ``from_response`` (we called).

    ``local_tag`` is the To tag we put in our responses; ``remote_tag`` the From tag of the
    caller. ``local_seq`` starts where the caller passes it (the core never picks random
    numbers).
    """

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddress
    remote_uri: NameAddress
    remote_target: Uri
    route_set: tuple[NameAddress, ...] = ()
    remote_seq: int = 0
    local_seq: int = 0
    secure: bool = False
    confirmed: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> DialogId:
        """(Call-ID, local tag, remote tag): what identifies the dialog here."""
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def from_invite(cls, invite: Request, response: Response, *, local_seq: int = 1) -> Dialog:
        """The dialog a 2xx (or 1xx with a To tag) to ``invite`` creates (§12.1.1)."""
        local_tag = response.to.tag
        if local_tag is None:
            raise ValueError("a dialog-creating response needs a To tag")
        contacts = invite.contacts or ()
        if not contacts:
            raise SipParseError("INVITE without Contact")
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=invite.from_.tag or "",
            local_uri=response.to,
            remote_uri=invite.from_,
            remote_target=contacts[0].uri,
            route_set=invite.record_routes,
            remote_seq=invite.cseq.number,
            local_seq=local_seq,
            secure=invite.uri.scheme == "sips",
            confirmed=response.status >= 200,
        )

    @classmethod
    def from_response(cls, request: Request, response: Response) -> Dialog:
        """The dialog our INVITE's 2xx (or tagged 1xx) creates on the UAC side (§12.1.2).

        The route set is the response's Record-Route in reverse; the remote target its
        Contact. Our From tag is the local tag, the answer's To tag the remote one.
        """
        remote_tag = response.to.tag
        local_tag = request.from_.tag
        if remote_tag is None or local_tag is None:
            raise SipParseError("a UAC dialog needs both tags")
        contacts = response.contacts or ()
        if not contacts and response.status < 300:
            raise SipParseError(f"{response.status} without Contact")
        target = contacts[0].uri if contacts else request.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=request.from_,
            remote_uri=response.to,
            remote_target=target,
            route_set=tuple(reversed(response.record_routes)),
            remote_seq=0,
            local_seq=request.cseq.number,
            secure=request.uri.scheme == "sips",
            confirmed=200 <= response.status < 300,
        )

    def ack(self, invite_cseq: int, *, via: Via, body: bytes = b"") -> Request:
        """The ACK for a 2xx to our INVITE (§13.2.2.4): its own transaction-less request
        with a new branch, the CSeq number of the INVITE it acknowledges."""
        request = self._request("ACK", via=via, seq=invite_cseq)
        if body:
            request.headers.add("Content-Type", "application/sdp")
            request.body = body
        return request

    def update_target(self, response: Response) -> None:
        """A 2xx to a re-INVITE refreshes the remote target (§12.2.1.2)."""
        contacts = response.contacts if "Contact" in response.headers else None
        if contacts:
            self.remote_target = contacts[0].uri

    def accepts(self, request: Request) -> bool:
        """Check a request received in the dialog (§12.2.2): a CSeq lower than the last
        one is out of order, and the caller answers it with 500."""
        number = request.cseq.number
        if request.method in ("ACK", "CANCEL"):
            return True
        if number < self.remote_seq:
            return False
        self.remote_seq = number
        if request.method != "ACK":
            contacts = request.contacts if "Contact" in request.headers else None
            if contacts and request.method == "INVITE":
                # A target refresh (§12.2.2): re-INVITE may move the remote target.
                self.remote_target = contacts[0].uri
        return True

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        contact: str | None = None,
        user_agent: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A request inside the dialog (§12.2.1.1), e.g. the BYE the platform sends.

        The route set is used as loose routes (``;lr``), the common case today.
        """
        self.local_seq += 1
        request = self._request(method, via=via, seq=self.local_seq)
        headers = request.headers
        if contact is not None:
            headers.add("Contact", contact)
        if user_agent is not None:
            headers.add("User-Agent", user_agent)
        if body and content_type is not None:
            headers.add("Content-Type", content_type)
        request.body = body
        return request

    def _request(self, method: str, *, via: Via, seq: int) -> Request:
        headers = Headers()
        headers.add("Via", str(via))
        headers.add("Max-Forwards", "70")
        for route in self.route_set:
            headers.add("Route", str(route))
        headers.add("From", str(self.local_uri.with_tag(self.local_tag)))
        remote = self.remote_uri.with_tag(self.remote_tag) if self.remote_tag else self.remote_uri
        headers.add("To", str(remote))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{seq} {method}")
        return Request(headers=headers, method=method, uri=self.remote_target)
