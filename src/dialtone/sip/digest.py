"""Digest authentication (RFC 7616, as SIP uses it: RFC 3261 §22, RFC 8760).

The server side challenges and verifies against stored HA1 hashes (the platform never keeps
passwords); the client side answers a carrier trunk's challenge. Nonces are signed and carry
their issue time, so the server keeps no nonce table.

Pure: no I/O, no clock, no randomness. Time and random bytes come in as arguments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from typing import Literal

from dialtone.sip.errors import SipParseError

ALGORITHMS = ("SHA-256", "MD5")
_HASHLIB_NAMES = {"MD5": "md5", "SHA-256": "sha256"}

# RFC 7230 tchar; a superset of the RFC 3261 token alphabet, so SIP tokens all pass.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Unambiguous alternation, so matching stays linear on hostile input.
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+\Z")
_NC = re.compile(r"[0-9a-fA-F]{8}\Z")
_NONCE_TEXT = re.compile(r"[A-Za-z0-9_-]+\Z")
# Characters a quoted-string cannot carry even escaped (RFC 3261 §25.1 quoted-pair): letting
# CR or LF through would let a challenge's opaque inject header lines into our request.
_UNQUOTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_WS = " \t\r\n"

_STAMP = struct.Struct(">q")
_MAC_SIZE = 16
_MIN_SECRET = 16
# Far longer than any nonce we issue; bounds the work a forged one can cost.
_MAX_NONCE_TEXT = 512
_FUTURE_SLACK_MS = 1000


class DigestError(SipParseError):
    """An Authorization or WWW-Authenticate value that cannot be parsed or used."""


def _base(algorithm: str) -> str:
    """The hash behind ``algorithm`` ("MD5" or "SHA-256"); raises on anything else."""
    name = algorithm.upper()
    if name.endswith("-SESS"):
        name = name[: -len("-SESS")]
    if name not in _HASHLIB_NAMES:
        raise DigestError(f"unsupported digest algorithm {algorithm[:40]!r}")
    return name


def _is_sess(algorithm: str) -> bool:
    return algorithm.upper().endswith("-SESS")


def _hash_bytes(algorithm: str, data: bytes) -> str:
    return hashlib.new(_HASHLIB_NAMES[_base(algorithm)], data).hexdigest()


def hash_hex(algorithm: str, data: str) -> str:
    """H(data) in lower-case hex (MD5 or SHA-256, with or without ``-sess``), over UTF-8.

    Raises DigestError for an unsupported algorithm.
    """
    return _hash_bytes(algorithm, data.encode("utf-8"))


def ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    """H(username:realm:password): what the platform stores instead of a password.

    For a ``-sess`` algorithm this is the stored part; the session key is derived per nonce.
    """
    return hash_hex(algorithm, f"{username}:{realm}:{password}")


def _skip_ws(text: str, pos: int) -> int:
    length = len(text)
    while pos < length and text[pos] in _WS:
        pos += 1
    return pos


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """Split a challenge or credentials value into its scheme and auth-params.

    Parameter names are lower-cased; quoted values are unescaped. Whitespace (including
    folded line breaks) may surround names, ``=`` and commas, and empty list elements are
    skipped (RFC 7230 §7). A parameter given twice, a token68 form, or anything else off the
    grammar raises DigestError, the only exception this lets out.
    """
    text = value
    length = len(text)
    pos = _skip_ws(text, 0)
    match = _TOKEN.match(text, pos)
    if match is None:
        raise DigestError("no authentication scheme")
    scheme = match.group(0)
    pos = match.end()
    if pos < length and text[pos] not in _WS:
        raise DigestError("authentication scheme not followed by whitespace")
    params: dict[str, str] = {}
    need_comma = False
    while True:
        pos = _skip_ws(text, pos)
        if pos >= length:
            break
        if text[pos] == ",":
            pos += 1
            need_comma = False
            continue
        if need_comma:
            raise DigestError(f"expected ',' at offset {pos}")
        name_match = _TOKEN.match(text, pos)
        if name_match is None:
            raise DigestError(f"bad auth-param at offset {pos}")
        name = name_match.group(0).lower()
        pos = _skip_ws(text, name_match.end())
        if pos >= length or text[pos] != "=":
            raise DigestError(f"auth-param {name[:40]!r} has no value")
        pos = _skip_ws(text, pos + 1)
        quoted = _QUOTED.match(text, pos)
        if quoted is not None:
            param = _QUOTED_PAIR.sub(r"\1", quoted.group(1))
            pos = quoted.end()
        elif pos < length and text[pos] == '"':
            raise DigestError("unterminated quoted string")
        else:
            token = _TOKEN.match(text, pos)
            if token is None:
                raise DigestError(f"auth-param {name[:40]!r} has a bad value")
            param = token.group(0)
            pos = token.end()
        if name in params:
            raise DigestError(f"auth-param {name[:40]!r} given twice")
        params[name] = param
        need_comma = True
    return scheme, params


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """The Digest credentials of an Authorization or Proxy-Authorization header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestCredentials:
        """Parse a credentials value; DigestError when it is not usable Digest.

        ``algorithm`` defaults to MD5 when absent (RFC 7616 §3.4); an unknown algorithm is
        kept so that ``verify`` can refuse it. With ``qop``, ``nc`` and ``cnonce`` are
        required (RFC 7616 §3.4); ``nc`` must be 8 hex digits and ``response`` hex.
        """
        scheme, params = parse_auth_header(value)
        if scheme.lower() != "digest":
            raise DigestError(f"not Digest credentials ({scheme[:40]})")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
        if missing:
            raise DigestError(f"credentials lack {', '.join(missing)}")
        if not _HEX.match(params["response"]):
            raise DigestError("response is not hex")
        nc = params.get("nc")
        if nc is not None and not _NC.match(nc):
            raise DigestError("nc is not 8 hex digits")
        qop = params.get("qop")
        cnonce = params.get("cnonce")
        if qop is not None and (nc is None or cnonce is None):
            raise DigestError("qop without nc and cnonce")
        return cls(
            username=params["username"],
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            algorithm=params.get("algorithm", "MD5"),
            qop=qop,
            nc=nc,
            cnonce=cnonce,
            opaque=params.get("opaque"),
        )


class NonceSigner:
    """Nonces that carry their issue time and an HMAC, so none need be remembered.

    Layout before base64url: issue time in integer milliseconds (8 bytes, big-endian), the
    salt, then the first 16 bytes of HMAC-SHA256(secret, time || salt). All time arithmetic
    happens at that millisecond resolution.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SECRET:
            # A short key could be found offline from one captured nonce, then used to
            # mint nonces at will.
            raise ValueError(f"nonce secret must be at least {_MIN_SECRET} bytes")
        self._secret = secret

    def _mac(self, stamp: bytes, salt: bytes) -> bytes:
        return hmac.new(self._secret, stamp + salt, hashlib.sha256).digest()[:_MAC_SIZE]

    def make(self, now: float, salt: bytes) -> str:
        """A fresh nonce issued at ``now`` (seconds); ``salt`` is a few random bytes (8–16)
        so that nonces issued in the same millisecond differ."""
        stamp = _STAMP.pack(round(now * 1000))
        raw = stamp + salt + self._mac(stamp, salt)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def check(self, nonce: str, now: float, lifetime: float) -> Literal["ok", "stale", "invalid"]:
        """Judge a nonce a client sent back; never raises for any ``nonce`` text.

        "invalid" when forged, garbled, or issued more than 1 s in the future (clock steps
        aside, only a forgery gets there); "stale" when older than ``lifetime`` seconds (at
        exactly ``lifetime`` it is still "ok").
        """
        if len(nonce) > _MAX_NONCE_TEXT or not _NONCE_TEXT.match(nonce):
            return "invalid"
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except ValueError:
            return "invalid"
        # One text per nonce: otherwise trailing bits could be flipped and still verify.
        if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != nonce:
            return "invalid"
        if len(raw) < _STAMP.size + _MAC_SIZE:
            return "invalid"
        stamp, salt, mac = raw[: _STAMP.size], raw[_STAMP.size : -_MAC_SIZE], raw[-_MAC_SIZE:]
        if not hmac.compare_digest(mac, self._mac(stamp, salt)):
            return "invalid"
        issued_ms = _STAMP.unpack(stamp)[0]
        now_ms = round(now * 1000)
        if issued_ms - now_ms > _FUTURE_SLACK_MS:
            return "invalid"
        return "stale" if now_ms - issued_ms > round(lifetime * 1000) else "ok"


def _quote(value: str) -> str:
    if _UNQUOTABLE.search(value):
        raise DigestError("control character in a quoted-string")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(
    realm: str,
    nonce: str,
    *,
    algorithm: str = "SHA-256",
    stale: bool = False,
    opaque: str | None = None,
    qop: str = "auth",
) -> str:
    """The WWW-Authenticate / Proxy-Authenticate value offering one algorithm.

    RFC 8760 §2.4 has a server offer several algorithms as several header lines, the
    preferred first; call this once per algorithm. An empty ``qop`` leaves qop out (RFC 2069
    style). Raises DigestError for an unsupported algorithm or a control character in a value.
    """
    _base(algorithm)
    parts = [f"realm={_quote(realm)}", f"nonce={_quote(nonce)}", f"algorithm={algorithm}"]
    if qop:
        parts.append(f"qop={_quote(qop)}")
    if stale:
        parts.append("stale=true")
    if opaque is not None:
        parts.append(f"opaque={_quote(opaque)}")
    return "Digest " + ", ".join(parts)


def _response(
    algorithm: str,
    stored_ha1: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str | None,
    cnonce: str | None,
    body: bytes = b"",
) -> str:
    # Hex case must match what the other side hashed: RFC 7616 §3.4.2 says lower case.
    secret = stored_ha1.lower()
    if _is_sess(algorithm):
        if cnonce is None:
            raise DigestError("a -sess algorithm needs a cnonce")
        secret = hash_hex(algorithm, f"{secret}:{nonce}:{cnonce}")
    kind = None if qop is None else qop.lower()
    if kind == "auth-int":
        ha2 = hash_hex(algorithm, f"{method}:{uri}:{_hash_bytes(algorithm, body)}")
    elif kind in (None, "auth"):
        ha2 = hash_hex(algorithm, f"{method}:{uri}")
    else:
        raise DigestError(f"unsupported qop {qop[:40]!r}" if qop else "empty qop")
    if qop is None:
        # RFC 2069, kept by RFC 2617 for clients that send no qop.
        return hash_hex(algorithm, f"{secret}:{nonce}:{ha2}")
    if nc is None or cnonce is None:
        raise DigestError("qop without nc and cnonce")
    return hash_hex(algorithm, f"{secret}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def expected_response(
    credentials: DigestCredentials, method: str, stored_ha1: str, body: bytes = b""
) -> str:
    """The response a client knowing the password behind ``stored_ha1`` would have sent.

    ``body`` only matters for qop=auth-int. Raises DigestError for an unsupported algorithm
    or qop, or a -sess algorithm without cnonce.
    """
    return _response(
        credentials.algorithm,
        stored_ha1,
        nonce=credentials.nonce,
        method=method,
        uri=credentials.uri,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
        body=body,
    )


def verify(credentials: DigestCredentials, method: str, stored_ha1: str) -> bool:
    """Whether ``credentials`` prove knowledge of the password behind ``stored_ha1``.

    Handles qop=auth, no qop (RFC 2069/2617) and the ``-sess`` algorithms; qop=auth-int is
    never offered and fails. ``stored_ha1`` must have been computed with the same base hash
    as ``credentials.algorithm``. The nonce, realm and uri are the caller's to check.
    """
    if credentials.qop is not None and credentials.qop.lower() != "auth":
        return False
    try:
        expected = expected_response(credentials, method, stored_ha1)
    except DigestError:
        return False
    # Bytes, so that a hand-built non-ASCII response cannot make compare_digest raise.
    return hmac.compare_digest(expected.encode(), credentials.response.lower().encode("utf-8"))


def authorization(
    challenge_value: str,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The Authorization (or Proxy-Authorization) value answering ``challenge_value``.

    Client side, for authenticating to carrier trunks. Chooses qop=auth when offered (and
    refuses a challenge offering only other qops), answers RFC 2069 style when no qop is
    offered, supports MD5, SHA-256 and their ``-sess`` forms, and echoes ``opaque``.
    ``cnonce`` should be fresh random text; ``nc`` counts uses of the same nonce.
    Raises DigestError for an unsupported scheme, algorithm or qop, or a bad challenge.
    """
    if not 1 <= nc <= 0xFFFFFFFF:
        raise ValueError("nc must fit in 8 hex digits and be at least 1")
    scheme, params = parse_auth_header(challenge_value)
    if scheme.lower() != "digest":
        raise DigestError(f"cannot answer a {scheme[:40]} challenge")
    if "realm" not in params or "nonce" not in params:
        raise DigestError("challenge lacks realm or nonce")
    algorithm = params.get("algorithm", "MD5")
    _base(algorithm)
    realm, nonce = params["realm"], params["nonce"]
    offered = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else None
    if offered and qop is None:
        raise DigestError(f"no supported qop in {params['qop'][:40]!r}")
    sends_cnonce = qop is not None or _is_sess(algorithm)
    if sends_cnonce and not cnonce:
        raise ValueError("cnonce must not be empty")
    nc_text = f"{nc:08x}"
    response = _response(
        algorithm,
        ha1(username, realm, password, algorithm),
        nonce=nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text if qop else None,
        cnonce=cnonce if sends_cnonce else None,
    )
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}"]
    if sends_cnonce:
        parts.append(f"cnonce={_quote(cnonce)}")
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    return "Digest " + ", ".join(parts)
