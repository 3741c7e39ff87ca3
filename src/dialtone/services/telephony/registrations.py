"""Registrations (RFC 3261 §10.3) kept in the store, so a restart keeps every phone reachable.

The registrar itself (``dialtone.sip.registrar``) decides; this module persists its
bindings and restores them at start. The source of each REGISTER is kept because it is
where requests go for a phone behind NAT, and it names the device for traceback (V11).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.ids import new_id
from dialtone.store.models import Registration, User

TRANSPORTS = ("udp", "tcp", "tls")


@dataclass(frozen=True)
class Binding:
    """One contact of a user as the registrar accepted it.

    ``source`` is ``transport:host:port`` of the REGISTER, e.g. ``udp:192.0.2.7:5060``
    (IPv6 in brackets: ``tls:[2001:db8::1]:5061``); see :func:`format_source`.
    """

    contact: str
    source: str
    transport: str
    user_agent: str | None
    call_id: str
    cseq: int
    expires_at: datetime
    # The worker whose TCP/TLS connection the binding lives on (issue 19); None for UDP.
    worker_id: str | None = None
    # RFC 3327: the REGISTER's Path entries, in order (registered through an edge).
    path: tuple[str, ...] = ()


def format_source(transport: str, host: str, port: int) -> str:
    """``transport:host:port``, with an IPv6 host in brackets."""
    host = host.strip("[]")
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass  # a host name: kept as it is
    return f"{transport.lower()}:{host}:{port}"


def parse_source(source: str) -> tuple[str, str, int]:
    """(transport, host, port) of a ``transport:host:port`` text (brackets removed)."""
    transport, _, rest = source.partition(":")
    host, _, port = rest.rpartition(":")
    if not transport or not host or not port.isdigit():
        raise ValueError(f"not a transport:host:port source: {source!r}")
    return transport, host.strip("[]"), int(port)


def _check(binding: Binding) -> None:
    if binding.transport not in TRANSPORTS:
        raise DialtoneError(
            "registration.invalid", f"transport must be one of {', '.join(TRANSPORTS)}."
        )
    if not binding.contact or not binding.source or len(binding.source) > 100:
        raise DialtoneError("registration.invalid", "A binding needs a contact and a source.")


def replace_bindings(
    session: Session, user: User, bindings: Sequence[Binding], *, now: datetime
) -> None:
    """Make the user's stored registrations exactly ``bindings`` (by contact).

    Contacts that stay keep their row and ``created_at``; the others are deleted; new ones
    are inserted. With the same contact twice, the last one wins.
    """
    wanted: dict[str, Binding] = {}
    for binding in bindings:
        _check(binding)
        wanted[binding.contact] = binding
    existing = {
        row.contact: row
        for row in session.scalars(select(Registration).where(Registration.user_id == user.id))
    }
    for contact, old in existing.items():
        if contact not in wanted:
            session.delete(old)
    for contact, binding in wanted.items():
        row = existing.get(contact)
        if row is None:
            row = Registration(
                id=new_id("RG"),
                account_id=user.account_id,
                user_id=user.id,
                contact=contact,
                created_at=now,
            )
            session.add(row)
        row.source = binding.source
        row.transport = binding.transport
        row.user_agent = binding.user_agent[:255] if binding.user_agent else None
        row.call_id = binding.call_id[:255]
        row.cseq = binding.cseq
        row.expires_at = binding.expires_at
        row.worker_id = binding.worker_id
        row.path = "\n".join(binding.path) or None
        row.updated_at = now
    session.flush()


def _binding(row: Registration) -> Binding:
    return Binding(
        contact=row.contact,
        source=row.source,
        transport=row.transport,
        user_agent=row.user_agent,
        call_id=row.call_id,
        cseq=row.cseq,
        expires_at=row.expires_at,
        worker_id=row.worker_id,
        path=tuple(row.path.split("\n")) if row.path else (),
    )


def active_bindings(session: Session, *, now: datetime) -> list[tuple[str, Binding]]:
    """(user id, binding) for every unexpired registration: the registrar's state at start."""
    rows = session.scalars(
        select(Registration)
        .where(Registration.expires_at > now)
        .order_by(Registration.user_id, Registration.created_at, Registration.id)
    )
    return [(row.user_id, _binding(row)) for row in rows]


def user_bindings(session: Session, user_id: str, *, now: datetime) -> list[Binding]:
    """One user's unexpired bindings, as any worker registered them (issue 19: several
    workers behind an edge share the registrar through the store)."""
    rows = session.scalars(
        select(Registration)
        .where(Registration.user_id == user_id, Registration.expires_at > now)
        .order_by(Registration.created_at, Registration.id)
    )
    return [_binding(row) for row in rows]


def list_registrations(
    session: Session, account_id: str, *, now: datetime, user_id: str | None = None
) -> list[Registration]:
    """The account's unexpired registrations (one user's when ``user_id`` is given)."""
    query = select(Registration).where(
        Registration.account_id == account_id, Registration.expires_at > now
    )
    if user_id is not None:
        query = query.where(Registration.user_id == user_id)
    return list(
        session.scalars(
            query.order_by(Registration.user_id, Registration.created_at, Registration.id)
        )
    )


def purge_expired(session: Session, *, now: datetime) -> int:
    """Delete expired registrations; returns how many went (housekeeping, any time)."""
    result = session.execute(delete(Registration).where(Registration.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
