"""File storage: content-addressed blobs under <data_dir>/files, upload tokens and attaching (PROTOCOL.md §6).

Blob paths are built from the SHA-256 of the content only, never from anything a client sent. A blob is
written to a temporary file and renamed into place; if the surrounding transaction rolls back, blobs that
this transaction created are removed again (see `_on_rollback`), and `sweep()` deletes any unreferenced
blob older than a grace period (crashes, races).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import Engine, delete, event, select
from sqlalchemy.engine import Connection

from localsection import errors
from localsection.config import Settings
from localsection.ctx import Ctx
from localsection.models import Comment, StoredFile, User

UPLOAD_TTL = dt.timedelta(hours=24)
SWEEP_GRACE_SECONDS = 3600
_CHUNK = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NEW_BLOBS_KEY = "ls_new_blobs"


class TooLarge(Exception):
    """The content is above Settings.max_file_bytes."""


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


class FilePart(Protocol):
    """One uploaded file as a front end received it (the API's multipart parts are such parts)."""

    @property
    def filename(self) -> str | None: ...

    @property
    def file(self) -> BinaryIO: ...

    @property
    def size(self) -> int: ...  # as declared by the sender; the content is counted again while stored


@dataclass(frozen=True)
class Attachments:
    """Files to attach to a new object: new file parts and ids of earlier uploads (upload_files)."""

    parts: Sequence[FilePart] = ()
    upload_ids: Sequence[str] = ()


NO_FILES = Attachments()


@dataclass(frozen=True)
class Upload:
    """A stored pending upload (`token` is its id for `files`), or a refused one (`token` "", `error` set)."""

    name: str
    ext: str
    token: str = ""
    error: str | None = None


# -- names and errors ----------------------------------------------------------------------------

def safe_name(raw: str | None) -> str:
    """A display name without any directory part or control characters; never used as a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().strip(".").strip()
    if not name:
        return "file"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


# -- blobs -----------------------------------------------------------------------------------------

def store_root(settings: Settings) -> Path:
    return settings.data_dir / "files"


def blob_path(settings: Settings, sha256: str) -> Path:
    """Where a blob lives; `sha256` must be 64 hex digits (we computed it), so no traversal is possible."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a sha256 digest")
    return store_root(settings) / sha256[:2] / sha256


def write_blob(settings: Settings, source: BinaryIO, conn: Connection | None = None) -> Blob:
    """Stream `source` into the store (temp file + rename); TooLarge above the limit, nothing left behind."""
    root = store_root(settings)
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > settings.max_file_bytes:
                    raise TooLarge()
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        final = blob_path(settings, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        existed = final.exists()
        os.replace(tmp_name, final)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if conn is not None and not existed:
        # Remember blobs this transaction created, so a rollback can take them back.
        conn.info.setdefault(_NEW_BLOBS_KEY, []).append((str(final), final.stat().st_ino))
    return Blob(sha, size)


def _on_commit(conn: Connection) -> None:
    conn.info.pop(_NEW_BLOBS_KEY, None)


def _on_rollback(conn: Connection) -> None:
    for path, inode in conn.info.pop(_NEW_BLOBS_KEY, []):
        try:
            # Another upload of the same bytes re-renames the blob (new inode): then it is theirs to keep.
            if os.stat(path).st_ino == inode:
                os.unlink(path)
        except OSError:
            pass


def install_hooks(engine: Engine) -> None:
    """Clean up blobs of rolled-back transactions (idempotent)."""
    if not event.contains(engine, "rollback", _on_rollback):
        event.listen(engine, "rollback", _on_rollback)
        event.listen(engine, "commit", _on_commit)


def _store(ctx: Ctx, source: BinaryIO) -> Blob:
    conn = ctx.db.connection()
    install_hooks(conn.engine)
    return write_blob(ctx.settings, source, conn)


def open_blob(settings: Settings, sha256: str) -> Path | None:
    path = blob_path(settings, sha256)
    return path if path.is_file() else None


# -- upload tokens ---------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def upload(ctx: Ctx, part: FilePart) -> Upload:
    """Store one file as a pending upload (§6.2); refused (not raised) when too large."""
    name = safe_name(part.filename)
    ext = extension(name)
    if part.size > ctx.settings.max_file_bytes:
        return Upload(name, ext, error="File is too large")
    try:
        blob = _store(ctx, part.file)
    except TooLarge:
        return Upload(name, ext, error="File is too large")
    token = secrets.token_hex(16)
    ctx.db.add(StoredFile(account_id=ctx.account_id, sha256=blob.sha256, size=blob.size, name=name,
                          user_from_id=ctx.user.id, upload_token=_token_hash(token),
                          upload_expires=ctx.now() + UPLOAD_TTL, date_added=ctx.now()))
    return Upload(name, ext, token)


def attach(ctx: Ctx, attachments: Attachments, *, author: User, project_id: int, task_id: int | None = None,
           comment_id: int | None = None) -> list[StoredFile]:
    """Attach new file parts and earlier uploads to a project, task or comment, as `author`'s.

    Call inside the creating transaction after the object got its id. Refuses with 11 `File is too large` +
    name or 4 `File not found` + upload id, before anything is stored.
    """
    parts, refs = list(attachments.parts), list(attachments.upload_ids)
    if not parts and not refs:
        return []
    for part in parts:
        if part.size > ctx.settings.max_file_bytes:
            raise errors.file_too_large(safe_name(part.filename))
    pending = _pending_uploads(ctx, refs)
    if comment_id is not None and task_id is None:
        task_id = ctx.db.scalars(select(Comment.task_id).where(Comment.id == comment_id)).first()
    now = ctx.now()
    rows: list[StoredFile] = []
    for part in parts:
        name = safe_name(part.filename)
        try:
            blob = _store(ctx, part.file)
        except TooLarge:
            raise errors.file_too_large(name) from None
        row = StoredFile(account_id=ctx.account_id, sha256=blob.sha256, size=blob.size, name=name,
                         user_from_id=author.id, date_added=now)
        ctx.db.add(row)
        rows.append(row)
    rows.extend(pending)
    for row in rows:
        row.project_id, row.task_id, row.comment_id = project_id, task_id, comment_id
        row.upload_token, row.upload_expires = None, None
        row.date_added = now
    ctx.db.flush()
    return rows


def _pending_uploads(ctx: Ctx, refs: list[str]) -> list[StoredFile]:
    """The unexpired, unused uploads of this account for these ids, in request order; else 4 + the id."""
    if not refs:
        return []
    hashes = {ref: _token_hash(ref) for ref in dict.fromkeys(refs)}
    rows = ctx.db.scalars(select(StoredFile).where(StoredFile.account_id == ctx.account_id,
                                                   StoredFile.upload_token.in_(list(hashes.values())),
                                                   StoredFile.upload_expires > ctx.now()))
    by_hash = {r.upload_token: r for r in rows}
    out: list[StoredFile] = []
    for ref, h in hashes.items():
        row = by_hash.get(h)
        if row is None:
            raise errors.file_not_found(ref)
        out.append(row)
    return out


# -- housekeeping ----------------------------------------------------------------------------------

def sweep(db_session: Any, settings: Settings, now: dt.datetime) -> int:
    """Delete expired pending uploads and blobs no row references (older than a grace period)."""
    db_session.execute(delete(StoredFile).where(StoredFile.upload_token.is_not(None),
                                                StoredFile.upload_expires < now))
    db_session.flush()
    removed = 0
    root = store_root(settings)
    if not root.is_dir():
        return 0
    cutoff = now.replace(tzinfo=dt.UTC).timestamp() - SWEEP_GRACE_SECONDS
    candidates = [p for p in _blob_files(root) if p.stat().st_mtime < cutoff]
    for chunk in _chunks(candidates, 500):
        names = [p.name for p in chunk]
        used = set(db_session.scalars(select(StoredFile.sha256).where(StoredFile.sha256.in_(names))))
        for path in chunk:
            if path.name not in used:
                path.unlink(missing_ok=True)
                removed += 1
    for tmp in (root / "tmp").glob("up-*") if (root / "tmp").is_dir() else []:
        if tmp.stat().st_mtime < cutoff:
            tmp.unlink(missing_ok=True)
    return removed


def _blob_files(root: Path) -> Iterable[Path]:
    for sub in root.iterdir():
        if sub.is_dir() and re.fullmatch(r"[0-9a-f]{2}", sub.name):
            yield from (f for f in sub.iterdir() if re.fullmatch(r"[0-9a-f]{64}", f.name))


def _chunks(items: list[Path], size: int) -> Iterable[list[Path]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
