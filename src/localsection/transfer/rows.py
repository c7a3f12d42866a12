"""Inserting many rows of one table fast: COPY on PostgreSQL, one prepared executemany on SQLite.

SQLAlchemy's executemany spent more time building per-row parameters than SQLite spent inserting (profiled on the
import of 1,000,000 costs), so rows with every column go straight to the driver, with the bind conversions the
column types define (dates, decimals, JSON through the engine's serializer). Rows missing a column (an archive
of an older schema) take SQLAlchemy's path, which applies the column defaults.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

_plans: weakref.WeakKeyDictionary[Dialect, dict[str, _SqlitePlan]] = weakref.WeakKeyDictionary()


class _SqlitePlan:
    def __init__(self, table: Table, dialect: Dialect) -> None:
        stmt = insert(table).values({c.name: bindparam(c.name) for c in table.columns})
        compiled = stmt.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        self.sql = compiled.string
        self.order = list(compiled.positiontup)
        procs: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)  # type: ignore[arg-type]
        self.procs = [procs.get(name) for name in self.order]

    def params(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        pairs = list(zip(self.order, self.procs, strict=True))
        return [tuple([row[n] if f is None else (None if (v := row[n]) is None else f(v)) for n, f in pairs])
                for row in rows]


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows (dicts keyed by column name) in the connection's transaction."""
    if not rows:
        return
    names = set(table.c.keys())
    if any(row.keys() != names for row in rows):
        conn.execute(insert(table), list(rows))
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
    elif conn.dialect.name == "sqlite":
        plans = _plans.setdefault(conn.dialect, {})
        plan = plans.get(table.name)
        if plan is None:
            plan = plans[table.name] = _SqlitePlan(table, conn.dialect)
        conn.connection.dbapi_connection.executemany(plan.sql, plan.params(rows))  # type: ignore[union-attr]
    else:
        conn.execute(insert(table), list(rows))


def _copy(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    names = [c.name for c in table.columns]
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    cols = ", ".join(f'"{n}"' for n in names)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([orjson.dumps(row[n]).decode() if n in json_cols and row[n] is not None else row[n]
                            for n in names])
