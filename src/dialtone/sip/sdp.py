"""SDP (RFC 4566) and the offer/answer model (RFC 3264) for G.711 audio.

:meth:`SessionDescription.parse` is liberal about layout (CRLF, LF or CR line endings,
blank lines, a byte-order mark, private line letters) and strict about the lines a call
depends on (v, o, s, c, t, b, m): :class:`~dialtone.sip.errors.SdpParseError` is the only
exception it raises, whatever the input. :meth:`SessionDescription.serialize` refuses
(with :class:`ValueError`) any description it could not write faithfully, so that
``SessionDescription.parse(bytes(x)) == x`` holds for everything it writes.

The offer/answer half answers as a G.711 endpoint: :func:`answer_offer` for inbound calls,
:func:`build_offer` and :func:`negotiate_answer` for outbound ones.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from dialtone.sip.errors import SdpParseError

__all__ = [
    "DEFAULT_PTIME",
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "SUPPORTED_CODECS",
    "USABLE_PROTOS",
    "Attribute",
    "Bandwidth",
    "Connection",
    "MediaDescription",
    "NegotiatedAudio",
    "NoAcceptableMedia",
    "Origin",
    "RtpMap",
    "SessionDescription",
    "Timing",
    "answer_offer",
    "build_offer",
    "negotiate_answer",
]

Attribute = tuple[str, str | None]
"""``a=name:value`` as ``(name, value)``; a flag attribute such as ``a=sendonly`` has None."""

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# TERMS V1 orders codecs "Opus, G.711 (PCMA, PCMU)". Opus is not built yet, so this, the
# G.711 tail of that order, is both what we support and the default preference.
SUPPORTED_CODECS = ("PCMA", "PCMU")
# Only plain and feedback RTP profiles: SRTP (RTP/SAVP, RTP/SAVPF) needs keys we do not have.
USABLE_PROTOS = frozenset({"RTP/AVP", "RTP/AVPF"})
DEFAULT_PTIME = 20  # RFC 3551 §4.5: the default packetisation for G.711 is 20 ms
G711_CLOCK_RATE = 8000
TELEPHONE_EVENT = "telephone-event"
DEFAULT_EVENTS = "0-16"  # DTMF 0-9 * # A-D and flash (RFC 4733 §3.2)

# (can send, can receive) for each direction attribute, so that reversing and narrowing a
# direction are tuple operations rather than tables.
_DIRECTION_FLAGS: dict[str, tuple[bool, bool]] = {
    "sendrecv": (True, True),
    "sendonly": (True, False),
    "recvonly": (False, True),
    "inactive": (False, False),
}
_FLAGS_DIRECTION = {flags: name for name, flags in _DIRECTION_FLAGS.items()}
_STATIC_G711 = {"PCMU": 0, "PCMA": 8}

# Bounds that keep int() away from Python's digit limit and out-of-range values.
_MAX_UINT_DIGITS = 20
_MAX_UINT = 10**_MAX_UINT_DIGITS - 1
_MAX_PORT_COUNT = 65535

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# NUL is forbidden in SDP text, CR/LF would start a new line, and lone surrogates cannot
# be encoded as UTF-8; none of them may appear in a value.
_FORBIDDEN = re.compile(r"[\x00\r\n\ud800-\udfff]")
_FORBIDDEN_ANYWHERE = re.compile(r"[\x00\ud800-\udfff]")
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
# One field as str.split() gives it back (re's \s is str.split()'s whitespace) holding
# nothing _FORBIDDEN: one regex instead of a split, a comparison and a search.
_WORD = re.compile(r"[^\s\x00\ud800-\udfff]+")
_PROTO = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+(?:/[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SINGLE_SESSION_LINES = frozenset("vosiuczk")
_SINGLE_MEDIA_LINES = frozenset("ick")
_SESSION_ONLY_LINES = frozenset("vosuetprz")


class NoAcceptableMedia(Exception):
    """No stream of an offer (or answer) carries a codec this side takes (SIP 488)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Origin:
    """The ``o=`` line: who made the description, and which version of it this is."""

    username: str
    session_id: str
    session_version: str
    net_type: str
    addr_type: str
    address: str


@dataclass(frozen=True, slots=True)
class Connection:
    """A ``c=`` line. ``address`` is kept as written, multicast ``/ttl/count`` included."""

    net_type: str
    addr_type: str
    address: str

    @property
    def host(self) -> str:
        """The address without any multicast TTL or address count."""
        return self.address.split("/", 1)[0]


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """A ``b=<bwtype>:<bandwidth>`` line (kbit/s for the AS and CT types)."""

    bwtype: str
    bandwidth: int


@dataclass(frozen=True, slots=True)
class Timing:
    """A ``t=`` line with the ``r=`` repeat lines that follow it (kept as written)."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RtpMap:
    """What an RTP payload type carries, from ``a=rtpmap`` or the RFC 3551 static table."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None


STATIC_PAYLOAD_TYPES: dict[int, RtpMap] = {
    0: RtpMap(0, "PCMU", 8000),
    3: RtpMap(3, "GSM", 8000),
    4: RtpMap(4, "G723", 8000),
    8: RtpMap(8, "PCMA", 8000),
    9: RtpMap(9, "G722", 8000),
    18: RtpMap(18, "G729", 8000),
}
"""RFC 3551 static payload types an offer may list without an rtpmap line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaDescription:
    """One ``m=`` section with the lines that belong to it."""

    media: str
    port: int
    port_count: int | None = None
    proto: str
    formats: tuple[str, ...]
    information: str | None = None
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name`` line ('' for a flag attribute), or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def attribute_values(self, name: str) -> tuple[str, ...]:
        """The values of every ``a=name`` line, in order ('' for a flag attribute)."""
        return tuple("" if v is None else v for k, v in self.attributes if k == name)

    def payload_types(self) -> tuple[int, ...]:
        """The formats of the m= line that are RTP payload type numbers, in order."""
        found: list[int] = []
        for fmt in self.formats:
            pt = _payload_type(fmt)
            if pt is not None and pt not in found:
                found.append(pt)
        return tuple(found)

    def rtpmaps(self) -> dict[int, RtpMap]:
        """Payload type → encoding for the payload types the m= line lists, in its order.

        An ``a=rtpmap`` line wins; a static RFC 3551 type without one (PCMU, PCMA, GSM,
        G722, G729…) is filled in from the table. Malformed rtpmap lines are skipped.
        """
        mapped: dict[int, RtpMap] = {}
        for value in self.attribute_values("rtpmap"):
            entry = _parse_rtpmap(value)
            if entry is not None:
                mapped.setdefault(entry.payload_type, entry)
        maps: dict[int, RtpMap] = {}
        for pt in self.payload_types():
            entry = mapped.get(pt) or STATIC_PAYLOAD_TYPES.get(pt)
            if entry is not None:
                maps[pt] = entry
        return maps

    def fmtp(self, payload_type: int) -> str | None:
        """The ``a=fmtp`` parameters of ``payload_type`` ('' when it has none), or None."""
        for value in self.attribute_values("fmtp"):
            parts = value.split(None, 1)
            if parts and _payload_type(parts[0]) == payload_type:
                return parts[1].strip() if len(parts) > 1 else ""
        return None

    @property
    def direction(self) -> str:
        """This section's own direction attribute, else ``sendrecv`` (RFC 4566 §6).

        A session-level direction applies to sections without one; see
        :meth:`SessionDescription.direction_for`.
        """
        return self._own_direction() or "sendrecv"

    def _own_direction(self) -> str | None:
        for key, _ in self.attributes:
            if key in _DIRECTION_FLAGS:
                return key
        return None

    @property
    def ptime(self) -> int | None:
        """The ``a=ptime`` packetisation time in milliseconds, when given and sensible."""
        value = self.attribute("ptime")
        ms = _uint(value.strip(), 5) if value is not None else None
        return ms if ms else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionDescription:
    """A whole session description: session-level lines, then the media sections."""

    version: int = 0
    origin: Origin
    session_name: str = "-"
    information: str | None = None
    uri: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    connection: Connection | None = None
    bandwidths: tuple[Bandwidth, ...] = ()
    times: tuple[Timing, ...] = (Timing(),)
    time_zones: str | None = None
    key: str | None = None
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()

    @classmethod
    def parse(cls, data: object) -> SessionDescription:
        """Parse a session description; raises only :class:`SdpParseError`.

        Bytes must be UTF-8. Unknown line letters are skipped, a missing ``t=`` reads as
        ``t=0 0`` and an empty ``s=`` as ``s=-``; everything else that a call depends on
        (v, o, s present once; well-formed c, t, b and m lines) is checked.
        """
        if isinstance(data, bytes | bytearray | memoryview):
            try:
                text = bytes(data).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SdpParseError(f"SDP is not UTF-8 (byte {exc.start})") from None
        elif isinstance(data, str):
            text = data
        else:
            raise SdpParseError(f"SDP must be bytes or text, not {type(data).__name__}")
        return _Parser().parse(text)

    def direction_for(self, media: MediaDescription) -> str:
        """The direction of ``media``: its own attribute, the session's, else sendrecv."""
        own = media._own_direction()
        if own is not None:
            return own
        for key, _ in self.attributes:
            if key in _DIRECTION_FLAGS:
                return key
        return "sendrecv"

    def serialize(self) -> bytes:
        """The description as UTF-8 CRLF lines in RFC 4566 order (v o s i u e p c b t r z
        k a, then per stream m i c b k a).

        Raises ValueError for a description that could not be read back equal, such as a
        value holding a line break or a port out of range.
        """
        problem = _problem(self)
        if problem is not None:
            raise ValueError(f"cannot serialize SDP: {problem}")
        o = self.origin
        lines = [
            f"v={self.version}",
            f"o={o.username} {o.session_id} {o.session_version} "
            f"{o.net_type} {o.addr_type} {o.address}",
            f"s={self.session_name}",
        ]
        if self.information is not None:
            lines.append(f"i={self.information}")
        if self.uri is not None:
            lines.append(f"u={self.uri}")
        lines.extend(f"e={e}" for e in self.emails)
        lines.extend(f"p={p}" for p in self.phones)
        lines.extend(_connection_and_bandwidth_lines(self.connection, self.bandwidths))
        for timing in self.times:
            lines.append(f"t={timing.start} {timing.stop}")
            lines.extend(f"r={r}" for r in timing.repeats)
        if self.time_zones is not None:
            lines.append(f"z={self.time_zones}")
        if self.key is not None:
            lines.append(f"k={self.key}")
        lines.extend(_attribute_lines(self.attributes))
        for m in self.media:
            port = str(m.port) if m.port_count is None else f"{m.port}/{m.port_count}"
            lines.append(" ".join([f"m={m.media}", port, m.proto, *m.formats]))
            if m.information is not None:
                lines.append(f"i={m.information}")
            lines.extend(_connection_and_bandwidth_lines(m.connection, m.bandwidths))
            if m.key is not None:
                lines.append(f"k={m.key}")
            lines.extend(_attribute_lines(m.attributes))
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def __bytes__(self) -> bytes:
        return self.serialize()


# --------------------------------------------------------------------------- parsing


def _uint(text: str, max_digits: int = _MAX_UINT_DIGITS) -> int | None:
    # str.isdigit() alone admits digits such as '²' that int() rejects.
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def _payload_type(fmt: str) -> int | None:
    pt = _uint(fmt, 3)
    return pt if pt is not None and pt <= 127 else None


def _parse_rtpmap(value: str) -> RtpMap | None:
    parts = value.split(None, 1)
    if len(parts) != 2:
        return None
    pt = _payload_type(parts[0])
    fields = parts[1].strip().split("/")
    if pt is None or len(fields) > 3 or not fields[0] or len(fields) < 2:
        return None
    clock_rate = _uint(fields[1].strip(), 10)
    channels = _uint(fields[2].strip(), 3) if len(fields) == 3 else None
    if not clock_rate or (len(fields) == 3 and not channels):
        return None
    return RtpMap(pt, fields[0].strip(), clock_rate, channels)


@dataclass(slots=True)
class _Section:
    """The lines read so far for the session level or for one media section."""

    information: str | None = None
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)


@dataclass(slots=True)
class _Parser:
    version: int | None = None
    origin: Origin | None = None
    name: str | None = None
    uri: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    times: list[tuple[int, int, list[str]]] = field(default_factory=list)
    time_zones: str | None = None
    session: _Section = field(default_factory=_Section)
    media: list[tuple[MediaDescription, _Section]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def parse(self, text: str) -> SessionDescription:
        text = text.removeprefix("\ufeff")
        bad = _FORBIDDEN_ANYWHERE.search(text)
        if bad is not None:
            raise SdpParseError(f"SDP holds the forbidden character {bad.group()!r}")
        empty = True
        for number, line in enumerate(_LINE_BREAK.split(text), 1):
            if not line.strip():
                continue
            empty = False
            try:
                self._line(line)
            except SdpParseError as exc:
                raise SdpParseError(f"line {number}: {exc}") from None
        if empty:
            raise SdpParseError("empty SDP")
        if self.version is None:
            raise SdpParseError("missing v= line")
        if self.origin is None:
            raise SdpParseError("missing o= line")
        if self.name is None:
            raise SdpParseError("missing s= line")
        sdp = SessionDescription(
            version=self.version,
            origin=self.origin,
            session_name=self.name,
            information=self.session.information,
            uri=self.uri,
            emails=tuple(self.emails),
            phones=tuple(self.phones),
            connection=self.session.connection,
            bandwidths=tuple(self.session.bandwidths),
            times=tuple(Timing(s, e, tuple(r)) for s, e, r in self.times) or (Timing(),),
            time_zones=self.time_zones,
            key=self.session.key,
            attributes=tuple(self.session.attributes),
            media=tuple(
                MediaDescription(
                    media=m.media,
                    port=m.port,
                    port_count=m.port_count,
                    proto=m.proto,
                    formats=m.formats,
                    information=s.information,
                    connection=s.connection,
                    bandwidths=tuple(s.bandwidths),
                    key=s.key,
                    attributes=tuple(s.attributes),
                )
                for m, s in self.media
            ),
        )
        # The line checks above rule out everything serialize refuses (whatever parse
        # returns can be written back): the property tests in tests/sip/test_sdp.py hold
        # them to it. Running _problem here as well cost a sixth of a bridged call's SDP
        # work.
        return sdp

    def _line(self, line: str) -> None:
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise SdpParseError(f"not an SDP line: {line[:40]!r}")
        kind, value = line[0], line[2:]
        if kind == "m":
            self.media.append((_parse_m(value), _Section()))
        elif self.media:
            self._media_line(self.media[-1][1], kind, value)
        else:
            self._session_line(kind, value)

    def _media_line(self, section: _Section, kind: str, value: str) -> None:
        if kind in _SESSION_ONLY_LINES:
            raise SdpParseError(f"{kind}= line after the first m= line")
        if kind in _SINGLE_MEDIA_LINES and _already(section, kind):
            raise SdpParseError(f"second {kind}= line in one media section")
        self._common_line(section, kind, value)

    def _session_line(self, kind: str, value: str) -> None:
        if kind in _SINGLE_SESSION_LINES:
            if kind in self.seen:
                raise SdpParseError(f"second {kind}= line")
            self.seen.add(kind)
        if kind == "v":
            if value.strip() != "0":
                raise SdpParseError(f"unsupported SDP version {value[:20]!r}")
            self.version = 0
        elif kind == "o":
            parts = value.split()
            if len(parts) != 6:
                raise SdpParseError(f"o= line needs 6 fields, has {len(parts)}")
            self.origin = Origin(*parts)
        elif kind == "s":
            # s= must not be empty (RFC 4566 §5.3); read an empty one as the usual "-".
            self.name = value or "-"
        elif kind == "u":
            self.uri = value
        elif kind == "e":
            self.emails.append(value)
        elif kind == "p":
            self.phones.append(value)
        elif kind == "t":
            self.times.append((*_parse_t(value), []))
        elif kind == "r":
            if not self.times:
                raise SdpParseError("r= line before any t= line")
            self.times[-1][2].append(value)
        elif kind == "z":
            self.time_zones = value
        else:
            self._common_line(self.session, kind, value)

    @staticmethod
    def _common_line(section: _Section, kind: str, value: str) -> None:
        if kind == "i":
            section.information = value
        elif kind == "c":
            section.connection = _parse_c(value)
        elif kind == "b":
            section.bandwidths.append(_parse_b(value))
        elif kind == "k":
            section.key = value
        elif kind == "a":
            section.attributes.append(_parse_a(value))
        # Other letters are skipped. RFC 4566 §5 would have the whole description ignored,
        # but deployed gear sends private ones (y=, f=) and refusing the call helps no one.


def _already(section: _Section, kind: str) -> bool:
    current = {"i": section.information, "c": section.connection, "k": section.key}[kind]
    return current is not None


def _parse_c(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SdpParseError(f"bad c= line {value[:60]!r}: needs 3 fields")
    connection = Connection(*parts)
    problem = _connection_problem(connection)
    if problem is not None:
        raise SdpParseError(problem)
    return connection


def _parse_b(value: str) -> Bandwidth:
    bwtype, colon, amount = value.strip().partition(":")
    bandwidth = _uint(amount.strip())
    if not colon or not _TOKEN.fullmatch(bwtype) or bandwidth is None:
        raise SdpParseError(f"bad b= line {value[:60]!r}")
    return Bandwidth(bwtype, bandwidth)


def _parse_t(value: str) -> tuple[int, int]:
    parts = value.split()
    numbers = [_uint(p) for p in parts]
    if len(numbers) != 2 or numbers[0] is None or numbers[1] is None:
        raise SdpParseError(f"bad t= line {value[:60]!r}")
    return numbers[0], numbers[1]


def _parse_m(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise SdpParseError(f"bad m= line {value[:60]!r}: needs media, port and proto")
    port_text, slash, count_text = parts[1].partition("/")
    port = _uint(port_text, 5)
    if port is None or port > 65535:
        raise SdpParseError(f"bad port {parts[1][:20]!r} in m= line")
    count = _uint(count_text, 5) if slash else None
    if slash and (not count or count > _MAX_PORT_COUNT):
        raise SdpParseError(f"bad port count {parts[1][:20]!r} in m= line")
    media = MediaDescription(
        media=parts[0], port=port, port_count=count, proto=parts[2], formats=tuple(parts[3:])
    )
    problem = _media_line_problem(media)
    if problem is not None:
        raise SdpParseError(problem)
    return media


def _parse_a(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    name = name.strip()
    if not name:
        raise SdpParseError(f"a= line without an attribute name: {value[:40]!r}")
    return (name, rest if colon else None)


# --------------------------------------------------------------- checks and writing


def _text_ok(value: str) -> bool:
    return _FORBIDDEN.search(value) is None


def _word_ok(value: str) -> bool:
    # Exactly what str.split() would give back as one field.
    return _WORD.fullmatch(value) is not None


def _hostname_ok(host: str) -> bool:
    labels = host.split(".")
    return (
        len(host) <= 253
        and all(_LABEL.fullmatch(label) for label in labels)
        # A last label of digits only would be an IPv4 literal, not a name.
        and not labels[-1].isdigit()
    )


def _connection_problem(c: Connection) -> str | None:
    if not all(_word_ok(v) for v in (c.net_type, c.addr_type, c.address)):
        return f"bad c= line fields {c.net_type!r} {c.addr_type!r} {c.address[:60]!r}"
    if c.net_type != "IN":
        return f"unsupported network type {c.net_type!r} in c= line"
    if c.addr_type not in ("IP4", "IP6"):
        return f"unsupported address type {c.addr_type!r} in c= line"
    return _address_problem(c.addr_type, c.address)


@lru_cache(maxsize=1024)
def _address_problem(addr_type: str, address: str) -> str | None:
    # Cached: a peer's media address recurs in every SDP it sends.
    host, *suffixes = address.split("/")
    most = 2 if addr_type == "IP4" else 1  # IP4 has /ttl[/count], IP6 only /count
    if len(suffixes) > most or not all(_uint(s, 5) is not None for s in suffixes):
        return f"bad multicast suffix in c= address {address[:60]!r}"
    try:
        if addr_type == "IP4" and not host.strip("0123456789."):
            ipaddress.IPv4Address(host)
        elif addr_type == "IP6" and ":" in host:
            ipaddress.IPv6Address(host)
        elif not _hostname_ok(host):
            return f"bad {addr_type} address {host[:60]!r} in c= line"
    except ValueError:
        return f"bad {addr_type} address {host[:60]!r} in c= line"
    return None


def _media_line_problem(m: MediaDescription) -> str | None:
    if not _TOKEN.fullmatch(m.media):
        return f"bad media type {m.media[:20]!r} in m= line"
    if not _PROTO.fullmatch(m.proto):
        return f"bad transport protocol {m.proto[:20]!r} in m= line"
    if not 0 <= m.port <= 65535:
        return f"port {m.port} out of range"
    if m.port_count is not None and not 1 <= m.port_count <= _MAX_PORT_COUNT:
        return f"port count {m.port_count} out of range"
    rtp = "RTP/" in m.proto
    for fmt in m.formats:
        if not _TOKEN.fullmatch(fmt):
            return f"bad format {fmt[:20]!r} in m= line"
        # With an RTP profile the formats are payload type numbers (RFC 4566 §5.14).
        if rtp and _payload_type(fmt) is None:
            return f"bad RTP payload type {fmt[:20]!r} in m= line"
    return None


def _attributes_problem(attributes: tuple[Attribute, ...]) -> str | None:
    for name, value in attributes:
        if not name or name != name.strip() or ":" in name or not _text_ok(name):
            return f"bad attribute name {name[:40]!r}"
        if value is not None and not _text_ok(value):
            return f"attribute {name[:40]!r} has a value with a line break or NUL"
    return None


def _bandwidths_problem(bandwidths: tuple[Bandwidth, ...]) -> str | None:
    for b in bandwidths:
        if not _TOKEN.fullmatch(b.bwtype) or not 0 <= b.bandwidth <= _MAX_UINT:
            return f"bad bandwidth {b.bwtype[:20]!r}:{b.bandwidth}"
    return None


def _optional_text_problem(**values: str | None) -> str | None:
    for what, value in values.items():
        if value is not None and not _text_ok(value):
            return f"{what} has a line break or NUL"
    return None


def _problem(sdp: SessionDescription) -> str | None:
    """What keeps ``sdp`` from being written and read back equal, or None."""
    o = sdp.origin
    fields = (o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address)
    checks: list[str | None] = [
        None if sdp.version == 0 else f"unsupported SDP version {sdp.version}",
        None if all(_word_ok(f) for f in fields) else "o= fields must be single words",
        None if sdp.session_name and _text_ok(sdp.session_name) else "bad session name",
        _optional_text_problem(
            information=sdp.information, uri=sdp.uri, time_zones=sdp.time_zones, key=sdp.key
        ),
        None if all(map(_text_ok, sdp.emails + sdp.phones)) else "bad e= or p= value",
        None if sdp.connection is None else _connection_problem(sdp.connection),
        _bandwidths_problem(sdp.bandwidths),
        None if sdp.times else "at least one t= line is needed",
        _attributes_problem(sdp.attributes),
    ]
    for t in sdp.times:
        if not (0 <= t.start <= _MAX_UINT and 0 <= t.stop <= _MAX_UINT):
            checks.append(f"time {t.start} {t.stop} out of range")
        checks.append(None if all(map(_text_ok, t.repeats)) else "bad r= value")
    for m in sdp.media:
        checks.extend(
            [
                _media_line_problem(m),
                _optional_text_problem(information=m.information, key=m.key),
                None if m.connection is None else _connection_problem(m.connection),
                _bandwidths_problem(m.bandwidths),
                _attributes_problem(m.attributes),
            ]
        )
    return next((c for c in checks if c is not None), None)


def _connection_and_bandwidth_lines(
    connection: Connection | None, bandwidths: tuple[Bandwidth, ...]
) -> list[str]:
    lines = []
    if connection is not None:
        c = connection
        lines.append(f"c={c.net_type} {c.addr_type} {c.address}")
    lines.extend(f"b={b.bwtype}:{b.bandwidth}" for b in bandwidths)
    return lines


def _attribute_lines(attributes: tuple[Attribute, ...]) -> list[str]:
    return [f"a={k}" if v is None else f"a={k}:{v}" for k, v in attributes]


# ------------------------------------------------------------------- offer / answer


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """What both sides agreed for the audio stream, from this side's point of view."""

    remote_address: str
    remote_port: int
    codec: str
    payload_type: int
    clock_rate: int
    ptime: int
    direction: str  # ours: sendonly means we send and do not expect to receive
    telephone_event_payload_type: int | None = None


def _codec_list(codecs: Sequence[str], what: str) -> tuple[str, ...]:
    # A bare string is a Sequence[str] too; "PCMA" would otherwise read as P, C, M, A.
    if isinstance(codecs, str):
        codecs = (codecs,)
    names = tuple(c.upper() for c in codecs)
    unknown = [c for c in names if c not in SUPPORTED_CODECS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(
            f"{what} must name distinct codecs among {', '.join(SUPPORTED_CODECS)}, "
            f"got {list(codecs)!r}"
        )
    return names


def _check_port(port: int) -> None:
    if not 0 < port <= 65535:
        raise ValueError(f"local port {port} out of range 1-65535")


def _g711_offers(media: MediaDescription) -> dict[str, int]:
    """Codec name → first payload type carrying it at 8 kHz mono, for G.711 only."""
    found: dict[str, int] = {}
    for pt, entry in media.rtpmaps().items():
        name = entry.encoding.upper()
        if (
            name in SUPPORTED_CODECS
            and entry.clock_rate == G711_CLOCK_RATE
            and entry.channels in (None, 1)
        ):
            found.setdefault(name, pt)
    return found


def _telephone_event(media: MediaDescription) -> int | None:
    # The events must run on the audio codec's clock, so only the 8 kHz flavour counts.
    for pt, entry in media.rtpmaps().items():
        if entry.encoding.lower() == TELEPHONE_EVENT and entry.clock_rate == G711_CLOCK_RATE:
            return pt
    return None


def _remote_address(sdp: SessionDescription, media: MediaDescription) -> str | None:
    connection = media.connection or sdp.connection
    return None if connection is None else connection.host


def _reverse(direction: str) -> str:
    send, receive = _DIRECTION_FLAGS[direction]
    return _FLAGS_DIRECTION[(receive, send)]


def _narrow(ours: str, allowed: str) -> str:
    a, b = _DIRECTION_FLAGS[ours], _DIRECTION_FLAGS[allowed]
    return _FLAGS_DIRECTION[(a[0] and b[0], a[1] and b[1])]


def _addr_type(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _rejected(media: MediaDescription) -> MediaDescription:
    # RFC 3264 §6: a refused stream keeps its place, media and proto, with port 0 and at
    # least one of the offered formats.
    return MediaDescription(
        media=media.media, port=0, proto=media.proto, formats=media.formats[:1] or ("0",)
    )


def _audio_problem(
    sdp: SessionDescription, media: MediaDescription, codecs: Sequence[str]
) -> str | None:
    if media.port == 0:
        return "refused by the offerer (port 0)"
    if media.proto not in USABLE_PROTOS:
        return f"transport {media.proto} is not supported (only RTP/AVP, RTP/AVPF)"
    if _remote_address(sdp, media) is None:
        return "no c= line for the stream or the session"
    if not any(c in codecs for c in _g711_offers(media)):
        offered = ", ".join(
            f"{e.encoding}/{e.clock_rate}" for e in media.rtpmaps().values()
        ) or " ".join(media.formats)
        return f"no common codec (offered {offered or 'nothing'}; we take {', '.join(codecs)})"
    return None


def answer_offer(
    offer: SessionDescription,
    *,
    local_address: str,
    local_port: int,
    session_id: str,
    session_version: str = "1",
    preference: Sequence[str] = SUPPORTED_CODECS,
    username: str = "dialtone",
    session_name: str = "dialtone",
) -> tuple[SessionDescription, NegotiatedAudio]:
    """Answer ``offer`` as a G.711 endpoint (RFC 3264 §6).

    The first audio stream over RTP/AVP(F) with a codec in ``preference`` is accepted, with
    the first codec of ``preference`` the offer carries (our order, not the offer's) under
    the offer's payload type number. telephone-event/8000 (RFC 4733) is accepted with the
    offer's number and fmtp, ptime is echoed, and the direction is the offer's reversed.
    The answer has one m= line per offered one, in order; all others get port 0.

    Raises NoAcceptableMedia (SIP 488) when no stream qualifies, and ValueError for a
    ``preference`` naming codecs other than PCMA/PCMU or a port out of range.
    """
    wanted = _codec_list(preference, "preference")
    _check_port(local_port)
    reasons: list[str] = []
    index: int | None = None
    for i, media in enumerate(offer.media):
        if media.media != "audio":
            continue
        problem = _audio_problem(offer, media, wanted)
        if problem is None:
            index = i
            break
        reasons.append(f"audio stream {i + 1}: {problem}")
    if index is None:
        raise NoAcceptableMedia("; ".join(reasons) or "the offer has no audio stream")

    chosen = offer.media[index]
    offered = _g711_offers(chosen)
    codec = next(c for c in wanted if c in offered)
    pt = offered[codec]
    event_pt = _telephone_event(chosen)
    ptime = chosen.ptime
    direction = _reverse(offer.direction_for(chosen))
    address = _remote_address(offer, chosen)
    assert address is not None  # _audio_problem checked it

    formats = [str(pt)]
    attributes: list[Attribute] = [("rtpmap", f"{pt} {codec}/{G711_CLOCK_RATE}")]
    if event_pt is not None:
        formats.append(str(event_pt))
        attributes.append(("rtpmap", f"{event_pt} {TELEPHONE_EVENT}/{G711_CLOCK_RATE}"))
        events = chosen.fmtp(event_pt)
        if events:
            attributes.append(("fmtp", f"{event_pt} {events}"))
    if ptime is not None:
        attributes.append(("ptime", str(ptime)))
    attributes.append((direction, None))
    accepted = MediaDescription(
        media="audio",
        port=local_port,
        proto=chosen.proto,
        formats=tuple(formats),
        attributes=tuple(attributes),
    )
    addr_type = _addr_type(local_address)
    answer = SessionDescription(
        origin=Origin(username, session_id, session_version, "IN", addr_type, local_address),
        session_name=session_name,
        connection=Connection("IN", addr_type, local_address),
        media=tuple(accepted if i == index else _rejected(m) for i, m in enumerate(offer.media)),
    )
    problem = _problem(answer)
    if problem is not None:
        raise ValueError(f"cannot build the answer: {problem}")
    negotiated = NegotiatedAudio(
        remote_address=address,
        remote_port=chosen.port,
        codec=codec,
        payload_type=pt,
        clock_rate=G711_CLOCK_RATE,
        ptime=ptime or DEFAULT_PTIME,
        direction=direction,
        telephone_event_payload_type=event_pt,
    )
    return answer, negotiated


def build_offer(
    *,
    local_address: str,
    local_port: int,
    session_id: str,
    session_version: str = "1",
    codecs: Sequence[str] = SUPPORTED_CODECS,
    telephone_event: int | None = 101,
    ptime: int = DEFAULT_PTIME,
    direction: str = "sendrecv",
    username: str = "dialtone",
    session_name: str = "dialtone",
) -> SessionDescription:
    """An offer for an outbound call: one RTP/AVP audio stream with ``codecs`` in
    preference order (static payload types 8 and 0) and, unless ``telephone_event`` is
    None, RFC 4733 events 0-16 on that dynamic payload type.

    Raises ValueError for unknown codecs, a telephone-event number outside 96-127, a
    direction that is not one of :data:`DIRECTIONS`, or a port or ptime out of range.
    """
    names = _codec_list(codecs, "codecs")
    _check_port(local_port)
    if telephone_event is not None and not 96 <= telephone_event <= 127:
        raise ValueError(f"telephone-event payload type {telephone_event} is not in 96-127")
    if direction not in _DIRECTION_FLAGS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if not 0 < ptime <= 1000:
        raise ValueError(f"ptime {ptime} out of range 1-1000 ms")
    formats = [str(_STATIC_G711[name]) for name in names]
    attributes: list[Attribute] = [
        ("rtpmap", f"{_STATIC_G711[name]} {name}/{G711_CLOCK_RATE}") for name in names
    ]
    if telephone_event is not None:
        formats.append(str(telephone_event))
        attributes.append(("rtpmap", f"{telephone_event} {TELEPHONE_EVENT}/{G711_CLOCK_RATE}"))
        attributes.append(("fmtp", f"{telephone_event} {DEFAULT_EVENTS}"))
    attributes.append(("ptime", str(ptime)))
    attributes.append((direction, None))
    addr_type = _addr_type(local_address)
    offer = SessionDescription(
        origin=Origin(username, session_id, session_version, "IN", addr_type, local_address),
        session_name=session_name,
        connection=Connection("IN", addr_type, local_address),
        media=(
            MediaDescription(
                media="audio",
                port=local_port,
                proto="RTP/AVP",
                formats=tuple(formats),
                attributes=tuple(attributes),
            ),
        ),
    )
    problem = _problem(offer)
    if problem is not None:
        raise ValueError(f"cannot build the offer: {problem}")
    return offer


def negotiate_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedAudio:
    """The offerer's side of RFC 3264 §6: what ``answer`` accepted of our ``offer``.

    Takes the first audio stream the answer kept (port not 0) whose answer lists a G.711
    codec we offered. ``direction`` is ours: what we offered narrowed by the reverse of
    the answer's. Raises NoAcceptableMedia when the answer rejected every audio stream,
    chose nothing we offered, lacks an address, or does not match the offer's m= lines.
    """
    if len(answer.media) != len(offer.media):
        raise NoAcceptableMedia(
            f"the answer has {len(answer.media)} m= lines, the offer had {len(offer.media)}"
        )
    reasons: list[str] = []
    for i, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True), 1):
        if ours.media != "audio" or ours.port == 0:
            continue
        ours_codecs = _g711_offers(ours)
        if not ours_codecs:
            continue
        if theirs.port == 0:
            reasons.append(f"audio stream {i} rejected (port 0)")
            continue
        if theirs.media != ours.media or theirs.proto != ours.proto:
            reasons.append(f"audio stream {i} answered as {theirs.media} {theirs.proto}")
            continue
        address = _remote_address(answer, theirs)
        if address is None:
            reasons.append(f"audio stream {i} has no c= line in the answer")
            continue
        # The first of the answer's formats is the one the answerer will send (RFC 3264 §6.1).
        picked = next(
            ((name, pt) for name, pt in _g711_offers(theirs).items() if name in ours_codecs),
            None,
        )
        if picked is None:
            reasons.append(f"audio stream {i}: the answer chose no codec we offered")
            continue
        codec, pt = picked
        direction = _narrow(offer.direction_for(ours), _reverse(answer.direction_for(theirs)))
        events = _telephone_event(theirs) if _telephone_event(ours) is not None else None
        return NegotiatedAudio(
            remote_address=address,
            remote_port=theirs.port,
            codec=codec,
            payload_type=pt,
            clock_rate=G711_CLOCK_RATE,
            ptime=theirs.ptime or DEFAULT_PTIME,
            direction=direction,
            telephone_event_payload_type=events,
        )
    raise NoAcceptableMedia("; ".join(reasons) or "the offer had no G.711 audio stream")
