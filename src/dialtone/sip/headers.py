"""Header fields: names (compact forms), the ordered header list, and typed values.

Known header fields (Via, From, To, Contact, CSeq…) are parsed strictly; unknown ones are
kept as opaque text, as RFC 3261 §7.3 asks of a proxy or UA that does not understand them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from dialtone.sip.errors import SipParseError
from dialtone.sip.uri import PARSE_CACHE_SIZE, Params, Uri, parse_host_port, parse_uri

# RFC 3261 §7.3.3 and later extensions.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Event",
        "Expires",
        "From",
        "In-Reply-To",
        "Max-Forwards",
        "Min-Expires",
        "MIME-Version",
        "Organization",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Reason",
        "Record-Route",
        "Refer-To",
        "Referred-By",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Session-Expires",
        "Subject",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
        "Allow-Events",
        "Subscription-State",
        "P-Asserted-Identity",
        "Privacy",
        "RSeq",
        "RAck",
    )
}

# Fields whose value is a comma-separated list (RFC 3261 §7.3.1), so that several header
# lines and one line with commas mean the same thing.
LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "content-language",
        "allow-events",
        "in-reply-to",
        "warning",
    }
)

# Fields that may appear once only (RFC 4475 §3.3.8).
SINGLE_HEADERS = frozenset(
    {
        "call-id",
        "cseq",
        "from",
        "to",
        "max-forwards",
        "content-length",
        "content-type",
        "expires",
    }
)

_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+\Z")
_WORD = re.compile(r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+\Z")
_LWS = re.compile(r"[ \t]+")
_VIA_TRANSPORT = re.compile(r"([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+")
_SPACED_COLON = re.compile(r"[ \t]*:[ \t]*")
MAX_CSEQ = 2**31 - 1
MAX_EXPIRES = 2**32 - 1


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 3261 token (method names, parameter names…)."""
    return bool(_TOKEN.match(text))


@lru_cache(maxsize=512)
def is_header_name(name: str) -> bool:
    """Whether ``name`` is a token (cached: the same few names come in every message)."""
    return bool(_TOKEN.match(name))


@lru_cache(maxsize=512)
def canonical_name(name: str) -> str:
    """The canonical spelling of a header name; compact forms are expanded.

    Cached: the same few dozen names come with every message, and this ran some twenty
    times per message parsed."""
    lname = name.lower()
    full = COMPACT_FORMS.get(lname)
    if full is not None:
        return full
    return _CANONICAL.get(lname, name)


@lru_cache(maxsize=512)
def _key(name: str) -> str:
    """How a header name is compared: canonical, lower case."""
    return canonical_name(name).lower()


class Headers:
    """An ordered multi-map of header fields with case-insensitive names.

    Each entry is one header line as received (or to be sent); names are canonical.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str, str]] = []
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        cname = canonical_name(name)
        self._items.append((cname.lower(), cname, value))

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one line, in the position of the first."""
        cname = canonical_name(name)
        key = cname.lower()
        for i, (k, _, _) in enumerate(self._items):
            if k == key:
                self._items[i] = (key, cname, value)
                self._items = [
                    item for j, item in enumerate(self._items) if j <= i or item[0] != key
                ]
                return
        self._items.append((key, cname, value))

    def remove(self, name: str) -> None:
        """Remove every line of ``name``."""
        key = _key(name)
        self._items = [item for item in self._items if item[0] != key]

    def get(self, name: str) -> str | None:
        """The first line's value of ``name``, or None."""
        key = _key(name)
        for k, _, value in self._items:
            if k == key:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every line's value of ``name``, as received (lists not split)."""
        key = _key(name)
        return [value for k, _, value in self._items if k == key]

    def values(self, name: str) -> list[str]:
        """Every element of a list header, across lines, split at top-level commas."""
        out: list[str] = []
        for line in self.get_all(name):
            out.extend(split_list(line))
        return out

    def first_values(self) -> dict[str, str]:
        """Each field's first value keyed by its lower-case canonical name (one pass, for
        code that reads many fields of the same message)."""
        out: dict[str, str] = {}
        for key, _, value in self._items:
            if key not in out:
                out[key] = value
        return out

    def name_counts(self) -> dict[str, int]:
        """How many lines each field has, keyed by lower-case canonical name."""
        out: dict[str, int] = {}
        for key, _, _ in self._items:
            out[key] = out.get(key, 0) + 1
        return out

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for _, name, value in self._items:
            yield name, value

    def __len__(self) -> int:
        return len(self._items)

    def copy(self) -> Headers:
        """A shallow copy that can be changed without touching this one."""
        new = Headers()
        new._items = list(self._items)
        return new

    def encode(self) -> str:
        """The header lines, each ending in CRLF."""
        return "".join(f"{name}: {value}\r\n" for _, name, value in self._items)


def _split_outside_quotes(text: str, sep: str, *, brackets: bool) -> tuple[list[str], bool]:
    """Split ``text`` at ``sep`` outside quoted strings (and outside ``<…>`` when
    ``brackets``). Returns the pieces and whether a quoted string was left open."""
    if '"' not in text and not (brackets and "<" in text):
        return text.split(sep), False  # the usual case, without the character loop
    pieces: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif brackets and ch == "<":
            depth += 1
        elif brackets and ch == ">":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
        i += 1
    pieces.append(text[start:])
    return pieces, quoted


def split_list(value: str) -> list[str]:
    """Split a list header at commas outside quotes and angle brackets; strip each element.

    Empty elements are kept (as '') so that strict parsers can reject them.
    """
    if "," not in value:
        return [value.strip()]
    pieces, _ = _split_outside_quotes(value, ",", brackets=True)
    return [piece.strip() for piece in pieces]


def _split_params(text: str, *, what: str, bare_ipv6: frozenset[str] = frozenset()) -> Params:
    """Parse header parameters ``;name [= value]`` with LWS allowed around ``;`` and ``=``.

    Parameters named in ``bare_ipv6`` may hold an IPv6 address without brackets.
    """
    out: list[tuple[str, str | None]] = []
    if not text.strip():
        return ()
    pieces = _split_semicolons(text)
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not is_token(name):
            raise SipParseError(f"bad parameter {piece.strip()[:40]!r} in {what}")
        if not eq:
            out.append((name, None))
            continue
        value = value.strip()
        if value.startswith('"'):
            end = _quoted_end(value, 0)
            if end != len(value):
                raise SipParseError(f"bad quoted parameter value in {what}")
        elif value.startswith("["):
            parse_host_port(value, what=what)
        elif ":" in value and name.lower() in bare_ipv6:
            parse_host_port(f"[{value}]", what=what)
        elif not is_token(value):
            raise SipParseError(f"bad value for parameter {name!r} in {what}")
        out.append((name, value))
    return tuple(out)


def _split_semicolons(text: str) -> list[str]:
    """Split ``;a=1 ; b="x;y"`` into parameter texts; ``text`` starts with ';'."""
    text = text.strip()
    if not text.startswith(";"):
        raise SipParseError("parameters must start with ';'")
    pieces, unterminated = _split_outside_quotes(text[1:], ";", brackets=False)
    if unterminated:
        raise SipParseError("unterminated quoted string in parameters")
    return pieces


def _quoted_end(text: str, start: int) -> int:
    """Index just past the quoted-string that opens at ``start``; raises if unterminated."""
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    raise SipParseError("unterminated quoted string")


def param_value(params: Params, name: str) -> str | None:
    """The value of parameter ``name`` (case-insensitive); '' when present without value."""
    lname = name.lower()
    for key, value in params:
        if key.lower() == lname:
            return "" if value is None else value
    return None


def _format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


@dataclass(frozen=True, slots=True)
class NameAddress:
    """A From, To, Contact, Route or Record-Route value: ``"name" <uri>;params``."""

    uri: Uri
    display_name: str | None = None
    params: Params = ()

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (dialog identifier half), or None."""
        value = param_value(self.params, "tag")
        return value or None

    def param(self, name: str) -> str | None:
        """A header parameter's value ('' when valueless)."""
        return param_value(self.params, name)

    def with_tag(self, tag: str) -> NameAddress:
        """The same address with ``tag`` set (replacing any existing tag)."""
        kept = tuple((k, v) for k, v in self.params if k.lower() != "tag")
        return replace(self, params=(*kept, ("tag", tag)))

    def __str__(self) -> str:
        display = ""
        if self.display_name is not None:
            escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{_format_params(self.params)}"


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_name_address(value: str, *, what: str = "address") -> NameAddress:
    """Parse ``name-addr`` or ``addr-spec`` followed by header parameters (RFC 3261 §20.10).

    In the addr-spec form a URI holding ``;``, ``,`` or ``?`` is ambiguous and refused
    (RFC 4475 §3.1.2.13). Memoised: From, To and Contact values repeat in every message of
    a dialog, and the result is immutable.
    """
    text = value.strip()
    display: str | None = None
    if text.startswith('"'):
        end = _quoted_end(text, 0)
        display = _unquote(text[1 : end - 1])
        text = text[end:].lstrip(" \t")
        if not text.startswith("<"):
            raise SipParseError(f"quoted display name without <uri> in {what}")
    if text.startswith("<") or (display is None and "<" in text and _has_display(text)):
        lt = text.find("<")
        if display is None and lt > 0:
            words = _LWS.split(text[:lt].strip())
            if not all(_TOKEN.match(w) for w in words):
                raise SipParseError(f"display name must be a token list or quoted in {what}")
            display = " ".join(words)
        gt = text.find(">", lt)
        if gt == -1:
            raise SipParseError(f"missing '>' in {what}")
        uri_text = text[lt + 1 : gt]
        if uri_text != uri_text.strip() or not uri_text:
            raise SipParseError(f"whitespace inside <> in {what}")
        uri = parse_uri(uri_text)
        rest = text[gt + 1 :]
    else:
        semi = text.find(";")
        uri_text = text if semi == -1 else text[:semi]
        rest = "" if semi == -1 else text[semi:]
        uri_text = uri_text.strip()
        if any(ch in uri_text for ch in ",?") or not uri_text:
            raise SipParseError(f"URI with ',' or '?' must be enclosed in <> in {what}")
        uri = parse_uri(uri_text)
    params = _split_params(rest, what=what) if rest.strip() else ()
    return NameAddress(uri=uri, display_name=display, params=params)


def _has_display(text: str) -> bool:
    # "Bob <sip:b@x>" has a display name; "sip:b@x;a=<y>" would be nonsense anyway.
    return text.find("<") < (text.find(";") if ";" in text else len(text))


def _unquote(inner: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\" and i + 1 < len(inner):
            out.append(inner[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Via:
    """One Via header value: ``SIP/2.0/UDP host:port;branch=…`` (RFC 3261 §20.42)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"

    @property
    def branch(self) -> str | None:
        """The branch parameter, the transaction id of RFC 3261 §17.2.3."""
        value = param_value(self.params, "branch")
        return value or None

    @property
    def sent_by(self) -> tuple[str, int | None]:
        """The sent-by host and port, as written."""
        return self.host, self.port

    def param(self, name: str) -> str | None:
        """A Via parameter's value ('' when valueless)."""
        return param_value(self.params, name)

    def with_params(self, **updates: str | None) -> Via:
        """A copy with parameters set (``received``, ``rport``…); None means valueless."""
        names = {k.lower() for k in updates}
        kept = [(k, v) for k, v in self.params if k.lower() not in names]
        for key, value in updates.items():
            kept.append((key, value))
        return replace(self, params=tuple(kept))

    def __str__(self) -> str:
        host = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"{self.protocol}/{self.transport} {host}{_format_params(self.params)}"


def parse_via(value: str) -> Via:
    """Parse one Via value, allowing LWS around '/' and ';' (RFC 4475 §3.1.1.1)."""
    text = value.strip()
    parts = text.split("/", 2)
    if len(parts) != 3:
        raise SipParseError("bad Via protocol")
    name, version = parts[0].strip(), parts[1].strip()
    rest = parts[2].lstrip(" \t")
    m = _VIA_TRANSPORT.match(rest)
    if not name or not version or m is None or not is_token(name) or not is_token(version):
        raise SipParseError("bad Via protocol")
    transport = m.group(1).upper()
    rest = rest[m.end() :]
    semi = rest.find(";")
    hostport = (rest if semi == -1 else rest[:semi]).strip()
    if not hostport.startswith("[") and (" " in hostport or "\t" in hostport):
        hostport = _SPACED_COLON.sub(":", hostport)
    host, port = parse_host_port(hostport, what="Via")
    # via-received = "received" EQUAL (IPv4address / IPv6address): no brackets around an
    # IPv6 address there (RFC 3261 §25.1, RFC 5118 §4.5).
    params = (
        _split_params(rest[semi:], what="Via", bare_ipv6=frozenset({"received"}))
        if semi != -1
        else ()
    )
    for key, val in params:
        lkey = key.lower()
        if lkey in ("ttl",) and (val is None or not val.isdigit() or int(val) > 255):
            raise SipParseError("bad Via ttl")
        if lkey == "rport" and val is not None and (not val.isdigit() or int(val) > 65535):
            raise SipParseError("bad Via rport")
    return Via(
        transport=transport,
        host=host,
        port=port,
        params=params,
        protocol=f"{name.upper()}/{version}",
    )


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: 42 INVITE`` (RFC 3261 §20.16)."""

    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(value: str) -> CSeq:
    """Parse a CSeq; the number must be below 2**31 (RFC 3261 §8.1.1.5)."""
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii():
        raise SipParseError("bad CSeq")
    if len(parts[0]) > 10 or int(parts[0]) > MAX_CSEQ:
        raise SipParseError("CSeq number out of range")
    if not is_token(parts[1]):
        raise SipParseError("bad CSeq method")
    return CSeq(int(parts[0]), parts[1])


def parse_uint(value: str, *, what: str, maximum: int) -> int:
    """Parse a decimal scalar header (Max-Forwards, Expires, Content-Length…) with a bound."""
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise SipParseError(f"bad {what}")
    if len(text.lstrip("0")) > len(str(maximum)) or int(text) > maximum:
        raise SipParseError(f"{what} out of range")
    return int(text)


def contact_list(values: list[str]) -> tuple[NameAddress, ...] | None:
    """Parse Contact values; None stands for the wildcard ``*`` (REGISTER only)."""
    if len(values) == 1 and values[0].strip() == "*":
        return None
    return tuple(parse_name_address(v, what="Contact") for v in values)


def route_list(values: list[str]) -> tuple[NameAddress, ...]:
    """Parse Route or Record-Route values."""
    return tuple(parse_name_address(v, what="Route") for v in values)
