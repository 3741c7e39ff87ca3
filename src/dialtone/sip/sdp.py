"""SDP (RFC 4566) and the offer/answer model (RFC 3264) for G.711 audio.

Parsing is liberal about line endings and strict about the lines that matter (v, o, s,
c, m). :class:`SdpParseError` is the only exception ``parse`` raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dialtone.sip.errors import SdpParseError

# RFC 3551 static payload types an offer may use without an rtpmap line.
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int]] = {
    0: ("PCMU", 8000),
    3: ("GSM", 8000),
    4: ("G723", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    18: ("G729", 8000),
}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSE = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
USABLE_PROTOS = ("RTP/AVP", "RTP/AVPF")
_SESSION_ORDER = "vosiuepcbtrzka"


class NoAcceptableMedia(Exception):
    """No stream of the offer (or answer) carries a codec this side supports (SIP 488)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Origin:
    username: str
    session_id: str
    session_version: str
    net_type: str
    addr_type: str
    address: str

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.net_type} {self.addr_type} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    net_type: str
    addr_type: str
    address: str

    def __str__(self) -> str:
        return f"{self.net_type} {self.addr_type} {self.address}"


@dataclass(frozen=True, slots=True)
class RtpMap:
    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None


Attribute = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section with its own lines."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    other_lines: tuple[tuple[str, str], ...] = ()  # i=, b=, k= lines kept as read

    def attribute(self, name: str) -> str | None:
        """First value of ``a=name:value`` ('' for a flag attribute), or None."""
        for key, value in self.attributes:
            if key == name:
                return "" if value is None else value
        return None

    def attribute_values(self, name: str) -> list[str]:
        """Every value of attribute ``name``."""
        return [v or "" for k, v in self.attributes if k == name]

    def rtpmaps(self) -> dict[int, RtpMap]:
        """Payload type → encoding, from rtpmap lines and the static RFC 3551 types."""
        maps: dict[int, RtpMap] = {}
        for fmt in self.formats:
            if fmt.isdigit() and int(fmt) in STATIC_PAYLOAD_TYPES:
                name, rate = STATIC_PAYLOAD_TYPES[int(fmt)]
                maps[int(fmt)] = RtpMap(int(fmt), name, rate, None)
        for value in self.attribute_values("rtpmap"):
            parsed = _parse_rtpmap(value)
            if parsed is not None:
                maps[parsed.payload_type] = parsed
        return maps

    def fmtp(self, payload_type: int) -> str | None:
        """The fmtp parameters of ``payload_type``, or None."""
        prefix = f"{payload_type} "
        for value in self.attribute_values("fmtp"):
            if value.startswith(prefix):
                return value[len(prefix) :].strip()
        return None

    @property
    def direction(self) -> str:
        """sendrecv (the default), sendonly, recvonly or inactive."""
        for key, _ in self.attributes:
            if key in DIRECTIONS:
                return key
        return "sendrecv"

    @property
    def ptime(self) -> int | None:
        """Packetisation time in ms, when given."""
        value = self.attribute("ptime")
        if value and value.strip().isdigit():
            return int(value.strip())
        return None

    def lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}".rstrip()]
        out.extend(f"{k}={v}" for k, v in self.other_lines if k == "i")
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend(f"{k}={v}" for k, v in self.other_lines if k != "i")
        out.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes)
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole session description."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    times: tuple[str, ...] = ("0 0",)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    version: int = 0
    other_lines: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse SDP text; raises SdpParseError on anything malformed."""
        if isinstance(data, bytes | bytearray):
            try:
                text = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                raise SdpParseError("SDP is not UTF-8") from None
        elif isinstance(data, str):
            text = data
        else:
            raise SdpParseError("SDP must be bytes or text")
        return _parse(text)

    def serialize(self) -> bytes:
        """The description as CRLF-separated lines, in RFC 4566 order."""
        lines = [f"v={self.version}", f"o={self.origin}", f"s={self.session_name or '-'}"]
        early = [(k, v) for k, v in self.other_lines if _SESSION_ORDER.index(k) < 7]
        late = [(k, v) for k, v in self.other_lines if _SESSION_ORDER.index(k) >= 7]
        lines.extend(
            f"{k}={v}" for k, v in sorted(early, key=lambda kv: _SESSION_ORDER.index(kv[0]))
        )
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines.extend(f"{k}={v}" for k, v in late if k == "b")
        lines.extend(f"t={t}" for t in self.times)
        lines.extend(f"{k}={v}" for k, v in late if k in "rzk")
        lines.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes)
        for media in self.media:
            lines.extend(media.lines())
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def __bytes__(self) -> bytes:
        return self.serialize()


def _parse_rtpmap(value: str) -> RtpMap | None:
    pt_text, _, rest = value.strip().partition(" ")
    parts = rest.strip().split("/")
    if not pt_text.isdigit() or len(parts) < 2 or not parts[1].strip().isdigit():
        return None
    channels = int(parts[2]) if len(parts) > 2 and parts[2].strip().isdigit() else None
    return RtpMap(int(pt_text), parts[0].strip(), int(parts[1]), channels)


def _parse_connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpParseError(f"bad c= line {value[:60]!r}")
    address = parts[2].split("/", 1)[0]
    if not address:
        raise SdpParseError("empty connection address")
    return Connection(parts[0], parts[1], parts[2])


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise SdpParseError(f"bad m= line {value[:60]!r}")
    port_text, _, count_text = parts[0 + 1].partition("/")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise SdpParseError(f"bad media port {parts[1][:20]!r}")
    if count_text and not count_text.isdigit():
        raise SdpParseError("bad media port count")
    if not parts[0].isalnum():
        raise SdpParseError("bad media type")
    return MediaDescription(
        media=parts[0],
        port=int(port_text),
        port_count=int(count_text) if count_text else None,
        proto=parts[2],
        formats=tuple(parts[3:]),
    )


def _attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    if not name:
        raise SdpParseError("empty attribute name")
    return (name, rest if colon else None)


def _parse(text: str) -> SessionDescription:
    lines = [line.rstrip("\r") for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise SdpParseError("empty SDP")
    version: int | None = None
    origin: Origin | None = None
    name: str | None = None
    connection: Connection | None = None
    times: list[str] = []
    attributes: list[Attribute] = []
    other: list[tuple[str, str]] = []
    media: list[MediaDescription] = []
    current: dict[str, object] | None = None

    def close_media() -> None:
        if current is not None:
            base = current["m"]
            assert isinstance(base, MediaDescription)
            media.append(
                MediaDescription(
                    media=base.media,
                    port=base.port,
                    port_count=base.port_count,
                    proto=base.proto,
                    formats=base.formats,
                    connection=current["c"],  # type: ignore[arg-type]
                    attributes=tuple(current["a"]),  # type: ignore[arg-type]
                    other_lines=tuple(current["o"]),  # type: ignore[arg-type]
                )
            )

    for line in lines:
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha() or not line[0].islower():
            raise SdpParseError(f"bad SDP line {line[:60]!r}")
        kind, value = line[0], line[2:]
        if kind == "m":
            close_media()
            current = {"m": _parse_media(value), "c": None, "a": [], "o": []}
            continue
        if current is not None:
            if kind == "c":
                current["c"] = _parse_connection(value)
            elif kind == "a":
                current["a"].append(_attribute(value))  # type: ignore[attr-defined]
            elif kind in "ibk":
                current["o"].append((kind, value))  # type: ignore[attr-defined]
            else:
                raise SdpParseError(f"{kind}= line not allowed in a media section")
            continue
        if kind == "v":
            if value.strip() != "0":
                raise SdpParseError("SDP version must be 0")
            version = 0
        elif kind == "o":
            parts = value.split()
            if len(parts) != 6:
                raise SdpParseError("bad o= line")
            origin = Origin(*parts)
        elif kind == "s":
            name = value
        elif kind == "c":
            connection = _parse_connection(value)
        elif kind == "t":
            times.append(value)
        elif kind == "a":
            attributes.append(_attribute(value))
        elif kind in _SESSION_ORDER:
            other.append((kind, value))
        # Unknown line types are ignored (RFC 4566 §5).
    close_media()
    if version is None:
        raise SdpParseError("missing v= line")
    if origin is None:
        raise SdpParseError("missing o= line")
    if name is None:
        raise SdpParseError("missing s= line")
    return SessionDescription(
        version=version,
        origin=origin,
        session_name=name,
        connection=connection,
        times=tuple(times) or ("0 0",),
        attributes=tuple(attributes),
        media=tuple(media),
        other_lines=tuple(other),
    )


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """What both sides agreed for the audio stream."""

    remote_address: str
    remote_port: int
    codec: str
    payload_type: int
    clock_rate: int
    ptime: int
    direction: str
    telephone_event_payload_type: int | None = None


def _usable_codecs(media: MediaDescription) -> dict[str, int]:
    """Encoding name (upper case) → payload type, for 8 kHz G.711, first offered wins."""
    maps = media.rtpmaps()
    found: dict[str, int] = {}
    for fmt in media.formats:
        if not fmt.isdigit():
            continue
        entry = maps.get(int(fmt))
        if entry is None or entry.clock_rate != 8000:
            continue
        found.setdefault(entry.encoding.upper(), int(fmt))
    return found


def _telephone_event(media: MediaDescription) -> int | None:
    for pt, entry in media.rtpmaps().items():
        is_event = entry.encoding.lower() == "telephone-event" and entry.clock_rate == 8000
        if is_event and str(pt) in media.formats:
            return pt
    return None


def _address(sdp: SessionDescription, media: MediaDescription) -> str | None:
    conn = media.connection or sdp.connection
    return conn.address.split("/", 1)[0] if conn is not None else None


def answer_offer(
    offer: SessionDescription,
    *,
    local_address: str,
    local_port: int,
    session_id: str,
    session_version: str = "1",
    preference: Sequence[str] = ("PCMA", "PCMU"),
    username: str = "dialtone",
    session_name: str = "dialtone",
) -> tuple[SessionDescription, NegotiatedAudio]:
    """Answer ``offer`` (RFC 3264 §6): the first audio stream with a codec we take is
    accepted with our preferred codec among those offered; every other stream is rejected
    with port 0, keeping the number and order of m-lines."""
    wanted = [p.upper() for p in preference]
    chosen: tuple[int, str, int] | None = None  # (index, codec, payload type)
    reasons: list[str] = []
    for index, media in enumerate(offer.media):
        if media.media != "audio" or media.port == 0:
            continue
        if media.proto not in USABLE_PROTOS:
            reasons.append(f"audio over {media.proto} is not supported")
            continue
        if _address(offer, media) is None:
            reasons.append("audio stream without a connection address")
            continue
        usable = _usable_codecs(media)
        for name in wanted:
            if name in usable:
                chosen = (index, name, usable[name])
                break
        if chosen is not None:
            break
        reasons.append("no common codec (we take " + ", ".join(wanted) + ")")
    if chosen is None:
        raise NoAcceptableMedia("; ".join(reasons) or "the offer has no audio stream")
    index, codec, pt = chosen
    media = offer.media[index]
    address = _address(offer, media)
    assert address is not None
    event_pt = _telephone_event(media)
    ip6 = ":" in local_address
    direction = _REVERSE[media.direction]
    formats = [str(pt)] + ([str(event_pt)] if event_pt is not None else [])
    attributes: list[Attribute] = [("rtpmap", f"{pt} {codec}/8000")]
    if event_pt is not None:
        attributes.append(("rtpmap", f"{event_pt} telephone-event/8000"))
        attributes.append(("fmtp", f"{event_pt} {media.fmtp(event_pt) or '0-16'}"))
    ptime = media.ptime
    if ptime is not None:
        attributes.append(("ptime", str(ptime)))
    attributes.append((direction, None))
    answered: list[MediaDescription] = []
    for i, m in enumerate(offer.media):
        if i == index:
            answered.append(
                MediaDescription(
                    media="audio",
                    port=local_port,
                    proto=m.proto,
                    formats=tuple(formats),
                    attributes=tuple(attributes),
                )
            )
        else:
            answered.append(
                MediaDescription(
                    media=m.media, port=0, proto=m.proto, formats=m.formats[:1] or ("0",)
                )
            )
    connection = Connection("IN", "IP6" if ip6 else "IP4", local_address)
    answer = SessionDescription(
        origin=Origin(
            username, session_id, session_version, "IN", connection.addr_type, local_address
        ),
        session_name=session_name,
        connection=connection,
        media=tuple(answered),
    )
    negotiated = NegotiatedAudio(
        remote_address=address,
        remote_port=media.port,
        codec=codec,
        payload_type=pt,
        clock_rate=8000,
        ptime=ptime or 20,
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
    codecs: Sequence[str] = ("PCMA", "PCMU"),
    telephone_event: int | None = 101,
    ptime: int = 20,
    direction: str = "sendrecv",
) -> SessionDescription:
    """An offer for outbound calls: our codecs in preference order, plus DTMF events."""
    formats: list[str] = []
    attributes: list[Attribute] = []
    for name in codecs:
        pt = {"PCMU": 0, "PCMA": 8}[name.upper()]
        formats.append(str(pt))
        attributes.append(("rtpmap", f"{pt} {name.upper()}/8000"))
    if telephone_event is not None:
        formats.append(str(telephone_event))
        attributes.append(("rtpmap", f"{telephone_event} telephone-event/8000"))
        attributes.append(("fmtp", f"{telephone_event} 0-16"))
    attributes.append(("ptime", str(ptime)))
    attributes.append((direction, None))
    addr_type = "IP6" if ":" in local_address else "IP4"
    return SessionDescription(
        origin=Origin("dialtone", session_id, session_version, "IN", addr_type, local_address),
        session_name="dialtone",
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


def negotiate_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedAudio:
    """The offerer's view: what the answer accepted of our offer."""
    offered = {
        name: pt
        for m in offer.media
        if m.media == "audio"
        for name, pt in _usable_codecs(m).items()
    }
    for media in answer.media:
        if media.media != "audio" or media.port == 0:
            continue
        usable = _usable_codecs(media)
        address = _address(answer, media)
        for name, pt in usable.items():
            if name in offered and address is not None:
                return NegotiatedAudio(
                    remote_address=address,
                    remote_port=media.port,
                    codec=name,
                    payload_type=pt,
                    clock_rate=8000,
                    ptime=media.ptime or 20,
                    direction=_REVERSE[media.direction],
                    telephone_event_payload_type=_telephone_event(media),
                )
    raise NoAcceptableMedia("the answer accepted no audio codec we offered")
