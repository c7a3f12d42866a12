"""`localsection export | import | backup | restore`: move an account, or the whole server, in and out.

Archives go to a file (`--output`, written under a temporary name and renamed when complete, mode 0600) or to
stdout; they are read from `--input` or stdin. A progress bar (rich) shows on stderr when it is a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

import typer

from localsection import accounts
from localsection.cli.common import check_data_dir, check_signing_key, fail, load_settings, open_db, wait_for_database
from localsection.transfer import backup as backups
from localsection.transfer import export, importer
from localsection.transfer.format import ArchiveError, Progress

T = TypeVar("T")
PROBLEMS = (export.ExportError, importer.ImportRefused, ArchiveError, backups.BackupError, accounts.AccountError)


@contextmanager
def progress_bar(title: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise (pipes, logs, tests)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
             console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(title, total=None)

        def update(label: str, done: int, total: int) -> None:
            bar.update(task, description=f"{title}: {label}", completed=done, total=total or None)

        yield update


@contextmanager
def output(path: Path | None) -> Iterator[BinaryIO]:
    """The file to write the archive to (complete or absent: never half-written under its name), or stdout."""
    if path is None:
        if sys.stdout.isatty():
            fail("refusing to write a binary archive to a terminal: pass --output FILE or redirect stdout")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = path.with_name(path.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        fail(f"cannot write {path} ({exc.strerror})")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def source(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        if sys.stdin.isatty():
            fail("reading an archive from a terminal: pass --input FILE or redirect stdin")
        yield sys.stdin.buffer
        return
    try:
        fh = path.open("rb")
    except OSError as exc:
        fail(f"cannot read {path} ({exc.strerror})")
    with fh:
        yield fh


def run(fn: Callable[[], T]) -> T:
    """Run a transfer; its refusals end as one line on stderr and exit status 2."""
    try:
        return fn()
    except PROBLEMS as exc:
        fail(str(exc))


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"


def export_command(account: str = typer.Option(..., "--account", help="The account to export."),
                   out: Path | None = typer.Option(None, "--output", "-o", help="Archive file (default: stdout).")
                   ) -> None:
    """Export everything of one account into a .tar.zst archive (docs/operations.md)."""
    db = open_db()
    try:
        with output(out) as fh, progress_bar(f"export {account}") as bar:
            result = run(lambda: export.export(db, fh, account=account, progress=bar))
    finally:
        db.dispose()
    rows = sum(result.counts.values())
    typer.echo(f"exported account {account.lower()}: {rows} rows, {result.files} files "
               f"({_size(result.file_bytes)})" + (f" to {out}" if out else ""), err=True)
    if result.missing_files:
        typer.echo(f"warning: {len(result.missing_files)} stored files were missing from the files directory "
                   "and are not in the archive", err=True)


def import_command(account: str = typer.Option(..., "--account", help="The new account's name."),
                   src: Path | None = typer.Option(None, "--input", "-i", help="Archive file (default: stdin).")
                   ) -> None:
    """Import an account archive under a new (or empty) account name, keeping its ids."""
    db = open_db()
    try:
        with source(src) as fh, progress_bar(f"import {account}") as bar:
            result = run(lambda: importer.import_account(db, fh, name=account, progress=bar))
    finally:
        db.dispose()
    typer.echo(f"imported account {result.account}: {sum(result.counts.values())} rows, {result.files} files "
               f"in {result.milliseconds / 1000:.1f} s", err=True)


def backup_command(out: Path | None = typer.Option(None, "--output", "-o", help="Backup file (default: stdout)."),
                   method: str | None = typer.Option(None, "--method",
                                                     help="sqlite | pg_dump | logical (default: sqlite on SQLite, "
                                                          "pg_dump on PostgreSQL when installed, else logical).")
                   ) -> None:
    """Back up the whole server while it runs: database, stored files and key files, in one archive."""
    db = open_db()
    try:
        with output(out) as fh, progress_bar("backup") as bar:
            result = run(lambda: backups.backup(db, fh, method=method, progress=bar))
    finally:
        db.dispose()
    typer.echo(f"backup ({result.method}): database {_size(result.database_bytes)}, {result.files} files "
               f"({_size(result.file_bytes)})" + (f" to {out}" if out else ""), err=True)


def restore_command(src: Path | None = typer.Option(None, "--input", "-i", help="Backup file (default: stdin)."),
                    force: bool = typer.Option(False, "--force", help="Replace a database that holds accounts.")
                    ) -> None:
    """Restore a backup into the configured data directory and database (stop the server first)."""
    settings = load_settings()
    check_signing_key(settings)
    wait_for_database(settings, wait=True)
    check_data_dir(settings)
    with source(src) as fh, progress_bar("restore") as bar:
        result = run(lambda: backups.restore(settings, fh, force=force, progress=bar))
    typer.echo(f"restored a {result.method} backup made at {result.created_at} ({result.files} files)", err=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("import")(import_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
