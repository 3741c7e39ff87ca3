"""The operator's stock of numbers, from which customers choose (TERMS N1).

A customer gets numbers at sign-up, chosen from the inventory or assigned by the
operator; each choice says when the number may lie outside the customer's local calling
area (:func:`dialtone.policy.numbering.use_notices`). A number leased from the stock
leaves it; numbers held by an account or in quarantine (N7) are never offered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict
from dialtone.policy.numbering import region_code
from dialtone.services.numbering import numbers
from dialtone.store.models import InventoryNumber, PhoneNumber, QuarantinedNumber

MAX_LISTED = 100


def stock(session: Session, wanted: Iterable[str], *, now: datetime) -> list[str]:
    """Add numbers to the inventory (E.164; ones already in stock or held are skipped);
    returns those added."""
    added = []
    for raw in wanted:
        e164 = numbers.to_e164(raw)
        if session.get(InventoryNumber, e164) is not None:
            continue
        if numbers.find_holder(session, e164) is not None:
            continue
        session.add(InventoryNumber(number=e164, added_at=now))
        added.append(e164)
    session.flush()
    return added


def available(
    session: Session,
    *,
    now: datetime,
    country: str | None = None,
    starting: str | None = None,
    limit: int = 20,
    matching: Callable[[str], bool] | None = None,
) -> list[str]:
    """Numbers a customer may choose: in stock, held by nobody, out of quarantine; of
    ``country`` (ISO 3166), beginning with ``starting`` (an E.164 prefix) and for which
    ``matching`` holds (a kind, a pattern: the Twilio-compatible API's filters) when
    given."""
    held = select(PhoneNumber.number)
    resting = select(QuarantinedNumber.number).where(QuarantinedNumber.available_at > now)
    query = (
        select(InventoryNumber.number)
        .where(InventoryNumber.number.not_in(held), InventoryNumber.number.not_in(resting))
        .order_by(InventoryNumber.number)
    )
    if starting:
        query = query.where(InventoryNumber.number.startswith(starting))
    found = []
    for number in session.scalars(query):
        if (country is None or region_code(number) == country.upper()) and (
            matching is None or matching(number)
        ):
            found.append(number)
            if len(found) >= min(limit, MAX_LISTED):
                break
    return found


def take(session: Session, number: str) -> None:
    """A number leased to an account leaves the stock (nothing when it was not in it)."""
    row = session.get(InventoryNumber, number)
    if row is not None:
        session.delete(row)
        session.flush()


def assign(
    session: Session, account_id: str, *, now: datetime, country: str, activated: bool = True
) -> PhoneNumber:
    """The operator assigns the account the first available number of ``country``."""
    first = available(session, now=now, country=country, limit=1)
    if not first:
        raise Conflict("inventory.empty", f"No number of {country.upper()} is in stock.")
    number = first[0]
    take(session, number)
    return numbers.add_number(session, account_id, number, now=now, activated=activated)
