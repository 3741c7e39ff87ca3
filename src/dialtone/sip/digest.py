"""Digest authentication (RFC 7616, as SIP uses it: RFC 3261 §22, RFC 8760).

Pure functions: the server side challenges and verifies against stored HA1 hashes (the
platform never keeps passwords); the client side answers a carrier's challenge. Nonces
are signed and carry their issue time, so the server keeps no nonce table; time and
random bytes come in as arguments.
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
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEX = re.compile(r"[0-9a-fA-F]+\Z")
_NC = re.compile(r"[0-9a-fA-F]{8}\Z")


class DigestError(SipParseError):
    """An Authorization or WWW-Authenticate value that cannot be used."""


def _base(algorithm: str) -> str:
    name = algorithm.upper()
    if name.endswith("-SESS"):
        name = name[: -len("-SESS")]
    if name not in _HASHES:
        raise DigestError(f"unsupported digest algorithm {algorithm!r}")
    return name


def hash_hex(algorithm: str, data: str) -> str:
    """H(data) in lower-case hex for ``algorithm`` (MD5 or SHA-256, with or without -sess)."""
    return _HASHES[_base(algorithm)](data.encode("utf-8")).hexdigest()


def ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    """H(username:realm:password): what the platform stores instead of a password."""
    return hash_hex(algorithm, f"{username}:{realm}:{password}")


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """The scheme and the auth-params (names lower-cased, quoted values unescaped)."""
    text = value.strip()
    match = _TOKEN.match(text)
    if match is None:
        raise DigestError("no authentication scheme")
    scheme = match.group(0)
    pos = match.end()
    params: dict[str, str] = {}
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= length:
            break
        name_match = _TOKEN.match(text, pos)
        if name_match is None:
            raise DigestError(f"bad auth-param at {pos}")
        name = name_match.group(0).lower()
        pos = name_match.end()
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos >= length or text[pos] != "=":
            raise DigestError(f"auth-param {name!r} has no value")
        pos += 1
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos < length and text[pos] == '"':
            pos += 1
            chars: list[str] = []
            while True:
                if pos >= length:
                    raise DigestError("unterminated quoted string")
                char = text[pos]
                if char == "\\":
                    if pos + 1 >= length:
                        raise DigestError("dangling escape")
                    chars.append(text[pos + 1])
                    pos += 2
                    continue
                if char == '"':
                    pos += 1
                    break
                chars.append(char)
                pos += 1
            param_value = "".join(chars)
        else:
            token = _TOKEN.match(text, pos)
            if token is None:
                raise DigestError(f"auth-param {name!r} has no value")
            param_value = token.group(0)
            pos = token.end()
        if name in params:
            raise DigestError(f"auth-param {name!r} given twice")
        params[name] = param_value
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos < length and text[pos] != ",":
            raise DigestError(f"expected ',' at {pos}")
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
        """Parse a credentials value; DigestError when it is not usable Digest."""
        scheme, params = parse_auth_header(value)
        if scheme.lower() != "digest":
            raise DigestError(f"not Digest credentials ({scheme})")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in params]
        if missing:
            raise DigestError(f"credentials lack {', '.join(missing)}")
        if not _HEX.match(params["response"]):
            raise DigestError("response is not hex")
        nc = params.get("nc")
        if nc is not None and not _NC.match(nc):
            raise DigestError("nc is not 8 hex digits")
        qop = params.get("qop")
        if qop is not None and (nc is None or "cnonce" not in params):
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
            cnonce=params.get("cnonce"),
            opaque=params.get("opaque"),
        )


class NonceSigner:
    """Nonces that carry their issue time and an HMAC, so none need be remembered."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, stamp: bytes, salt: bytes) -> bytes:
        return hmac.new(self._secret, stamp + salt, hashlib.sha256).digest()[:16]

    def make(self, now: float, salt: bytes) -> str:
        """A fresh nonce issued at ``now`` (``salt``: a few random bytes)."""
        stamp = struct.pack(">Q", int(now * 1000))
        salt = salt[:16].ljust(8, b"\0")
        raw = stamp + bytes([len(salt)]) + salt + self._mac(stamp, salt)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def check(self, nonce: str, now: float, lifetime: float) -> Literal["ok", "stale", "invalid"]:
        """"invalid" for a forged or garbled nonce, "stale" once older than ``lifetime``."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (ValueError, TypeError):
            return "invalid"
        if len(raw) < 9:
            return "invalid"
        stamp, size = raw[:8], raw[8]
        salt, mac = raw[9 : 9 + size], raw[9 + size :]
        if len(salt) != size or not hmac.compare_digest(mac, self._mac(stamp, salt)):
            return "invalid"
        issued = struct.unpack(">Q", stamp)[0] / 1000
        if issued > now + 1:
            return "invalid"
        return "stale" if now - issued > lifetime else "ok"


def _quote(value: str) -> str:
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
    """The WWW-Authenticate / Proxy-Authenticate value for one algorithm."""
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
) -> str:
    secret = stored_ha1
    if algorithm.upper().endswith("-SESS"):
        secret = hash_hex(algorithm, f"{stored_ha1}:{nonce}:{cnonce or ''}")
    ha2 = hash_hex(algorithm, f"{method}:{uri}")
    if qop:
        return hash_hex(algorithm, f"{secret}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return hash_hex(algorithm, f"{secret}:{nonce}:{ha2}")


def expected_response(credentials: DigestCredentials, method: str, stored_ha1: str) -> str:
    """The response a client knowing the password would have computed."""
    return _response(
        credentials.algorithm,
        stored_ha1,
        nonce=credentials.nonce,
        method=method,
        uri=credentials.uri,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
    )


def verify(credentials: DigestCredentials, method: str, stored_ha1: str) -> bool:
    """Whether ``credentials`` prove knowledge of the password behind ``stored_ha1``
    (qop=auth or none; auth-int is not offered and fails)."""
    if credentials.qop not in (None, "auth"):
        return False
    try:
        expected = expected_response(credentials, method, stored_ha1)
    except DigestError:
        return False
    return hmac.compare_digest(expected, credentials.response)


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
    """The Authorization value answering ``challenge_value`` (client side, for trunks)."""
    scheme, params = parse_auth_header(challenge_value)
    if scheme.lower() != "digest":
        raise DigestError(f"cannot answer a {scheme} challenge")
    if "realm" not in params or "nonce" not in params:
        raise DigestError("challenge lacks realm or nonce")
    algorithm = params.get("algorithm", "MD5")
    _base(algorithm)
    realm, nonce = params["realm"], params["nonce"]
    offered = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else None
    if offered and qop is None:
        raise DigestError(f"no supported qop in {offered}")
    nc_text = f"{nc:08x}"
    response = _response(
        algorithm,
        ha1(username, realm, password, algorithm),
        nonce=nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text if qop else None,
        cnonce=cnonce if qop else None,
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
        parts += [f"qop={qop}", f"nc={nc_text}", f"cnonce={_quote(cnonce)}"]
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    return "Digest " + ", ".join(parts)
