"""`localsection migrate`: copy a live Worksection account into a new account of this server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from localsection.cli.common import fail, load_settings, open_db
from localsection.migrate.report import summary_lines, write_report
from localsection.migrate.run import Migration, Progress
from localsection.migrate.source import Source, SourceError, Unreachable, api_url
from localsection.migrate.state import StateError, load
from localsection.migrate.writer import TargetError, Writer


class RichProgress(Progress):
    """A progress bar per phase on the terminal (stderr): what is copied, how far, how long still."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bars
        self.bars = Bars(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                         TextColumn("{task.fields[requests]} requests"), TimeElapsedColumn(),
                         TimeRemainingColumn(), transient=False)
        self.task: Any = None
        self.requests = 0

    def start(self) -> None:
        self.bars.start()

    def stop(self) -> None:
        self.bars.stop()

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None and self.bars.tasks[self.task].description == name:
            self.bars.update(self.task, total=total)
            return
        self.task = self.bars.add_task(name, total=total, requests=self.requests)

    def advance(self, steps: int = 1) -> None:
        if self.task is not None:
            self.bars.update(self.task, advance=steps, requests=self.requests)

    def on_request(self, _action: str) -> None:
        self.requests += 1
        if self.task is not None:
            self.bars.update(self.task, requests=self.requests)


def migrate(source_url: str = typer.Option(..., "--from", help="The Worksection account's address, "
                                           "e.g. https://acme.worksection.com."),
            api_key: str = typer.Option(..., "--api-key", envvar="WORKSECTION_API_KEY",
                                        help="Its admin API key (or set WORKSECTION_API_KEY)."),
            account: str = typer.Option(..., "--account", help="The NEW account to create here."),
            state_file: Path | None = typer.Option(None, "--state", help="The state file (default: "
                                                   "migrate-<account>.json in the data directory)."),
            rate: float = typer.Option(1.0, "--rate", help="At most this many requests per second."),
            timezone: str = typer.Option("UTC", "--timezone", help="The source account's time zone (its "
                                         "dates are read in it; the new account gets it).")) -> None:
    """Copy a Worksection account (members, contacts, projects, tasks, comments, tags, costs, files) through
    its admin API into a new account; run the same command again to continue after an interruption."""
    if not 0 < rate <= 1000:
        fail("--rate must be above 0 and at most 1000 requests per second")
    try:
        api_url(source_url)
    except ValueError as exc:
        fail(str(exc))
    try:
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        fail(f"--timezone: unknown time zone {timezone!r} (e.g. Europe/Kyiv)")
    settings = load_settings()
    db = open_db(settings)
    writer = Writer(db, account, timezone)
    try:
        resuming = writer.check_target()
    except TargetError as exc:
        fail(str(exc))
    path = state_file or settings.data_dir / f"migrate-{writer.name}.json"
    try:
        state = load(path, source_url.rstrip("/"), writer.name)
    except StateError as exc:
        fail(str(exc))
    if not resuming and state.done:
        fail(f"{path} records an earlier run, but account {writer.name} holds none of it: remove the state "
             "file to start again")
    progress = RichProgress() if sys.stderr.isatty() else None
    try:
        source = Source(source_url, api_key, rate=rate,
                        on_request=progress.on_request if progress is not None else None)
    except ValueError as exc:
        fail(str(exc))
    run = Migration(source, writer, state, path, progress=progress)
    status, message = 0, ""
    if progress is not None:
        progress.start()
    try:
        run.run()
    except KeyboardInterrupt:
        status, message = 130, "interrupted; run the same command again to continue"
    except Unreachable as exc:
        status, message = 1, f"the source stopped answering ({exc}); run the same command again to continue"
    except SourceError as exc:
        status, message = 2, f"the source refused: {exc} (check --from and --api-key)"
    except TargetError as exc:
        status, message = 2, str(exc)
    finally:
        if progress is not None:
            progress.stop()
        source.close()
        report = run.report()
        report_path = write_report(path, report)
        db.dispose()
    for line in summary_lines(report, report_path):
        typer.echo(line)
    if status:
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(status)
