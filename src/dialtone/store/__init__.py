"""Persistence: SQLAlchemy 2 models, the engine, and Alembic migrations applied on start."""
