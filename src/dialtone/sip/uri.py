"""SIP, SIPS and other URIs (RFC 3261 §19.1, §25.1; RFC 3966 for tel).

Parsing is strict: whitespace, angle brackets or quotes inside a URI are errors (RFC 4475
§3.1.2.7, §3.1.2.8, §3.1.2.14), and so are empty parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from dialtone.sip.errors import SipParseError

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")
# user = 1*( unreserved / escaped / user-unreserved )
_USER = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+\Z")
_PASSWORD = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*\Z")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9.])?\Z")
_IPV6_REF = re.compile(r"\[[0-9A-Fa-f:.]+\]\Z")
# paramchar = param-unreserved / unreserved / escaped
_PARAMCHARS = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|%[0-9A-Fa-f]{2})+\Z")
_HEADERS = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$=&]|%[0-9A-Fa-f]{2})*\Z")
_OPAQUE_FORBIDDEN = re.compile(r"[\s<>\"]")

Params = tuple[tuple[str, str | None], ...]

SIP_SCHEMES = frozenset({"sip", "sips"})


@dataclass(frozen=True, slots=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI. ``params`` keeps order; names are as received."""

    scheme: str
    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: str | None = None

    def param(self, name: str) -> str | None:
        """The value of URI parameter ``name`` (case-insensitive); '' when it has no value."""
        lname = name.lower()
        for key, value in self.params:
            if key.lower() == lname:
                return "" if value is None else value
        return None

    def has_param(self, name: str) -> bool:
        """Whether parameter ``name`` is present, with or without a value."""
        return self.param(name) is not None

    @property
    def host_port(self) -> str:
        """``host[:port]`` as written in a Via sent-by or a Contact."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts.append(":" + self.password)
            parts.append("@")
        parts.append(self.host_port)
        for key, value in self.params:
            parts.append(f";{key}" if value is None else f";{key}={value}")
        if self.headers is not None:
            parts.append("?" + self.headers)
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class OtherUri:
    """Any URI whose scheme this stack does not interpret (tel, im, http, urn…)."""

    scheme: str
    opaque: str

    @property
    def user(self) -> str | None:
        """For ``tel:`` the number (before any parameter), else None."""
        if self.scheme.lower() == "tel":
            return self.opaque.split(";", 1)[0]
        return None

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


Uri = SipUri | OtherUri


def parse_params(text: str, *, what: str) -> Params:
    """Parse ``;name[=value]`` pairs of a URI (no whitespace allowed, none may be empty)."""
    if not text:
        return ()
    out: list[tuple[str, str | None]] = []
    for item in text.split(";"):
        if not item:
            raise SipParseError(f"empty parameter in {what}")
        name, eq, value = item.partition("=")
        if not _PARAMCHARS.match(name):
            raise SipParseError(f"bad parameter name {name!r} in {what}")
        if eq:
            if not _PARAMCHARS.match(value):
                raise SipParseError(f"bad value for parameter {name!r} in {what}")
            out.append((name, value))
        else:
            out.append((name, None))
    return tuple(out)


def parse_host_port(text: str, *, what: str) -> tuple[str, int | None]:
    """Split ``host[:port]``; the host is a hostname, IPv4 address or ``[IPv6]`` reference."""
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise SipParseError(f"unterminated IPv6 reference in {what}")
        host, rest = text[: end + 1], text[end + 1 :]
        if not _IPV6_REF.match(host):
            raise SipParseError(f"bad IPv6 reference in {what}")
        if rest and not rest.startswith(":"):
            raise SipParseError(f"junk after host in {what}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_raw = text.partition(":")
        port_text = port_text_raw if colon else None
        if not _HOSTNAME.match(host):
            raise SipParseError(f"bad host {host!r} in {what}")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5:
            raise SipParseError(f"bad port in {what}")
        port = int(port_text)
        if port > 65535:
            raise SipParseError(f"port out of range in {what}")
    return host, port


# Parsed URIs are immutable, and the same few recur in every message of a call and across
# calls (Contact, Request-URI, the addresses inside From and To): a profile of the B2BUA
# found some 28 URI parses per bridged call. Failures are not cached (they raise).
PARSE_CACHE_SIZE = 4096


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_uri(text: str, *, allow_headers: bool = True) -> Uri:
    """Parse a URI. SIP and SIPS URIs are checked against the RFC 3261 grammar.

    ``allow_headers=False`` is for the Request-URI, where a ``?headers`` part is not allowed
    (RFC 3261 §19.1.5, RFC 4475 §3.1.2.11). Results are memoised (they are immutable).
    """
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.match(scheme):
        raise SipParseError(f"not a URI: {text[:80]!r}")
    if not rest or _OPAQUE_FORBIDDEN.search(rest):
        raise SipParseError(f"bad characters in URI {text[:80]!r}")
    lscheme = scheme.lower()
    if lscheme not in SIP_SCHEMES:
        return OtherUri(scheme=lscheme, opaque=rest)

    user: str | None = None
    password: str | None = None
    # '@' is legal neither in parameters nor in headers (RFC 3261 §25.1), so the last one
    # ends the userinfo, which itself may hold '?' and ';' (RFC 4475 §3.1.1.2).
    at = rest.rfind("@")
    if at != -1:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, pcolon, pw = userinfo.partition(":")
        if not _USER.match(user):
            raise SipParseError("bad user part in SIP URI")
        if pcolon:
            if not _PASSWORD.match(pw):
                raise SipParseError("bad password in SIP URI")
            password = pw
    headers: str | None = None
    rest, qmark, header_text = rest.partition("?")
    if qmark:
        if not allow_headers:
            raise SipParseError("headers are not allowed in a Request-URI")
        if not header_text or not _HEADERS.match(header_text):
            raise SipParseError("bad headers in SIP URI")
        headers = header_text
    hostport, semi, param_text = rest.partition(";")
    if semi and not param_text:
        raise SipParseError("empty parameter in SIP URI")
    host, port = parse_host_port(hostport, what="SIP URI")
    params = parse_params(param_text, what="SIP URI")
    return SipUri(
        scheme=lscheme,
        host=host,
        user=user,
        password=password,
        port=port,
        params=params,
        headers=headers,
    )


def unescape(text: str) -> str:
    """Decode ``%HH`` escapes (RFC 3261 §19.1.4: compare URIs after unescaping)."""
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode("utf-8", "surrogateescape")
    while i < len(raw):
        c = raw[i]
        if c == 0x25 and i + 2 < len(raw) + 0 and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in pair)
