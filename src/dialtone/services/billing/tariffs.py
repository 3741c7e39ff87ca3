"""Rate decks in the store: CSV imports kept as versions by effective date (TERMS B5).

A version's CSV is stored as imported (what an operator uploaded is what is kept, and
what a rated line's ``tariff_version`` points back to). Parsed tariffs are cached per
process and dropped when a version is added.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.rating.plans import CURRENCIES
from dialtone.rating.tariffs import DeckError, DeckVersion, Tariff, parse_csv
from dialtone.services.ids import new_id
from dialtone.store.models import TariffVersion

TARIFF_NAMES = ("calls", "sms")
# Keyed by the versions' ids (random, so unique across databases): a count alone would
# serve one database's deck for another's with as many versions (two test databases, or
# a restored backup, in one process).
_cache: dict[tuple[str, str], tuple[tuple[str, ...], Tariff]] = {}


def import_csv(
    session: Session, name: str, currency: str, text: str, *, effective_from: datetime,
    now: datetime,
) -> TariffVersion:  # fmt: skip
    """Add a version of the ``name`` deck (``calls`` or ``sms``) in ``currency``, in
    force from ``effective_from``. Every bad line is reported in one error."""
    if name not in TARIFF_NAMES:
        raise DialtoneError("tariff.unknown", f"tariffs are {', '.join(TARIFF_NAMES)}")
    if currency not in CURRENCIES:
        raise DialtoneError("billing.currency", f"currencies are {', '.join(CURRENCIES)}")
    try:
        deck = parse_csv(text)
    except DeckError as exc:
        count = len(exc.problems)
        raise DialtoneError(
            "tariff.invalid",
            f"the rate deck has {count} error{'' if count == 1 else 's'}; each is listed with "
            "its line and column",
            rule="B5",
            # The first 100 in an API answer; the exception (``__cause__``) keeps them all.
            details={
                "problems": [
                    {"line": p.line, "column": p.column, "name": p.name or None, "why": p.why}
                    for p in exc.problems[:100]
                ],
                "count": count,
            },
        ) from exc
    clash = session.scalar(
        select(TariffVersion).where(
            TariffVersion.name == name,
            TariffVersion.currency == currency,
            TariffVersion.effective_from == effective_from,
        )
    )
    if clash is not None:
        raise DialtoneError(
            "tariff.version_exists", "a version already takes effect at that moment", status=409
        )
    row = TariffVersion(
        id=new_id("TV"),
        name=name,
        currency=currency,
        effective_from=effective_from,
        csv=text,
        prefixes=len(deck),
        created_at=now,
    )
    session.add(row)
    session.flush()
    _cache.pop((name, currency), None)
    return row


def versions(session: Session, name: str | None = None) -> list[TariffVersion]:
    """Every stored version, oldest first."""
    query = select(TariffVersion).order_by(TariffVersion.name, TariffVersion.effective_from)
    if name is not None:
        query = query.where(TariffVersion.name == name)
    return list(session.scalars(query))


def tariff(session: Session, name: str, currency: str) -> Tariff:
    """The ``name`` tariff in ``currency`` with all its versions (empty when none)."""
    where = (TariffVersion.name == name, TariffVersion.currency == currency)
    stamp = tuple(sorted(session.scalars(select(TariffVersion.id).where(*where))))
    cached = _cache.get((name, currency))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = session.scalars(select(TariffVersion).where(*where))
    built = Tariff(DeckVersion(row.effective_from, parse_csv(row.csv)) for row in rows)
    _cache[(name, currency)] = (stamp, built)
    return built
