"""Read an archive back: one account under a (new) name, or a whole-server dump into an empty database.

Everything happens in ONE write transaction: rows are inserted with the ids they had (ids are visible to API
clients), file bytes are stored and checked against their SHA-256 names, and the manifest's checksums and row
counts are verified at the end; any problem rolls everything back, stored blobs included.

Ids are global across the accounts of one database. An id the archive needs that another account holds already
refuses the import with a message naming the table and the id (we never renumber: integrations keep the ids
they stored); import into a database without that account's ids — a fresh server, or the same server after the
account was deleted. PostgreSQL sequences are moved past the imported ids afterwards.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import psycopg
from sqlalchemy import Connection, Integer, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from localsection import accounts, files
from localsection.db import Database
from localsection.models import Account, Tag, TagGroup, User
from localsection.transfer import tables
from localsection.transfer.format import (
    MAX_CHUNK_BYTES,
    ArchiveError,
    Member,
    MemberInfo,
    Progress,
    check_format,
    parse_json,
    read_members,
    row_decoder,
    verify_checksums,
)
from localsection.transfer.rows import insert_rows


class ImportRefused(Exception):
    """The import would overwrite data or collide with another account; nothing was changed."""


@dataclass
class ImportResult:
    account: str | None
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    milliseconds: float = 0.0


def import_account(db: Database, source: BinaryIO, *, name: str, replace: bool = False,
                   progress: Progress | None = None, trusted: bool = False) -> ImportResult:
    """Import an account archive as account `name`.

    `name` must be free, or an account holding nothing but what `accounts create` makes (owner and their team);
    with `replace` an existing account of that name is deleted first, in the same transaction (snapshots).
    `trusted`: the archive was written by this server into its private data directory (snapshots), so the
    check that every row stays inside the account is skipped.
    """
    name = name.strip().lower()
    if not accounts.valid_account_name(name):
        raise ImportRefused("account name must be a DNS label: a-z, 0-9 and '-', at most 63 characters")
    with db.session(write=True) as s:
        conn = s.connection()
        existing = s.scalars(select(Account).where(Account.name == name)).first()
        if existing is not None:
            if not replace and not _is_empty(s, existing):
                raise ImportRefused(f"account {name} exists and holds data: import into a new account name")
            wipe_account(conn, existing.id)
        result = _load(db, s, conn, source, scope="account", name=name, progress=progress, trusted=trusted)
    return result


def import_server(db: Database, source: BinaryIO, *, force: bool = False,
                  progress: Progress | None = None) -> ImportResult:
    """Load a whole-server dump into this database; refused when it holds accounts, unless `force` (wiped)."""
    with db.session(write=True) as s:
        conn = s.connection()
        if s.scalar(select(func.count()).select_from(Account)):
            if not force:
                raise ImportRefused("the target database holds accounts already: restore into an empty one, "
                                    "or pass --force to replace everything in it")
            for spec in reversed(tables.server_tables()):
                conn.execute(delete(spec.table))
        return _load(db, s, conn, source, scope="server", name=None, progress=progress, trusted=True)


def wipe_account(conn: Connection, account_id: int) -> None:
    """Delete every row of the account, the account row included (children first)."""
    for spec in reversed(tables.exported_tables()):
        conn.execute(delete(spec.table).where(tables.owned(spec, account_id)))


def _is_empty(s: Session, account: Account) -> bool:
    """Nothing but the owner, the owner's team and the default status group: what creating the account made."""
    owner = s.get(User, account.owner_id) if account.owner_id else None
    defaults = s.scalars(select(TagGroup.id).where(TagGroup.account_id == account.id, TagGroup.type == "status",
                                                   TagGroup.title == accounts.DEFAULT_STATUS_GROUP)).all()
    default_tags = s.scalar(select(func.count()).select_from(Tag).where(Tag.group_id.in_(defaults))) or 0
    keep = {"accounts": 1, "users": 1 if owner else 0, "teams": 1 if owner and owner.team_id else 0,
            "tag_groups": len(defaults), "tags": default_tags}
    conn = s.connection()
    for spec in tables.exported_tables():
        n = conn.execute(select(func.count()).select_from(spec.table)
                         .where(tables.owned(spec, account.id))).scalar() or 0
        if n > keep.get(spec.name, 0):
            return False
    return True


def _load(db: Database, s: Session, conn: Connection, source: BinaryIO, *, scope: str, name: str | None,
          progress: Progress | None, trusted: bool) -> ImportResult:
    started = time.perf_counter()
    members = read_members(source)
    first = _first(members)
    header = parse_json(first)
    check_format(header)
    if header.get("scope") != scope:
        what, wanted = (("a whole-server dump", "an account export") if scope == "account"
                        else ("an account export", "a whole-server dump"))
        raise ArchiveError(f"this archive is {what}, not {wanted}" + (": use localsection import" if scope == "server"
                                                                     else ""))
    specs = {spec.name: spec for spec in (tables.exported_tables() if scope == "account" else tables.server_tables())}
    expected = header.get("expected_rows")
    total = sum(v for v in expected.values() if isinstance(v, int)) if isinstance(expected, dict) else 0
    result = ImportResult(account=name)
    checksums: dict[str, tuple[MemberInfo, int | None]] = {"format.json": (first.checksum(), None)}
    done = 0
    order = list(specs)
    position = 0
    files.install_hooks(conn.engine)
    manifest: dict[str, Any] | None = None
    account_id: int | None = None
    for member in members:
        if manifest is not None:
            raise ArchiveError(f"member {member.name} after manifest.json")
        if member.kind == "table":
            spec = specs.get(member.table)
            if spec is None:
                raise ArchiveError(f"table {member.table} is not part of this localsection's schema")
            if order.index(member.table) < position:
                raise ArchiveError(f"table {member.table} out of order")
            position = order.index(member.table)
            rows = _decode_chunk(member, spec)
            if spec.name == "accounts" and name is not None:
                if len(rows) != 1 or result.counts.get("accounts"):
                    raise ArchiveError("an account export holds exactly one account row")
                rows = [_account_row(conn, rows[0], name)]
                account_id = int(rows[0]["id"])
            _insert(conn, spec, rows)
            result.counts[spec.name] = result.counts.get(spec.name, 0) + len(rows)
            done += len(rows)
            if progress is not None:
                progress(f"rows of {spec.name}", done, total)
            checksums[member.name] = (member.checksum(), len(rows))
        elif member.kind == "file":
            _store_file(db, conn, member)
            result.files += 1
            checksums[member.name] = (member.checksum(), None)
            if progress is not None:
                progress("files", result.files, 0)
        elif member.kind == "manifest":
            manifest = parse_json(member)
        else:
            raise ArchiveError(f"a second {member.name}")
    if manifest is None:
        raise ArchiveError("the archive is truncated (no manifest.json at its end)")
    _verify(manifest, checksums, result)
    if name is not None:
        if account_id is None:
            raise ArchiveError("the archive holds no account row")
        if not trusted:
            _check_isolation(conn, account_id, result.counts)
    _fix_sequences(conn, [specs[t] for t in result.counts])
    s.expire_all()
    result.milliseconds = round((time.perf_counter() - started) * 1000, 1)
    return result


def _first(members: Iterator[Member]) -> Member:
    first = next(members, None)
    if first is None or first.kind != "format":
        raise ArchiveError("not a localsection archive (format.json is not its first member)")
    return first


def _decode_chunk(member: Member, spec: tables.TableSpec) -> list[dict[str, Any]]:
    decode = row_decoder(spec.table)
    data = member.read_all(MAX_CHUNK_BYTES)
    return [decode(line) for line in data.splitlines() if line.strip()]


def _account_row(conn: Connection, row: dict[str, Any], name: str | None) -> dict[str, Any]:
    if name is None:
        return row
    taken = conn.execute(select(Account.id).where(Account.is_default.is_(True))).first()
    return {**row, "name": name, "is_default": bool(row.get("is_default")) and taken is None}


def _colliding_id(conn: Connection, spec: tables.TableSpec, rows: list[dict[str, Any]]) -> int | None:
    """An id of these rows that a row already in the database has (None when there is none)."""
    if "id" not in spec.table.c or not isinstance(spec.table.c.id.type, Integer):
        return None
    ids = [row["id"] for row in rows if row.get("id") is not None]
    for start in range(0, len(ids), 500):
        taken = conn.execute(select(spec.table.c.id).where(spec.table.c.id.in_(ids[start:start + 500]))
                             .limit(1)).scalar()
        if taken is not None:
            return int(taken)
    return None


def _insert(conn: Connection, spec: tables.TableSpec, rows: list[dict[str, Any]]) -> None:
    """Insert a chunk; a taken id or another conflict ends the import with a message saying which."""
    if not rows:
        return
    try:
        # PostgreSQL aborts the transaction on an error: a savepoint lets us ask which id collided.
        if conn.dialect.name == "postgresql":
            with conn.begin_nested():
                insert_rows(conn, spec.table, rows)
        else:
            insert_rows(conn, spec.table, rows)
    except (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError) as exc:
        taken = _colliding_id(conn, spec, rows)
        if taken is not None:
            raise ImportRefused(
                f"id {taken} of table {spec.name} belongs to another account in this database: import into an "
                "empty database (before `localsection init` or `serve` creates the default account there), or "
                "into this one after deleting the account the archive was made from") from None
        detail = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
        raise ImportRefused(f"table {spec.name}: a row conflicts with data in this database ({detail})") from None


def _store_file(db: Database, conn: Connection, member: Member) -> None:
    """Store one blob; its content must hash to its name."""
    if member.size > db.settings.max_file_bytes:
        raise ArchiveError(f"file {member.sha256} is larger than LOCALSECTION_MAX_FILE_BYTES")
    existing = files.open_blob(db.settings, member.sha256)
    if existing is not None and existing.stat().st_size == member.size:
        return  # content-addressed: the same name holds the same bytes
    assert member.reader is not None
    try:
        blob = files.write_blob(db.settings, member.reader, conn)
    except files.TooLarge:
        raise ArchiveError(f"file {member.sha256} is larger than LOCALSECTION_MAX_FILE_BYTES") from None
    if blob.sha256 != member.sha256:
        raise ArchiveError(f"file {member.sha256} does not match its checksum (damaged archive)")


def _verify(manifest: dict[str, Any], seen: dict[str, tuple[MemberInfo, int | None]], result: ImportResult) -> None:
    listed = verify_checksums(manifest, {name: info for name, (info, _) in seen.items()})
    for name, (_, rows) in seen.items():
        if rows is not None and listed[name].get("rows") != rows:
            raise ArchiveError(f"member {name} holds {rows} rows, manifest.json says {listed[name].get('rows')}")
    counts = manifest.get("counts")
    if isinstance(counts, dict):
        for table, n in counts.items():
            if n != result.counts.get(table, 0):
                raise ArchiveError(f"table {table}: {result.counts.get(table, 0)} rows read, manifest.json says {n}")


def _check_isolation(conn: Connection, account_id: int, counts: dict[str, int]) -> None:
    """Every imported row belongs to the imported account and points only at rows of it (a crafted archive must
    not reach into another account of the target database)."""
    owned = {spec.name: spec for spec in tables.exported_tables()}
    for name, n in counts.items():
        spec = owned[name]
        mine = conn.execute(select(func.count()).select_from(spec.table)
                            .where(tables.owned(spec, account_id))).scalar() or 0
        if mine != n:
            raise ImportRefused(f"table {name}: {n - mine} rows of the archive belong to another account")
        for fk in sorted(spec.table.foreign_keys, key=lambda f: f.parent.name):
            parent = owned.get(str(fk.column.table.name))
            if parent is None or parent.name == "accounts":
                continue  # account_id itself was checked by the count above
            stray = conn.execute(
                select(func.count()).select_from(spec.table)
                .where(tables.owned(spec, account_id), fk.parent.is_not(None),
                       fk.parent.not_in(select(fk.column).where(tables.owned(parent, account_id))))).scalar()
            if stray:
                raise ImportRefused(f"table {name}: {stray} rows point at {parent.name} rows of another account")


def _fix_sequences(conn: Connection, specs: list[tables.TableSpec]) -> None:
    """PostgreSQL: move each id sequence past the largest id (never backwards); SQLite needs nothing."""
    if conn.dialect.name != "postgresql":
        return
    for spec in specs:
        if "id" not in spec.table.c or not isinstance(spec.table.c.id.type, Integer):
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": spec.name}).scalar()
        if not seq:
            continue
        conn.execute(text(
            f"SELECT setval('{seq}', m) FROM (SELECT max(id) AS m FROM \"{spec.name}\") x "
            f"WHERE m IS NOT NULL AND m >= (SELECT last_value FROM {seq})"))
