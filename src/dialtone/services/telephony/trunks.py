"""Carrier SIP trunks: where outbound calls leave and where inbound calls come from.

A trunk belongs to one account, or (``account_id`` None) to the operator, and then every
account may use it. For traceback (TERMS V11) an inbound request is matched to the trunk
whose host it came from, and an outbound call records the trunk it left on.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.services.unset import UNSET, Unset
from dialtone.store import sealed
from dialtone.store.models import Trunk

TRANSPORTS = ("udp", "tcp", "tls")
# How our caller ID is written for the carrier: +33123456789, 33123456789, 0123456789.
CALLER_ID_FORMATS = ("e164", "e164-no-plus", "national")
MAX_PRIORITY = 10_000
# How long a registration is asked for (issue 13): providers' Min-Expires is commonly 60
# or more, and a day is the most any asks of a PBX.
MIN_REGISTER_EXPIRES = 60
MAX_REGISTER_EXPIRES = 86_400
# The user part of the Contact a trunk registers: letters never start a number or an
# extension, so an INVITE to it is told apart without a look-up for every call.
CONTACT_PREFIX = "trunk-"
REGISTRATION_STATES = ("registering", "registered", "failed")

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
# Credentials end up in a quoted-string of a SIP header: no control characters (CR, LF).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _invalid(message: str) -> DialtoneError:
    return DialtoneError("trunk.invalid", message)


def normalise_host(host: str) -> str:
    """An IP address in its canonical text (IPv6 compressed, no brackets), or a lower-case
    host name without the trailing dot; raises ``trunk.invalid`` for anything else."""
    text = (host or "").strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    text = text.rstrip(".").lower()
    if not _HOSTNAME.fullmatch(text):
        raise _invalid(f"{host[:80]!r} is neither an IP address nor a host name.")
    return text


def _name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 200:
        raise _invalid("A trunk name has 1 to 200 characters.")
    return name


def _port(port: int) -> int:
    if isinstance(port, bool) or not 1 <= port <= 65535:
        raise _invalid("port is between 1 and 65535.")
    return port


def _transport(transport: str) -> str:
    if transport not in TRANSPORTS:
        raise _invalid(f"transport is one of {', '.join(TRANSPORTS)}.")
    return transport


def _caller_id_format(value: str) -> str:
    if value not in CALLER_ID_FORMATS:
        raise _invalid(f"caller_id_format is one of {', '.join(CALLER_ID_FORMATS)}.")
    return value


def _priority(priority: int) -> int:
    if isinstance(priority, bool) or not 0 <= priority <= MAX_PRIORITY:
        raise _invalid(f"priority is between 0 and {MAX_PRIORITY} (lower is tried first).")
    return priority


def _secret(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= 200 or _CONTROL.search(value):
        raise _invalid(f"{what} has 1 to 200 characters and no control characters.")
    return value


def _check_credentials(trunk: Trunk) -> None:
    if trunk.password_sealed is not None and trunk.username is None:
        raise _invalid("A trunk password needs a username (digest authentication).")
    if trunk.register and (trunk.username is None or trunk.password_sealed is None):
        raise _invalid("A trunk that registers needs a username and a password.")
    if trunk.register and trunk.contact_user is None:
        trunk.contact_user = CONTACT_PREFIX + secrets.token_hex(8)


def _register_expires(value: int) -> int:
    if isinstance(value, bool) or not MIN_REGISTER_EXPIRES <= value <= MAX_REGISTER_EXPIRES:
        raise _invalid(
            f"register_expires is between {MIN_REGISTER_EXPIRES} and {MAX_REGISTER_EXPIRES}"
            " seconds."
        )
    return value


def _optional_host(host: str | None) -> str | None:
    return None if host is None else normalise_host(host)


def _optional_port(port: int | None) -> int | None:
    return None if port is None else _port(port)


def _password_context(trunk_id: str) -> str:
    # The sealed value is bound to its trunk: copied onto another row it does not open.
    return f"trunks.password:{trunk_id}"


def seal_password(trunk_id: str, password: str | None, key: bytes | None) -> str | None:
    """``password`` sealed for trunk ``trunk_id`` (issue 13: never plain at rest)."""
    if password is None:
        return None
    if key is None:
        raise ValueError("a trunk password is sealed: the platform's key is needed")
    return sealed.seal_text(password, key, context=_password_context(trunk_id))


def open_password(trunk_id: str, value: str | None, key: bytes) -> str | None:
    """The password sealed in ``value`` for trunk ``trunk_id``, or None. Only for
    answering the carrier's digest challenge; never shown, exported or logged. Raises
    ``store.sealed.SealError`` when it does not open (wrong key, altered)."""
    if value is None:
        return None
    return sealed.open_text(value, key, context=_password_context(trunk_id))


def password_of(trunk: Trunk, key: bytes) -> str | None:
    """A trunk's password, unsealed (see :func:`open_password`)."""
    return open_password(trunk.id, trunk.password_sealed, key)


def create_trunk(
    session: Session,
    *,
    account_id: str | None,
    name: str,
    host: str,
    now: datetime,
    port: int = 5060,
    transport: str = "udp",
    username: str | None = None,
    password: str | None = None,
    caller_id_format: str = "e164",
    priority: int = 100,
    enabled: bool = True,
    key: bytes | None = None,
    register: bool = False,
    register_expires: int = 3600,
    registrar_host: str | None = None,
    registrar_port: int | None = None,
    auth_username: str | None = None,
) -> Trunk:
    """Add a trunk for an account, or for the whole platform when ``account_id`` is None.

    ``password`` is the carrier's secret, sealed with ``key`` (the platform's key, needed
    when a password is given): answering the carrier's digest challenges needs the secret
    itself, so it is encrypted rather than hashed. With ``register``, the platform
    registers with the provider (needs a username and a password). 400
    ``trunk.invalid``; 404 ``account.not_found``.
    """
    if account_id is not None:
        get_account(session, account_id)
    trunk_id = new_id("TR")
    trunk = Trunk(
        id=trunk_id,
        account_id=account_id,
        name=_name(name),
        host=normalise_host(host),
        port=_port(port),
        transport=_transport(transport),
        username=_secret(username, "username"),
        password_sealed=seal_password(trunk_id, _secret(password, "password"), key),
        caller_id_format=_caller_id_format(caller_id_format),
        priority=_priority(priority),
        enabled=bool(enabled),
        created_at=now,
        register=bool(register),
        register_expires=_register_expires(register_expires),
        registrar_host=_optional_host(registrar_host),
        registrar_port=_optional_port(registrar_port),
        auth_username=_secret(auth_username, "auth_username"),
    )
    _check_credentials(trunk)
    session.add(trunk)
    session.flush()
    return trunk


def list_trunks(session: Session, account_id: str | None) -> list[Trunk]:
    """An account's own trunks, or the operator-wide ones when ``account_id`` is None."""
    scope = Trunk.account_id.is_(None) if account_id is None else Trunk.account_id == account_id
    return list(
        session.scalars(select(Trunk).where(scope).order_by(Trunk.priority, Trunk.created_at))
    )


def get_trunk(session: Session, account_id: str | None, trunk_id: str) -> Trunk:
    """One trunk in the given scope (an account's, or operator-wide for None); 404
    ``trunk.not_found`` otherwise, so an account never reaches another's trunk."""
    trunk = session.get(Trunk, trunk_id)
    if trunk is None or trunk.account_id != account_id:
        raise NotFound("trunk.not_found", f"No trunk {trunk_id} here.")
    return trunk


def find_trunk(session: Session, trunk_id: str) -> Trunk:
    """A trunk in any scope (operator tools only; the API always scopes by account)."""
    trunk = session.get(Trunk, trunk_id)
    if trunk is None:
        raise NotFound("trunk.not_found", f"No trunk {trunk_id}.")
    return trunk


def update_trunk(
    session: Session,
    account_id: str | None,
    trunk_id: str,
    *,
    name: str | Unset = UNSET,
    host: str | Unset = UNSET,
    port: int | Unset = UNSET,
    transport: str | Unset = UNSET,
    username: str | Unset | None = UNSET,
    password: str | Unset | None = UNSET,
    caller_id_format: str | Unset = UNSET,
    priority: int | Unset = UNSET,
    enabled: bool | Unset = UNSET,
    key: bytes | None = None,
    register: bool | Unset = UNSET,
    register_expires: int | Unset = UNSET,
    registrar_host: str | Unset | None = UNSET,
    registrar_port: int | Unset | None = UNSET,
    auth_username: str | Unset | None = UNSET,
) -> Trunk:
    """Change the given fields of a trunk in scope (UNSET leaves a field, None clears); a
    new password is sealed with ``key``."""
    trunk = get_trunk(session, account_id, trunk_id)
    if not isinstance(name, Unset):
        trunk.name = _name(name)
    if not isinstance(host, Unset):
        trunk.host = normalise_host(host)
    if not isinstance(port, Unset):
        trunk.port = _port(port)
    if not isinstance(transport, Unset):
        trunk.transport = _transport(transport)
    if not isinstance(username, Unset):
        trunk.username = _secret(username, "username")
    if not isinstance(password, Unset):
        trunk.password_sealed = seal_password(trunk.id, _secret(password, "password"), key)
    if not isinstance(caller_id_format, Unset):
        trunk.caller_id_format = _caller_id_format(caller_id_format)
    if not isinstance(priority, Unset):
        trunk.priority = _priority(priority)
    if not isinstance(enabled, Unset):
        trunk.enabled = bool(enabled)
    if not isinstance(register, Unset):
        trunk.register = bool(register)
        if not trunk.register:
            trunk.registration_state = trunk.registration_error = None
            trunk.registration_expires_at = trunk.registration_attempt_at = None
            trunk.registration_next_at = None
    if not isinstance(register_expires, Unset):
        trunk.register_expires = _register_expires(register_expires)
    if not isinstance(registrar_host, Unset):
        trunk.registrar_host = _optional_host(registrar_host)
    if not isinstance(registrar_port, Unset):
        trunk.registrar_port = _optional_port(registrar_port)
    if not isinstance(auth_username, Unset):
        trunk.auth_username = _secret(auth_username, "auth_username")
    _check_credentials(trunk)
    session.flush()
    return trunk


def delete_trunk(session: Session, account_id: str | None, trunk_id: str) -> None:
    """Remove a trunk in scope. CDRs keep its id for traceback (TERMS V11, V15)."""
    session.delete(get_trunk(session, account_id, trunk_id))
    session.flush()


def outbound_trunks(session: Session, account_id: str) -> list[Trunk]:
    """The enabled trunks an account's outbound call may take, in the order to try them:
    its own and the operator-wide ones, by priority (lower first), then age."""
    return list(
        session.scalars(
            select(Trunk)
            .where(
                Trunk.enabled.is_(True),
                or_(Trunk.account_id == account_id, Trunk.account_id.is_(None)),
            )
            .order_by(Trunk.priority, Trunk.created_at, Trunk.id)
        )
    )


def trunk_for_source(session: Session, host: str, port: int | None = None) -> Trunk | None:
    """The enabled trunk a request from ``host`` (an IP address) came through, or None.

    Names the upstream carrier of an inbound call (TERMS V11). Trunks are matched on their
    configured host as written; a trunk configured by host name matches only that name
    (no DNS here: services do no network I/O). With ``port``, only a trunk on that exact
    host and port matches — the strict match that tells a carrier from a phone sharing
    its address (loopback, one NAT). Without it, any port on the host matches. When
    several trunks qualify, the one tried first outbound wins.
    """
    try:
        key = normalise_host(host)
    except DialtoneError:
        return None
    query = select(Trunk).where(Trunk.enabled.is_(True), Trunk.host == key)
    if port is not None:
        query = query.where(Trunk.port == port)
    return session.scalar(query.order_by(Trunk.priority, Trunk.created_at, Trunk.id).limit(1))


def trunk_for_contact(session: Session, user: str | None) -> Trunk | None:
    """The enabled, registering trunk whose registered Contact has ``user`` as its user
    part: an INVITE its provider sends to the contact we registered (issue 13), whatever
    address it comes from."""
    if not user or not user.startswith(CONTACT_PREFIX):
        return None
    return session.scalar(
        select(Trunk).where(
            Trunk.contact_user == user, Trunk.enabled.is_(True), Trunk.register.is_(True)
        )
    )


@dataclass(frozen=True, slots=True)
class RegistrationSetup:
    """What the SIP runtime needs to register one trunk (the password still sealed)."""

    trunk_id: str
    domain: str
    port: int
    transport: str
    registrar_host: str
    registrar_port: int
    aor_user: str
    auth_username: str
    password_sealed: str
    contact_user: str
    expires: int


def registering_trunks(session: Session) -> list[RegistrationSetup]:
    """Every enabled trunk marked to register, as the runtime registers it."""
    rows = session.scalars(
        select(Trunk)
        .where(Trunk.enabled.is_(True), Trunk.register.is_(True))
        .order_by(Trunk.created_at, Trunk.id)
    )
    return [
        RegistrationSetup(
            trunk_id=t.id,
            domain=t.host,
            port=t.port,
            transport=t.transport,
            registrar_host=t.registrar_host or t.host,
            registrar_port=t.registrar_port or t.port,
            aor_user=t.username or "",
            auth_username=t.auth_username or t.username or "",
            password_sealed=t.password_sealed or "",
            contact_user=t.contact_user or "",
            expires=t.register_expires,
        )
        for t in rows
        if t.username and t.password_sealed and t.contact_user
    ]


def record_registration(
    session: Session,
    trunk_id: str,
    *,
    state: str | None,
    expires_at: datetime | None,
    error: str | None,
    attempt_at: datetime | None,
    next_at: datetime | None,
) -> None:
    """Store a trunk's registration as the runtime sees it (a trunk removed meanwhile is
    skipped), for ``GET /v1/trunks/{id}`` and ``dialtone trunks list``."""
    trunk = session.get(Trunk, trunk_id)
    if trunk is None:
        return
    trunk.registration_state = state
    trunk.registration_expires_at = expires_at
    trunk.registration_error = error[:300] if error else None
    trunk.registration_attempt_at = attempt_at
    trunk.registration_next_at = next_at
    session.flush()


def format_caller_id(trunk: Trunk, e164: str) -> str:
    """Our number as the trunk's carrier wants it in From / P-Asserted-Identity.

    ``e164`` → ``+33123456789``; ``e164-no-plus`` → ``33123456789``; ``national`` → the
    national dialling form without separators (``0123456789``; ``4155552671`` in the US).
    """
    return format_number(e164, trunk.caller_id_format)


def format_number(e164: str, style: str) -> str:
    """``e164`` in a trunk's number style (``e164``, ``e164-no-plus`` or ``national``)."""
    if style == "e164-no-plus":
        return e164.removeprefix("+")
    if style == "national":
        try:
            parsed = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return e164
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "".join(ch for ch in text if ch.isdigit())
    return e164
