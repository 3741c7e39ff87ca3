"""A migrated SQLite database for a test, without running Alembic for every test.

Running the migrations takes about a second of CPU (most of it Alembic's batch table
rebuilds), paid once by every test that opens a fresh database: minutes of CI in all.
A test process migrates one template database, once, and each test gets a copy of
that file: the same schema and the same rows a fresh ``open_database`` leaves, through
the same engine (``make_engine``: WAL, foreign keys, busy timeout). The migrations
themselves are tested where they are the subject (tests/store/test_migration*.py), and
``dialtone migrate`` and ``serve`` still migrate their own databases.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dialtone.store.db import make_engine, open_database, session_factory

_template: list[Path] = []


def _template_file() -> Path:
    """The migrated template of this process, made on first use."""
    if not _template:
        directory = Path(tempfile.mkdtemp(prefix="dialtone-template-"))
        atexit.register(shutil.rmtree, directory, True)
        path = directory / "template.db"
        engine, _ = open_database(f"sqlite:///{path}")
        # Closing the last connection checkpoints the write-ahead log into the file and
        # removes it: the file alone is then the whole database, safe to copy.
        engine.dispose()
        leftovers = [p.name for p in directory.iterdir() if p != path]
        assert not leftovers, f"the template's log was not checkpointed: {leftovers}"
        _template.append(path)
    return _template[0]


def migrated_file(path: Path) -> str:
    """Put a freshly migrated database at ``path`` (which must not exist yet); its URL."""
    assert not path.exists(), f"{path} exists: a migrated copy would replace it"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template_file(), path)
    return f"sqlite:///{path}"


def migrated_database(path: Path) -> tuple[Engine, sessionmaker[Session]]:
    """What ``open_database(f"sqlite:///{path}")`` returns for a new file at ``path``."""
    engine = make_engine(migrated_file(path))
    return engine, session_factory(engine)


def migrated_data_dir(data_dir: Path) -> None:
    """Put a freshly migrated ``dialtone.db`` in ``data_dir``, where the settings' default
    ``database_url`` points: ``dialtone migrate`` or ``serve`` then finds it current (and
    still does the rest of its start: directories, the key)."""
    migrated_file(data_dir / "dialtone.db")
