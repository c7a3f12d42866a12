"""Write an account (or every account: a server dump) into an archive, from one consistent read snapshot.

Rows are streamed table by table (a server-side cursor on PostgreSQL, SQLite's own cursor otherwise) and cut
into bounded members (transfer/format.py), so memory stays flat however large the account is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from localsection import __version__, clock, files
from localsection.db import Database
from localsection.models import Account, StoredFile
from localsection.transfer import tables
from localsection.transfer.format import FORMAT, FORMAT_VERSION, ArchiveWriter, Progress, TableChunker

STREAM_ROWS = 2000


class ExportError(Exception):
    """The export cannot be made (no such account, …); the message is one line for the operator."""


@dataclass
class ExportResult:
    counts: dict[str, int]
    files: int
    file_bytes: int
    missing_files: list[str]


@contextmanager
def read_snapshot(db: Database) -> Iterator[Connection]:
    """A read-only transaction that sees one instant of the database for as long as it lasts.

    PostgreSQL: REPEATABLE READ, READ ONLY. SQLite: a WAL read transaction, which is a snapshot once it has read.
    """
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        conn = conn.execution_options(ls_write=False)
        with conn.begin():
            yield conn


def schema_revision(conn: Connection) -> str:
    try:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")
    except SQLAlchemyError:
        return ""


def export(db: Database, out: BinaryIO, *, account: str | None, progress: Progress | None = None,
           level: int = 3) -> ExportResult:
    """Write the archive of one account (by name), or of the whole server when `account` is None."""
    with read_snapshot(db) as conn:
        account_id = None
        if account is not None:
            account_id = conn.execute(select(Account.id).where(Account.name == account.strip().lower())).scalar()
            if account_id is None:
                raise ExportError(f"no account named {account.strip().lower()}")
        specs = tables.exported_tables() if account_id is not None else tables.server_tables()
        expected = {s.name: _count(conn, s, account_id) for s in specs}
        writer = ArchiveWriter(out, level=level)
        writer.add_json("format.json", {
            "format": FORMAT, "format_version": FORMAT_VERSION, "localsection_version": __version__,
            "schema_revision": schema_revision(conn), "scope": "account" if account_id is not None else "server",
            "account": account.strip().lower() if account is not None else None,
            "source_dialect": conn.dialect.name, "created_at": clock.now().isoformat() + "Z",
            "tables": [s.name for s in specs], "expected_rows": expected,
        })
        total = sum(expected.values())
        done = 0
        counts: dict[str, int] = {}
        for spec in specs:
            chunker = TableChunker(writer, spec.name)
            stream = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS)
            for row in stream.execute(tables.rows_of(spec, account_id)):
                chunker.add(row._asdict())
                if progress is not None and chunker.rows % STREAM_ROWS == 0:
                    progress(f"rows of {spec.name}", done + chunker.rows, total)
            chunker.flush()
            counts[spec.name] = chunker.rows
            done += chunker.rows
            if progress is not None:
                progress(f"rows of {spec.name}", done, total)
        n_files, file_bytes, missing = _write_files(db, conn, writer, account_id, progress)
    writer.add_json("manifest.json", {
        "format": FORMAT, "format_version": FORMAT_VERSION, "counts": counts, "files": n_files,
        "file_bytes": file_bytes, "missing_files": missing,
        "members": {name: info.as_dict() for name, info in writer.members.items()},
    })
    writer.close()
    return ExportResult(counts, n_files, file_bytes, missing)


def _count(conn: Connection, spec: tables.TableSpec, account_id: int | None) -> int:
    stmt = select(func.count()).select_from(spec.table)
    if account_id is not None:
        stmt = stmt.where(tables.owned(spec, account_id))
    return int(conn.execute(stmt).scalar() or 0)


def _write_files(db: Database, conn: Connection, writer: ArchiveWriter, account_id: int | None,
                 progress: Progress | None) -> tuple[int, int, list[str]]:
    """Every distinct blob the exported file rows name; blobs missing from the store are listed, not fatal."""
    stmt: Any = select(StoredFile.sha256).distinct().order_by(StoredFile.sha256)
    if account_id is not None:
        stmt = stmt.where(StoredFile.account_id == account_id)
    n = size = 0
    missing: list[str] = []
    for (sha,) in conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(stmt):
        path = files.open_blob(db.settings, sha)
        if path is None:
            missing.append(sha)
            continue
        with path.open("rb") as fh:
            length = path.stat().st_size
            writer.add_stream(f"files/{sha}", fh, length)
        n += 1
        size += length
        if progress is not None:
            progress("files", n, 0)
    return n, size, missing
