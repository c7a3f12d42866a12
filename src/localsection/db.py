"""Engine, sessions, SQLite pragmas and the one-transaction-per-action scope."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import BigInteger, ColumnElement, Engine, any_, bindparam, create_engine, event, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from localsection.config import Settings


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(settings: Settings) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout and our own BEGIN."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # Keep a connection per busy worker thread: overflow connections are closed on return, and
            # reopening one (WAL + pragmas) per request cost ~3% of get_task under load (docs/performance.md).
            pool_size=32,
            max_overflow=16,
        )
        synchronous = "FULL" if settings.durability == "full" else "NORMAL"
        _install_sqlite_hooks(engine, synchronous)
        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def _install_sqlite_hooks(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN cannot do IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so two writers never deadlock on a lock upgrade.
        mode = "IMMEDIATE" if conn.get_execution_options().get("ls_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Owns the engine; hands out transaction-scoped sessions."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(ls_write=write)
            with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
                with conn.begin():
                    yield session
                    session.flush()

    def dispose(self) -> None:
        self.engine.dispose()


_INLINE_IDS = 500


def ids_in(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """`column IN ids` that stays one statement with one parameter however many ids there are."""
    values = sorted(set(ids))
    if len(values) <= _INLINE_IDS:
        return column.in_(values)  # type: ignore[no-any-return]
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", values, type_=ARRAY(BigInteger), unique=True))  # type: ignore[no-any-return]
    each = func.json_each(bindparam("ids", orjson.dumps(values).decode(), unique=True)).table_valued("value")
    return column.in_(select(each.c.value))  # type: ignore[no-any-return]
