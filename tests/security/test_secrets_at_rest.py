"""Attack (issue 11, item 9): `localsection.db` was 0644 in a 0755 data dir, so any local user could read the API
keys and webhook passwords it holds in clear. The data dir is now 0700 and the database with its -wal/-shm 0600,
also when they were created looser by an older version, whatever the process umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from localsection import bootstrap
from localsection.config import Settings
from localsection.db import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask 022: without care, new files would be world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def open_and_write(data_dir: Path) -> tuple[Database, Path]:
    """A server's start: open the SQLite database in data_dir, migrate it, write; the connection stays open."""
    db = Database(Settings(data_dir=data_dir, durability="normal"))
    bootstrap.upgrade(db)
    with db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        s.execute(text("INSERT INTO probe VALUES (1)"))
    return db, data_dir / "localsection.db"


def test_a_new_data_dir_and_database_are_private(tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "nested" / "data"
    db, path = open_and_write(data_dir)
    try:
        assert mode(data_dir) == 0o700
        for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert f.exists() and mode(f) == 0o600, f
    finally:
        db.dispose()
    assert os.umask(0o022) == 0o022  # the process umask is given back


def test_an_existing_loose_data_dir_and_database_are_tightened_when_opened(tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    path = data_dir / "localsection.db"
    # As an older version left them: a 0644 database with its WAL files (a connection still open elsewhere).
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t (x)")
    old.commit()
    for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        f.chmod(0o644)
    try:
        db, _ = open_and_write(data_dir)
        try:
            assert mode(data_dir) == 0o700
            assert {f.name: mode(f) for f in data_dir.iterdir()} == {
                "localsection.db": 0o600, "localsection.db-wal": 0o600, "localsection.db-shm": 0o600}
        finally:
            db.dispose()
    finally:
        old.close()


def test_a_data_dir_owned_by_someone_else_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "someone-elses"
    data_dir.mkdir(mode=0o750)
    data_dir.chmod(0o750)
    monkeypatch.setattr(os, "getuid", lambda: data_dir.stat().st_uid + 1)
    db, path = open_and_write(data_dir)
    db.dispose()
    assert mode(data_dir) == 0o750  # not ours to change (its owner may share it with a group on purpose)
    assert mode(path) == 0o600  # the database we created is private all the same


def test_the_saved_owner_password_is_private_even_over_a_loose_old_file(tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    secret = data_dir / "credentials.json"
    secret.write_text("{}")
    secret.chmod(0o644)
    db, _ = open_and_write(data_dir)
    try:
        creds = bootstrap.init_default(db, "http://localhost:8000")
    finally:
        db.dispose()
    assert creds.owner_password and creds.owner_password in secret.read_text()
    assert mode(secret) == 0o600
