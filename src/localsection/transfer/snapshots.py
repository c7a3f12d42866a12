"""Named snapshots of the whole server or of one account, kept in <data dir>/snapshots (the emulator's control API).

A snapshot is an export archive (transfer/format.py) plus a small JSON sidecar; restoring one replaces the
account (or every account) with the archive's rows in one transaction, ids and keys included.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from localsection import clock
from localsection.db import Database, private_dir
from localsection.transfer import export, importer

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LEVEL = 1  # snapshots favour speed over size


class SnapshotError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SnapshotInfo:
    name: str
    scope: str  # server | account
    account: str | None
    created_at: str
    bytes: int
    rows: int
    files: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def _root(db: Database) -> Path:
    root = db.settings.data_dir / "snapshots"
    private_dir(root)
    return root


def _paths(db: Database, name: str) -> tuple[Path, Path]:
    if not valid_name(name):
        raise SnapshotError("a snapshot name is 1 to 64 characters: letters, digits, '.', '_' and '-', starting "
                            "with a letter or digit")
    root = _root(db)
    return root / f"{name}.tar.zst", root / f"{name}.json"


def take(db: Database, name: str, account: str | None = None) -> SnapshotInfo:
    """Snapshot the whole server, or one account; a snapshot of the same name is replaced."""
    archive, meta = _paths(db, name)
    partial = archive.with_name(archive.name + ".partial")
    try:
        with partial.open("wb") as fh:
            result = export.export(db, fh, account=account, level=LEVEL)
    except export.ExportError as exc:
        partial.unlink(missing_ok=True)
        raise SnapshotError(str(exc), 404) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    info = SnapshotInfo(name, "server" if account is None else "account",
                        account.strip().lower() if account is not None else None,
                        clock.now().replace(microsecond=0).isoformat() + "Z", partial.stat().st_size,
                        sum(result.counts.values()), result.files)
    os.replace(partial, archive)
    meta.write_text(json.dumps(info.as_dict()))
    return info


def get(db: Database, name: str) -> SnapshotInfo:
    archive, meta = _paths(db, name)
    if not archive.is_file() or not meta.is_file():
        raise SnapshotError(f"no snapshot named {name}", 404)
    data = json.loads(meta.read_text())
    data["bytes"] = archive.stat().st_size
    return SnapshotInfo(**data)


def restore(db: Database, name: str) -> tuple[SnapshotInfo, float]:
    """Put the snapshot's data back (the account, or every account); returns it and the milliseconds taken."""
    info = get(db, name)
    archive, _ = _paths(db, name)
    started = time.perf_counter()
    with archive.open("rb") as fh:
        if info.account is not None:
            importer.import_account(db, fh, name=info.account, replace=True, trusted=True)
        else:
            importer.import_server(db, fh, force=True)
    return info, round((time.perf_counter() - started) * 1000, 1)


def listing(db: Database) -> list[SnapshotInfo]:
    out = []
    for meta in sorted(_root(db).glob("*.json")):
        try:
            out.append(get(db, meta.stem))
        except (SnapshotError, ValueError, TypeError):
            continue
    return sorted(out, key=lambda s: (s.created_at, s.name))


def delete(db: Database, name: str) -> None:
    archive, meta = _paths(db, name)
    if not archive.is_file():
        raise SnapshotError(f"no snapshot named {name}", 404)
    archive.unlink()
    meta.unlink(missing_ok=True)


