"""user ids above the pseudo users

Real users never share an id with a pseudo user (PROTOCOL.md §3.3, revised 2026-12-01): 0 is the unassigned
manager, 1 the unassigned executive (NOONE) and 2 ANY. Until now the first account's owner got id 1, so a task
written by the owner and assigned to nobody showed both as "1".

This revision gives every user with an id in that range a new id above all existing ones (and at least 1001),
and rewrites every reference to it in the same transaction:
* columns: every foreign key to users.id (found by reflection, so nothing is missed) plus the two columns that
  hold user ids without a foreign key, accounts.owner_id and events.user_id;
* JSON: the `mentions` lists of tasks and comments, the values of `user` custom fields, and the user
  references ({id, email, name}) inside event payloads (`new` / `old`), where pseudo users (email NOONE / ANY)
  keep their ids.
On PostgreSQL the users sequence then continues above both 1000 and the highest id, so new users (new accounts'
owners included) get ids from 1001 up; on SQLite models.new_user_id() keeps new ids there.

A moved user's OAuth access tokens (their `sub` is the old id) stop working and are renewed with the refresh
token, whose row is updated; a signed-in OAuth consent page asks to sign in again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

RESERVED_MAX = 2  # ids 0..2 are the pseudo users
FIRST_USER_ID = 1001
PSEUDO_EMAILS = frozenset({"NOONE", "ANY"})
CHUNK = 1000
# Columns holding user ids without a foreign key (the ones with one are found by reflection).
PLAIN_USER_COLUMNS = (("accounts", "owner_id"), ("events", "user_id"))


def upgrade() -> None:
    conn = op.get_bind()
    old_ids = list(conn.scalars(sa.text("SELECT id FROM users WHERE id <= :top ORDER BY id"), {"top": RESERVED_MAX}))
    if old_ids:
        top = conn.scalar(sa.text("SELECT MAX(id) FROM users")) or 0
        start = max(top, FIRST_USER_ID - 1) + 1
        moves = {old: start + i for i, old in enumerate(old_ids)}
        accounts = set(conn.scalars(sa.text("SELECT DISTINCT account_id FROM users WHERE id <= :top"),
                                    {"top": RESERVED_MAX}))
        columns = _user_columns(conn)
        for old, new in moves.items():
            _move_user(conn, old, new, columns)
        _remap_mentions(conn, "tasks", accounts, moves)
        _remap_mentions(conn, "comments", accounts, moves)
        _remap_custom_fields(conn, accounts, moves)
        _remap_event_payloads(conn, accounts, moves)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                             "GREATEST((SELECT COALESCE(MAX(id), 0) FROM users), :floor))"),
                     {"floor": FIRST_USER_ID - 1})


def downgrade() -> None:
    """Nothing to undo: ids above the reserved range are as valid in revision 0001."""


def _user_columns(conn: sa.Connection) -> list[tuple[str, str]]:
    """(table, column) of every column that holds a user id."""
    inspector = sa.inspect(conn)
    found = list(PLAIN_USER_COLUMNS)
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] == "users" and fk["referred_columns"] == ["id"]:
                found += [(table, column) for column in fk["constrained_columns"]]
    return sorted(set(found))


def _move_user(conn: sa.Connection, old: int, new: int, columns: list[tuple[str, str]]) -> None:
    """Copy the row to its new id (under a placeholder e-mail, as (account, email) is unique), point every
    reference at the copy, then drop the old row (nothing refers to it any more, so nothing cascades)."""
    quote = conn.dialect.identifier_preparer.quote
    names = [c["name"] for c in sa.inspect(conn).get_columns("users") if c["name"] not in ("id", "email")]
    listed = ", ".join(quote(n) for n in names)
    email = conn.scalar(sa.text("SELECT email FROM users WHERE id = :old"), {"old": old})
    conn.execute(sa.text(f"INSERT INTO users (id, email, {listed}) SELECT :new, :placeholder, {listed} "
                         f"FROM users WHERE id = :old"),
                 {"new": new, "old": old, "placeholder": f"moving-user-{old}@localsection.invalid"})
    for table, column in columns:
        conn.execute(sa.text(f"UPDATE {quote(table)} SET {quote(column)} = :new WHERE {quote(column)} = :old"),
                     {"new": new, "old": old})
    conn.execute(sa.text("DELETE FROM users WHERE id = :old"), {"old": old})
    conn.execute(sa.text("UPDATE users SET email = :email WHERE id = :new"), {"email": email, "new": new})


def _moved_id(value: Any, moves: dict[int, int]) -> Any:
    """A user id (int or digit string, as stored) with its new value; anything else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return moves.get(value, value)
    if isinstance(value, str) and value.isdigit() and int(value) in moves:
        return str(moves[int(value)])
    return value


def _remap_refs(value: Any, moves: dict[int, int]) -> Any:
    """Event payload JSON with the ids of real-user references ({id, email, ...}) moved."""
    if isinstance(value, list):
        return [_remap_refs(v, moves) for v in value]
    if isinstance(value, dict):
        out = {k: _remap_refs(v, moves) for k, v in value.items()}
        if "id" in out and "email" in out and out["email"] not in PSEUDO_EMAILS:
            out["id"] = _moved_id(out["id"], moves)
        return out
    return value


def _chunks(conn: sa.Connection, table: sa.TableClause, accounts: set[int]) -> Iterator[Sequence[sa.Row[Any]]]:
    """The rows of `table` in those accounts, CHUNK at a time in id order (memory stays flat)."""
    last = 0
    while True:
        rows = conn.execute(sa.select(table).where(table.c.account_id.in_(accounts), table.c.id > last)
                            .order_by(table.c.id).limit(CHUNK)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _remap_mentions(conn: sa.Connection, name: str, accounts: set[int], moves: dict[int, int]) -> None:
    table = sa.table(name, sa.column("id", sa.BigInteger), sa.column("account_id", sa.BigInteger),
                     sa.column("mentions", sa.JSON))
    for rows in _chunks(conn, table, accounts):
        for row in rows:
            mentions = [_moved_id(v, moves) for v in row.mentions or []]
            if mentions != (row.mentions or []):
                conn.execute(table.update().where(table.c.id == row.id).values(mentions=mentions))


def _remap_custom_fields(conn: sa.Connection, accounts: set[int], moves: dict[int, int]) -> None:
    """Values of custom fields of type `user` (a stored user id)."""
    fields = sa.table("custom_fields", sa.column("id", sa.BigInteger), sa.column("account_id", sa.BigInteger),
                      sa.column("type", sa.String))
    values = sa.table("custom_field_values", sa.column("field_id", sa.BigInteger),
                      sa.column("object_id", sa.BigInteger), sa.column("value", sa.JSON))
    user_fields = sa.select(fields.c.id).where(fields.c.type == "user", fields.c.account_id.in_(accounts))
    for row in conn.execute(sa.select(values).where(values.c.field_id.in_(user_fields))).all():
        moved = _moved_id(row.value, moves)
        if moved != row.value:
            conn.execute(values.update().where(values.c.field_id == row.field_id,
                                               values.c.object_id == row.object_id).values(value=moved))


def _remap_event_payloads(conn: sa.Connection, accounts: set[int], moves: dict[int, int]) -> None:
    table = sa.table("events", sa.column("id", sa.BigInteger), sa.column("account_id", sa.BigInteger),
                     sa.column("new", sa.JSON), sa.column("old", sa.JSON))
    for rows in _chunks(conn, table, accounts):
        for row in rows:
            changed = {key: moved for key in ("new", "old")
                       if (moved := _remap_refs(getattr(row, key), moves)) != getattr(row, key)}
            if changed:
                conn.execute(table.update().where(table.c.id == row.id).values(**changed))
