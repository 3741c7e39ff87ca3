"""SIP requests and responses: parsing from bytes and serialising to bytes (RFC 3261 §7, §25).

``parse_message`` frames one message out of a datagram, unfolds header lines, expands
compact names and checks the header fields every element relies on (Via, From, To,
Call-ID, CSeq, Max-Forwards, Content-Length). A request that fails those checks raises
:class:`MalformedRequest`, which keeps what could be read so that a 400 can still be built;
anything else raises :class:`SipParseError`. No other exception escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import (
    MAX_EXPIRES,
    SINGLE_HEADERS,
    CSeq,
    Headers,
    NameAddress,
    Via,
    canonical_name,
    contact_list,
    is_header_name,
    is_token,
    parse_cseq,
    parse_name_address,
    parse_uint,
    parse_via,
    route_list,
)
from dialtone.sip.uri import Uri, parse_uri

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_BYTES = 65535

REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

_VERSION = re.compile(r"SIP/\d{1,3}\.\d{1,3}\Z", re.IGNORECASE)
_STATUS_LINE = re.compile(r"(SIP/\d{1,3}\.\d{1,3}) (\d{3}) (.*)\Z", re.IGNORECASE | re.DOTALL)
_MANDATORY_KEYS = (("From", "from"), ("To", "to"), ("Call-ID", "call-id"), ("CSeq", "cseq"))
# Control characters may appear in a header only as a quoted-pair (``\\`` then the octet,
# CR and LF excluded; RFC 3261 §25.1). A bare CR copied into a response would split a line.
_BAD_CONTROL = re.compile(r"(?<!\\)[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|[\r\n]")
# The same test over a whole header block, where CRLF and LF end lines: one search
# instead of one per line when (as almost always) nothing is wrong.
_BAD_CONTROL_IN_HEAD = re.compile(r"(?<!\\)[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


def reason_phrase(status: int) -> str:
    """The RFC 3261 §21 reason phrase for ``status`` (a class default if unlisted)."""
    phrase = REASON_PHRASES.get(status)
    if phrase is not None:
        return phrase
    return {1: "Progress", 2: "OK", 3: "Redirect", 4: "Client Error", 5: "Server Error"}.get(
        status // 100, "Global Failure"
    )


@dataclass(slots=True)
class Message:
    """What requests and responses share: header fields and a body."""

    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = SIP_VERSION

    # Typed views of the core header fields, filled when parsed or first read.
    _via: tuple[Via, ...] | None = field(default=None, repr=False, compare=False)
    _from: NameAddress | None = field(default=None, repr=False, compare=False)
    _to: NameAddress | None = field(default=None, repr=False, compare=False)
    _cseq: CSeq | None = field(default=None, repr=False, compare=False)

    @property
    def vias(self) -> tuple[Via, ...]:
        """Every Via value, topmost first."""
        if self._via is None:
            self._via = tuple(parse_via(v) for v in self.headers.values("Via"))
        return self._via

    @property
    def top_via(self) -> Via:
        """The topmost Via (the one naming the previous hop)."""
        vias = self.vias
        if not vias:
            raise SipParseError("no Via")
        return vias[0]

    @property
    def from_(self) -> NameAddress:
        """The From header as an address."""
        if self._from is None:
            self._from = parse_name_address(self._required("From"), what="From")
        return self._from

    @property
    def to(self) -> NameAddress:
        """The To header as an address."""
        if self._to is None:
            self._to = parse_name_address(self._required("To"), what="To")
        return self._to

    @property
    def call_id(self) -> str:
        """The Call-ID."""
        return self._required("Call-ID").strip()

    @property
    def cseq(self) -> CSeq:
        """The CSeq header."""
        if self._cseq is None:
            self._cseq = parse_cseq(self._required("CSeq"))
        return self._cseq

    @property
    def contacts(self) -> tuple[NameAddress, ...] | None:
        """The Contact addresses; None for ``Contact: *``."""
        return contact_list(self.headers.values("Contact"))

    @property
    def record_routes(self) -> tuple[NameAddress, ...]:
        """The Record-Route addresses, in header order."""
        return route_list(self.headers.values("Record-Route"))

    def set_header(self, name: str, value: str) -> None:
        """Set a header field, dropping the cached typed view of it."""
        self.headers.set(name, value)
        self._forget(name)

    def add_header(self, name: str, value: str) -> None:
        """Append a header line, dropping the cached typed view of it."""
        self.headers.add(name, value)
        self._forget(name)

    def _forget(self, name: str) -> None:
        key = canonical_name(name).lower()
        if key == "via":
            self._via = None
        elif key == "from":
            self._from = None
        elif key == "to":
            self._to = None
        elif key == "cseq":
            self._cseq = None

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name}")
        return value

    def _encode(self, start_line: str) -> bytes:
        head = self.headers.copy()
        head.set("Content-Length", str(len(self.body)))
        text = f"{start_line}\r\n{head.encode()}\r\n"
        return text.encode("utf-8", "surrogateescape") + self.body


@dataclass(slots=True)
class Request(Message):
    """A SIP request."""

    method: str = "OPTIONS"
    uri: Uri = field(default_factory=lambda: parse_uri("sip:invalid"))

    def encode(self) -> bytes:
        """The request as bytes for the wire; Content-Length is set from the body."""
        return self._encode(f"{self.method} {self.uri} {self.version}")

    def __bytes__(self) -> bytes:
        return self.encode()


@dataclass(slots=True)
class Response(Message):
    """A SIP response."""

    status: int = 200
    reason: str = "OK"

    def encode(self) -> bytes:
        """The response as bytes for the wire; Content-Length is set from the body."""
        return self._encode(f"{self.version} {self.status} {self.reason}")

    def __bytes__(self) -> bytes:
        return self.encode()


class MalformedRequest(SipParseError):
    """A request line was read but the request is not valid.

    ``headers`` holds the header lines that could be read, so the caller can answer 400
    (or ``status`` when another code fits, e.g. 505) when Via, From, To, Call-ID and CSeq
    are there.
    """

    def __init__(self, reason: str, *, method: str, headers: Headers, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.method = method
        self.headers = headers
        self.status = status


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one SIP message from a datagram (or a framed stream message).

    Bytes after the body that Content-Length announces are ignored (RFC 3261 §18.3,
    RFC 4475 §3.1.1.8). Over a stream, Content-Length is required.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("message too large")
    # RFC 3261 §7.5: ignore CRLFs before the start line (keep-alives).
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    sep = 4
    if end == -1:
        end = data.find(b"\n\n", start)
        sep = 2
    truncated = end == -1
    if truncated:
        end = len(data)
    head = data[start:end].decode("utf-8", "surrogateescape")
    body = data[end + sep :]
    clean = _BAD_CONTROL_IN_HEAD.search(head) is None
    lines = _unfold(head.rstrip("\r\n") if truncated else head)
    if not lines or not lines[0]:
        raise SipParseError("empty message")
    start_line = lines[0]
    if start_line[:4].upper() == "SIP/":
        if not clean and _BAD_CONTROL.search(start_line):
            raise SipParseError("control character in the status line")
        if truncated:
            raise SipParseError("no empty line after the header fields")
        return _parse_response(start_line, lines[1:], body, stream=stream, clean=clean)
    request = _parse_request(start_line, lines[1:], body, stream=stream, clean=clean)
    if truncated:
        raise MalformedRequest(
            "no empty line after the header fields",
            method=request.method,
            headers=request.headers,
        )
    return request


def _unfold(head: str) -> list[str]:
    """Split header lines, joining continuation lines (RFC 3261 §7.3.1)."""
    raw = head.replace("\r\n", "\n").split("\n")
    lines: list[str] = []
    for line in raw:
        if line[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip(" \t") + " " + line.strip(" \t")
        else:
            lines.append(line)
    return lines


def _read_headers(lines: list[str], *, clean: bool = False) -> Headers:
    """Header lines to :class:`Headers`; ``clean`` when the caller already knows no line
    holds a control character."""
    headers = Headers()
    for line in lines:
        colon = line.find(":")
        if colon <= 0:
            raise SipParseError(f"header line without a name: {line[:40]!r}")
        name = line[:colon].rstrip(" \t")
        if not is_header_name(name):
            raise SipParseError(f"bad header name {name[:40]!r}")
        if not clean and _BAD_CONTROL.search(line):
            raise SipParseError(f"control character in {name[:40]}")
        headers.add(name, line[colon + 1 :].strip(" \t"))
    return headers


def _frame_body(headers: Headers, body: bytes, *, stream: bool) -> bytes:
    lengths = headers.get_all("Content-Length")
    if len(lengths) > 1:
        raise SipParseError("several Content-Length header fields")
    if not lengths:
        if stream:
            raise SipParseError("Content-Length is required over a stream transport")
        return body
    length = parse_uint(lengths[0], what="Content-Length", maximum=MAX_MESSAGE_BYTES)
    if length > len(body):
        raise SipParseError("Content-Length larger than the message")
    return body[:length]


def _parse_request(
    start_line: str, lines: list[str], body: bytes, *, stream: bool, clean: bool
) -> Request:
    parts = start_line.split(" ")
    method = parts[0]
    if not is_token(method):
        raise SipParseError("bad request line")
    try:
        headers = _read_headers(lines, clean=clean)
    except SipParseError as exc:
        raise MalformedRequest(str(exc), method=method, headers=Headers()) from None
    if len(parts) != 3 or not all(parts) or (not clean and _BAD_CONTROL.search(start_line)):
        # Extra or trailing spaces (RFC 4475 §3.1.2.8-10): refuse, but with a 400.
        raise MalformedRequest("bad request line", method=method, headers=headers)
    uri_text, version = parts[1], parts[2]
    try:
        if not _VERSION.match(version):
            raise SipParseError("bad SIP version")
        uri = parse_uri(uri_text, allow_headers=False)
        message_body = _frame_body(headers, body, stream=stream)
        request = Request(
            headers=headers, body=message_body, version=version.upper(), method=method, uri=uri
        )
        _check_core_headers(request)
    except SipParseError as exc:
        raise MalformedRequest(str(exc), method=method, headers=headers) from None
    if request.version != SIP_VERSION:
        raise MalformedRequest(
            f"SIP version {version} is not supported",
            method=method,
            headers=headers,
            status=505,
        )
    if request.cseq.method != method:
        raise MalformedRequest(
            "CSeq method does not match the request method", method=method, headers=headers
        )
    return request


def _parse_response(
    start_line: str, lines: list[str], body: bytes, *, stream: bool, clean: bool
) -> Response:
    m = _STATUS_LINE.match(start_line)
    if m is None:
        raise SipParseError("bad status line")
    version, code, reason = m.groups()
    status = int(code)
    if status < 100 or status > 699:
        raise SipParseError("status code out of range")
    headers = _read_headers(lines, clean=clean)
    response = Response(
        headers=headers,
        body=_frame_body(headers, body, stream=stream),
        version=version.upper(),
        status=status,
        reason=reason,
    )
    _check_core_headers(response)
    return response


def _check_core_headers(message: Message) -> None:
    """Parse the header fields that transactions and dialogs rely on; raise if bad."""
    headers = message.headers
    counts = headers.name_counts()
    for key in SINGLE_HEADERS:
        if counts.get(key, 0) > 1:
            raise SipParseError(f"{canonical_name(key)} appears more than once")
    first = headers.first_values()
    for name, key in _MANDATORY_KEYS:
        if key not in first:
            raise SipParseError(f"missing {name}")
    vias = message.vias
    if not vias:
        raise SipParseError("missing Via")
    for name, key in _MANDATORY_KEYS:
        if not first[key].strip():
            raise SipParseError(f"empty {name}")
    message.from_  # noqa: B018 - parsing is the check
    message.to  # noqa: B018
    message.cseq  # noqa: B018
    call_id = first["call-id"]
    if " " in call_id.strip() or "\t" in call_id.strip():
        raise SipParseError("bad Call-ID")
    max_forwards = first.get("max-forwards")
    if max_forwards is not None:
        parse_uint(max_forwards, what="Max-Forwards", maximum=255)
    expires = first.get("expires")
    if expires is not None:
        parse_uint(expires, what="Expires", maximum=MAX_EXPIRES)
    if "contact" in first:
        for contact in message.contacts or ():
            value = contact.param("expires")
            if value is not None:
                parse_uint(value, what="Contact expires", maximum=MAX_EXPIRES)
    for list_name, key in (("Route", "route"), ("Record-Route", "record-route")):
        if key in first:
            route_list(headers.values(list_name))


_DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY"})


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """Build a response to ``request`` as RFC 3261 §8.2.6 says: Via, From, To, Call-ID and
    CSeq copied; a To tag added when ``to_tag`` is given and the request had none; the
    Record-Route of a request that may create a dialog in its 101-299 answers (§12.1.1)."""
    headers = Headers()
    for value in request.headers.get_all("Via"):
        headers.add("Via", value)
    headers.add("From", request.headers.get("From") or "")
    to_value = request.headers.get("To") or ""
    if to_tag is not None and request.to.tag is None and status != 100:
        to_value = str(request.to.with_tag(to_tag))
    headers.add("To", to_value)
    headers.add("Call-ID", request.headers.get("Call-ID") or "")
    headers.add("CSeq", request.headers.get("CSeq") or "")
    if 100 < status < 300 and request.method in _DIALOG_CREATING:
        # RFC 3261 §12.1.1: a response that may establish a dialog carries the request's
        # Record-Route, in order, so the caller's requests in the dialog take the same
        # proxies (the SIP edge, issue 19).
        for value in request.headers.get_all("Record-Route"):
            headers.add("Record-Route", value)
    for name, value in extra_headers:
        headers.add(name, value)
    if body and content_type is not None:
        headers.add("Content-Type", content_type)
    return Response(
        headers=headers,
        body=body,
        status=status,
        reason=reason if reason is not None else reason_phrase(status),
    )


def make_error_response(error: MalformedRequest, *, to_tag: str | None = None) -> Response | None:
    """A 400 (or ``error.status``) for a malformed request, or None when the fields a
    response needs are missing or unreadable (then the message is dropped).

    ``to_tag`` is added to a readable To header field that has no tag (RFC 3261 §8.2.6.2).
    """
    headers = error.headers
    vias = headers.get_all("Via")
    if not vias:
        return None
    try:
        [parse_via(v) for v in headers.values("Via")]
    except SipParseError:
        return None
    out = Headers()
    for value in vias:
        out.add("Via", value)
    for name in ("From", "To", "Call-ID", "CSeq"):
        values = headers.get_all(name)
        if values:
            value = values[0]
            if name == "To" and to_tag is not None:
                value = _tagged(value, to_tag)
            out.add(name, value)
    reason = reason_phrase(error.status)
    # Say what was wrong, for the operator reading a trace (RFC 3261 §20.43 Warning 399).
    detail = error.reason.replace('"', "'")[:200]
    out.add("Warning", f'399 dialtone "{detail}"')
    return Response(headers=out, status=error.status, reason=reason)


def _tagged(to_value: str, tag: str) -> str:
    """``to_value`` with ``tag`` added when it parses and has none; else unchanged."""
    try:
        address = parse_name_address(to_value, what="To")
    except SipParseError:
        return to_value
    return to_value if address.tag is not None else str(address.with_tag(tag))


def make_request(
    method: str,
    uri: Uri,
    *,
    via: Via,
    from_: NameAddress,
    to: NameAddress,
    call_id: str,
    cseq: int,
    contact: str | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """A new request outside any dialog (RFC 3261 §8.1.1): the INVITE or REGISTER a UAC
    sends. ``from_`` must carry our tag; ``to`` carries none."""
    headers = Headers()
    headers.add("Via", str(via))
    headers.add("Max-Forwards", "70")
    headers.add("From", str(from_))
    headers.add("To", str(to))
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq} {method}")
    if contact is not None:
        headers.add("Contact", contact)
    for name, value in extra_headers:
        headers.add(name, value)
    if body and content_type is not None:
        headers.add("Content-Type", content_type)
    return Request(headers=headers, body=body, method=method, uri=uri)
