"""Which tables an export carries and how one account's rows are found in each, derived from models.py.

Nothing here lists tables by hand: a table is part of an account when it has an `account_id` column or a foreign
key to a table that is (followed as far as it goes). A new table in models.py is therefore exported, imported,
wiped and counted without a change here; a table that cannot be tied to an account must be named in
SERVER_ONLY with the reason, or tests/transfer/test_tables.py fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, Table, select

from localsection.models import Base

# Tables that belong to the server rather than to an account; a whole-server backup carries them.
SERVER_ONLY = {
    # Ids (jti) of revoked access tokens: a token names no account row here, and the list only matters to
    # the server that signed the tokens (a token of the source server does not verify on another one).
    "oauth_revoked": "revoked access-token ids, signed by one server's key",
}


@dataclass(frozen=True)
class TableSpec:
    table: Table
    order_by: tuple[str, ...]  # the order rows are written in (parents before children of the same table)

    @property
    def name(self) -> str:
        return str(self.table.name)


def _owner_filter(table: Table, account_id: int, seen: frozenset[str] = frozenset()) -> ColumnElement[bool] | None:
    """WHERE the table's rows belong to the account; None when the table has no path to an account."""
    if table.name == "accounts":
        return table.c.id == account_id
    if "account_id" in table.c:
        return table.c.account_id == account_id
    # A link row belongs to the account of its parent (both parents of a link row are in the same account).
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        parent = fk.column.table
        if parent.name in seen or parent is table:
            continue
        inner = _owner_filter(parent, account_id, seen | {table.name})
        if inner is not None:
            return fk.parent.in_(select(fk.column).where(inner))
    return None


def _order(table: Table) -> tuple[str, ...]:
    # A subtask's parent must exist before it: tasks go by depth, then id.
    if "depth" in table.c and "parent_id" in table.c:
        return ("depth", "id")
    return tuple(c.name for c in table.primary_key.columns)


def exported_tables() -> list[TableSpec]:
    """Every table an account export carries, parents first (the accounts row first of all)."""
    out = []
    for table in Base.metadata.sorted_tables:
        if _owner_filter(table, 0) is not None:
            out.append(TableSpec(table, _order(table)))
    return out


def server_tables() -> list[TableSpec]:
    """Every table a whole-server dump carries, parents first."""
    return [TableSpec(t, _order(t)) for t in Base.metadata.sorted_tables]


def uncovered_tables() -> list[str]:
    """Tables that neither an account export nor SERVER_ONLY accounts for (must be empty)."""
    covered = {s.name for s in exported_tables()} | set(SERVER_ONLY)
    return sorted(t.name for t in Base.metadata.sorted_tables if t.name not in covered)


def rows_of(spec: TableSpec, account_id: int | None) -> Select[tuple[object, ...]]:
    """The statement reading a table's rows of one account (every row when account_id is None), in order."""
    stmt = select(*spec.table.columns)
    if account_id is not None:
        where = _owner_filter(spec.table, account_id)
        assert where is not None
        stmt = stmt.where(where)
    return stmt.order_by(*(spec.table.c[c] for c in spec.order_by))


def owned(spec: TableSpec, account_id: int) -> ColumnElement[bool]:
    where = _owner_filter(spec.table, account_id)
    assert where is not None
    return where
