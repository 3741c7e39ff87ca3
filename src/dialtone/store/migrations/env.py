"""Alembic environment: runs on the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from dialtone.store.models import Base

config = context.config
target_metadata = Base.metadata

# Workers on several machines start at once and each migrates (issue 19): on PostgreSQL
# the first takes this lock for its migration's transaction and the others wait for it,
# then find the schema current. (One machine's workers also share a start-up file lock;
# SQLite has one writer anyway.) Any fixed 64-bit number: "dialtone" in ASCII.
MIGRATION_LOCK = 0x6469616C746F6E65


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            context.run_migrations()
        connection.commit()


run_migrations()
