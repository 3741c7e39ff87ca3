"""Rate decks in the store: the parsed-tariff cache never serves one database's deck
for another's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from dialtone.services.billing import tariffs
from dialtone.store.db import transaction
from tests.database import migrated_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_two_databases_with_as_many_versions_keep_their_own_decks(tmp_path: Path) -> None:
    databases = {}
    for name, price in (("a", "0.03"), ("b", "0.07")):
        _, sessions = migrated_database(tmp_path / f"{name}.db")
        with transaction(sessions) as session:
            csv = f"prefix,destination,rate_per_minute\n33,France,{price}\n"
            tariffs.import_csv(session, "calls", "EUR", csv, effective_from=T0, now=T0)
        databases[name] = sessions
    rates = {}
    for name, sessions in databases.items():  # read after both imports: the cache is warm
        with transaction(sessions) as session:
            version = tariffs.tariff(session, "calls", "EUR").version_at(T0)
            assert version is not None
            rate = version.deck.rate_for("+33123456789")
            assert rate is not None
            rates[name] = rate.per_minute
    assert rates == {"a": Decimal("0.03"), "b": Decimal("0.07")}
