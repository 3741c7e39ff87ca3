"""SMPP carriers (the SMSCs dialtone binds to as an ESME), configured like SIP trunks,
and the choice of carrier for a recipient.

The carrier's password must be sent in the bind, so it is sealed with the platform's key
(bound to the carrier's id), never hashed and never plain at rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services.ids import new_id
from dialtone.services.telephony.trunks import normalise_host
from dialtone.store import sealed
from dialtone.store.messaging_models import SmppCarrier

BIND_TYPES = ("transmitter", "transceiver")
# SMPP 3.4's C-octet string limits (with their NUL): system_id 16, password 9, system_type 13.
MAX_SYSTEM_ID = 15
MAX_PASSWORD = 8
MAX_SYSTEM_TYPE = 12


@dataclass(frozen=True, slots=True)
class CarrierIn:
    """A carrier as the operator configures it."""

    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind_type: str = "transceiver"
    window: int = 10
    throughput: int = 100
    prefixes: tuple[str, ...] = ()
    priority: int = 100
    enabled: bool = True


def _context(carrier_id: str) -> str:
    # Bound to its carrier: copied onto another row, the sealed value does not open.
    return f"smpp-carrier:{carrier_id}:password"


def _invalid(message: str) -> DialtoneError:
    return DialtoneError("request.invalid", message)


def _checked(carrier: CarrierIn) -> CarrierIn:
    if not carrier.name.strip():
        raise _invalid("name: a name for the carrier.")
    if not 1 <= carrier.port <= 65535:
        raise _invalid("port: 1 to 65535.")
    if not 1 <= len(carrier.system_id) <= MAX_SYSTEM_ID:
        raise _invalid(f"system_id: 1 to {MAX_SYSTEM_ID} characters (SMPP 3.4).")
    if len(carrier.password) > MAX_PASSWORD:
        raise _invalid(f"password: at most {MAX_PASSWORD} characters (SMPP 3.4).")
    if len(carrier.system_type) > MAX_SYSTEM_TYPE:
        raise _invalid(f"system_type: at most {MAX_SYSTEM_TYPE} characters (SMPP 3.4).")
    if carrier.bind_type not in BIND_TYPES:
        raise _invalid(f"bind_type: one of {', '.join(BIND_TYPES)}.")
    if not 1 <= carrier.window <= 1000:
        raise _invalid("window: 1 to 1000 outstanding requests.")
    if not 1 <= carrier.throughput <= 100_000:
        raise _invalid("throughput: 1 to 100000 messages per second.")
    for prefix in carrier.prefixes:
        if not prefix.lstrip("+").isdigit():
            raise _invalid(f"prefixes: digits, optionally after '+' ({prefix!r}).")
    return carrier


def create_carrier(
    session: Session, carrier: CarrierIn, *, key: bytes, now: datetime
) -> SmppCarrier:
    """Add a carrier; its password is sealed with ``key``."""
    wanted = _checked(carrier)
    carrier_id = new_id("SC")
    row = SmppCarrier(
        id=carrier_id,
        name=wanted.name.strip(),
        host=normalise_host(wanted.host),
        port=wanted.port,
        system_id=wanted.system_id,
        password_sealed=sealed.seal_text(wanted.password, key, context=_context(carrier_id)),
        system_type=wanted.system_type,
        bind_type=wanted.bind_type,
        window=wanted.window,
        throughput=wanted.throughput,
        prefixes=" ".join(p if p.startswith("+") else "+" + p for p in wanted.prefixes),
        priority=wanted.priority,
        enabled=wanted.enabled,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def password_of(carrier: SmppCarrier, key: bytes) -> str:
    """The carrier's password, unsealed (raises ``store.sealed.SealError`` when it does
    not open with ``key``). Only for the bind."""
    return sealed.open_text(carrier.password_sealed, key, context=_context(carrier.id))


def list_carriers(session: Session) -> list[SmppCarrier]:
    """Every carrier, in the order they are tried (priority, then age)."""
    return list(
        session.scalars(
            select(SmppCarrier).order_by(
                SmppCarrier.priority, SmppCarrier.created_at, SmppCarrier.id
            )
        )
    )


def get_carrier(session: Session, carrier_id: str) -> SmppCarrier:
    """One carrier (``carrier.not_found`` otherwise)."""
    row = session.get(SmppCarrier, carrier_id)
    if row is None:
        raise NotFound("carrier.not_found", f"No SMPP carrier {carrier_id}.")
    return row


def delete_carrier(session: Session, carrier_id: str) -> None:
    """Remove a carrier (messages already sent through it keep its id)."""
    session.delete(get_carrier(session, carrier_id))


def prefixes_of(carrier: SmppCarrier) -> tuple[str, ...]:
    """The recipient prefixes the carrier takes (all recipients when empty)."""
    return tuple(carrier.prefixes.split())


def carriers_for(carriers: list[SmppCarrier], recipient: str) -> list[SmppCarrier]:
    """The enabled carriers that take ``recipient``, in the order to try them: the
    longest matching prefix first, then priority (a carrier with no prefixes takes
    every recipient, after those that name its prefix)."""
    ranked: list[tuple[int, int, int, SmppCarrier]] = []
    for index, carrier in enumerate(carriers):
        if not carrier.enabled:
            continue
        prefixes = prefixes_of(carrier)
        match = max((len(p) for p in prefixes if recipient.startswith(p)), default=-1)
        if prefixes and match < 0:
            continue
        ranked.append((-max(match, 0), carrier.priority, index, carrier))
    ranked.sort(key=lambda r: r[:3])
    return [r[3] for r in ranked]


BIND_STATES = ("connecting", "bound", "failed", "stopped")


def record_bind(session: Session, carrier_id: str, *, state: str, error: str | None) -> None:
    """The runtime's view of a carrier's bind (one of ``BIND_STATES``, and why it is not
    bound), shown to the operator. A carrier removed meanwhile is left alone."""
    if state not in BIND_STATES:
        raise ValueError(f"bind state {state!r} is not one of {BIND_STATES}")
    row = session.get(SmppCarrier, carrier_id)
    if row is None:
        return
    row.bind_state = state
    row.bind_error = None if error is None else error[:300]
