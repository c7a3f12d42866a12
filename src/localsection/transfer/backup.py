"""Whole-server backup and restore, online: the database, the stored files and the key files in one archive.

The database part, by method:
  sqlite    SQLite's online backup API copies the database file page by page from one read snapshot (WAL: the
            server keeps writing meanwhile).
  pg_dump   PostgreSQL: `pg_dump --format=custom` (its own consistent snapshot); restored with pg_restore.
  logical   any database: our own dump (the export format, every table, one REPEATABLE READ snapshot); restored
            with the importer into any database kind (the way to move a server from SQLite to PostgreSQL).
The stored files are read after the database copy is complete: a blob is always written before the row naming
it commits, so every file the copy refers to is on disk by then.

Restore stages every member in the data directory, checks the manifest's checksums, and only then replaces
anything. It refuses a target that holds accounts unless `force`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from localsection import __version__, bootstrap, clock, files
from localsection.config import Settings
from localsection.db import Database, private_dir
from localsection.transfer import export, importer
from localsection.transfer.format import (
    ArchiveError,
    ArchiveWriter,
    Member,
    MemberInfo,
    Progress,
    parse_json,
    read_members,
    verify_checksums,
)

FORMAT = "localsection-backup"
FORMAT_VERSION = 1
METHODS = ("sqlite", "pg_dump", "logical")
KEY_FILES = ("oauth_signing_key.pem", "credentials.json", "cli_oauth_apps.json")
_DATABASE = {"sqlite": "database/localsection.db", "pg_dump": "database/localsection.pgdump",
             "logical": "database/server.tar.zst"}
_BLOB = re.compile(r"data/files/([0-9a-f]{2})/([0-9a-f]{64})")
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot be done; one line for the operator. Nothing was replaced."""


@dataclass
class BackupResult:
    method: str
    database_bytes: int
    files: int
    file_bytes: int


def default_method(settings: Settings) -> str:
    if settings.effective_database_url.startswith("sqlite"):
        return "sqlite"
    return "pg_dump" if shutil.which("pg_dump") else "logical"


def backup(db: Database, out: BinaryIO, *, method: str | None = None, progress: Progress | None = None) -> BackupResult:
    """Write a backup of the whole server (database, stored files, key files of the data directory) to `out`."""
    settings = db.settings
    method = method or default_method(settings)
    sqlite = settings.effective_database_url.startswith("sqlite")
    if method not in METHODS or ((method == "sqlite") != sqlite and method != "logical"):
        raise BackupError(f"method {method} does not apply to this database; use "
                          + ("sqlite or logical" if sqlite else "pg_dump or logical"))
    writer = ArchiveWriter(out)
    with tempfile.TemporaryDirectory(dir=_staging_root(settings), prefix="backup-") as tmp:
        dump = Path(tmp) / "database"
        if method == "sqlite":
            _sqlite_copy(settings, dump)
        elif method == "pg_dump":
            _pg_dump(settings, dump)
        else:
            with dump.open("wb") as fh:
                export.export(db, fh, account=None, progress=progress)
        revision = _revision(db)
        writer.add_json("backup.json", {
            "format": FORMAT, "format_version": FORMAT_VERSION, "localsection_version": __version__,
            "method": method, "source_dialect": db.dialect, "schema_revision": revision,
            "created_at": clock.now().isoformat() + "Z",
            "key_file_outside_data_dir": bool(settings.oauth_private_key_file),
        })
        size = dump.stat().st_size
        with dump.open("rb") as fh:
            writer.add_stream(_DATABASE[method], fh, size)
    n, total = _add_data_files(settings, writer, progress)
    writer.add_json("manifest.json", {"format": FORMAT, "format_version": FORMAT_VERSION, "files": n,
                                      "file_bytes": total,
                                      "members": {k: v.as_dict() for k, v in writer.members.items()}})
    writer.close()
    return BackupResult(method, size, n, total)


def _staging_root(settings: Settings) -> Path:
    # Inside the data directory: private (0700) and, usually, on the disk that has room for the data.
    root = settings.data_dir / "tmp"
    private_dir(root)
    return root


def _revision(db: Database) -> str:
    with db.engine.connect() as conn:
        return export.schema_revision(conn)


def _sqlite_copy(settings: Settings, target: Path) -> None:
    url = settings.effective_database_url
    source_path = url.split(":///", 1)[1]
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)  # all pages in one step: one read snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
        source.close()


def _libpq(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """pg_dump / pg_restore connection arguments; the password goes in the environment, never in argv."""
    url = make_url(settings.effective_database_url)
    args = ["--dbname", url.database or "", "--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=24 * 3600, check=False)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed: install the PostgreSQL client tools, or use "
                          "--method logical") from None
    if proc.returncode != 0:
        message = " ".join(proc.stderr.split())[-400:]
        raise BackupError(f"{cmd[0]} failed ({message})")


def _pg_dump(settings: Settings, target: Path) -> None:
    args, env = _libpq(settings)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), *args], env)


def _add_data_files(settings: Settings, writer: ArchiveWriter, progress: Progress | None) -> tuple[int, int]:
    n = total = 0
    for path in _blobs(files.store_root(settings)):
        size = path.stat().st_size
        with path.open("rb") as fh:
            writer.add_stream(f"data/files/{path.parent.name}/{path.name}", fh, size)
        n += 1
        total += size
        if progress is not None:
            progress("files", n, 0)
    for name in KEY_FILES:
        path = settings.data_dir / name
        if path.is_file():
            with path.open("rb") as fh:
                writer.add_stream(f"data/{name}", fh, path.stat().st_size)
    return n, total


def _blobs(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and re.fullmatch(r"[0-9a-f]{2}", sub.name):
            yield from sorted(f for f in sub.iterdir() if re.fullmatch(r"[0-9a-f]{64}", f.name))


# -- restore -------------------------------------------------------------------------------------------------

def backup_member(name: str) -> tuple[str, str, str] | None:
    if name in ("backup.json", "manifest.json"):
        return name.split(".")[0], "", ""
    if name in _DATABASE.values():
        return "database", "", ""
    if m := _BLOB.fullmatch(name):
        return "blob", "", m.group(2)
    if name.startswith("data/") and name[5:] in KEY_FILES:
        return "key", "", ""
    return None


@dataclass
class RestoreResult:
    method: str
    files: int
    created_at: str


def restore(settings: Settings, source: BinaryIO, *, force: bool = False,
            progress: Progress | None = None) -> RestoreResult:
    """Restore a backup into the database and data directory of `settings` (the server must be stopped)."""
    private_dir(settings.data_dir)
    if not force and _holds_accounts(settings):
        raise BackupError("the target database holds accounts already: restore into an empty one, or pass "
                          "--force to replace everything in it")
    with tempfile.TemporaryDirectory(dir=_staging_root(settings), prefix="restore-") as tmp:
        staged = _stage(Path(tmp), source, progress)
        header = staged.header
        method = str(header.get("method"))
        database = Path(tmp) / "database"
        if method == "sqlite":
            _restore_sqlite(settings, database)
        elif method == "pg_dump":
            _restore_pg(settings, database)
        else:
            db = Database(settings)
            try:
                bootstrap.upgrade(db)
                with database.open("rb") as fh:
                    importer.import_server(db, fh, force=force, progress=progress)
            finally:
                db.dispose()
        _install_files(settings, Path(tmp))
    db = Database(settings)
    try:
        bootstrap.upgrade(db)  # a backup of an older schema is brought up to date
    finally:
        db.dispose()
    return RestoreResult(method, staged.blobs, str(header.get("created_at", "")))


@dataclass
class _Staged:
    header: dict[str, Any]
    blobs: int


def _stage(tmp: Path, source: BinaryIO, progress: Progress | None) -> _Staged:
    """Every member written under tmp (database, data/…), checked against manifest.json."""
    members = read_members(source, backup_member)
    first = next(members, None)
    if first is None or first.kind != "backup":
        raise ArchiveError("not a localsection backup (backup.json is not its first member)")
    header = parse_json(first)
    if header.get("format") != FORMAT:
        raise ArchiveError("not a localsection backup (backup.json names another format)")
    if not isinstance(header.get("format_version"), int) or header["format_version"] > FORMAT_VERSION:
        raise ArchiveError("backup format version is newer than this localsection reads: upgrade localsection")
    if header.get("method") not in METHODS:
        raise ArchiveError("backup.json names no known method")
    seen: dict[str, MemberInfo] = {"backup.json": first.checksum()}
    manifest: dict[str, Any] | None = None
    blobs = 0
    for member in members:
        if manifest is not None:
            raise ArchiveError(f"member {member.name} after manifest.json")
        if member.kind == "manifest":
            manifest = parse_json(member)
            continue
        if member.kind == "backup":
            raise ArchiveError("a second backup.json")
        target = tmp / ("database" if member.kind == "database" else member.name)
        _write(member, target)
        if member.kind == "blob":
            blobs += 1
            if _sha256(target) != member.sha256:
                raise ArchiveError(f"file {member.sha256} does not match its checksum (damaged backup)")
            if progress is not None:
                progress("files", blobs, 0)
        seen[member.name] = member.checksum()
    if manifest is None:
        raise ArchiveError("the backup is truncated (no manifest.json at its end)")
    verify_checksums(manifest, seen)
    if not (tmp / "database").is_file():
        raise ArchiveError("the backup holds no database")
    return _Staged(header, blobs)


def _write(member: Member, target: Path) -> None:
    assert member.reader is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := member.reader.read(_CHUNK):
            out.write(chunk)
    if target.stat().st_size != member.size:
        raise ArchiveError(f"member {member.name} is truncated")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _holds_accounts(settings: Settings) -> bool:
    url = settings.effective_database_url
    if url.startswith("sqlite:///") and not Path(url.split(":///", 1)[1]).exists():
        return False
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("accounts"):
                return False
            return bool(conn.execute(text("SELECT count(*) FROM accounts")).scalar())
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise BackupError(f"cannot open the target database ({reason})") from None
    finally:
        engine.dispose()


def _restore_sqlite(settings: Settings, staged: Path) -> None:
    url = settings.effective_database_url
    if not url.startswith("sqlite:///"):
        raise BackupError("this is a SQLite backup: restore it with a SQLite target (unset LOCALSECTION_DATABASE_URL)"
                          ", or make a --method logical backup to move to PostgreSQL")
    target = Path(url.split(":///", 1)[1])
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)  # they belong to the replaced database
    staged.chmod(0o600)
    os.replace(staged, target)


def _restore_pg(settings: Settings, staged: Path) -> None:
    if settings.effective_database_url.startswith("sqlite"):
        raise BackupError("this is a pg_dump backup: restore it with LOCALSECTION_DATABASE_URL set to a PostgreSQL "
                          "database, or make a --method logical backup to move to SQLite")
    args, env = _libpq(settings)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          *args, str(staged)], env)


def _install_files(settings: Settings, tmp: Path) -> None:
    """Blobs into the store (kept when present: same name, same bytes), key files into the data directory."""
    staged_files = tmp / "data" / "files"
    root = files.store_root(settings)
    for blob in _blobs(staged_files):
        final = root / blob.parent.name / blob.name
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(blob, final)
    for name in KEY_FILES:
        staged = tmp / "data" / name
        if staged.is_file():
            staged.chmod(0o600)
            os.replace(staged, settings.data_dir / name)


def stamp() -> str:
    """A file-name friendly UTC time, for default backup names."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
