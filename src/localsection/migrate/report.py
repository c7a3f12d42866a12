"""The final report of a migration: copied objects per kind and what could not be copied, with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localsection.migrate.state import write_atomic

SHOWN_FAILURES = 20


def report_path(state_path: Path) -> Path:
    """`migrate-acme.json` -> `migrate-acme.report.json`, next to the state file."""
    return state_path.with_name(f"{state_path.stem}.report.json")


def write_report(state_path: Path, report: dict[str, Any]) -> Path:
    path = report_path(state_path)
    write_atomic(path, report)
    return path


def summary_lines(report: dict[str, Any], path: Path) -> list[str]:
    """A few lines for the terminal: counts, the first failures, where the full report is."""
    copied = ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in report["copied"].items() if n)
    lines = [f"{'migrated' if report['complete'] else 'not finished'}: {report['source']} -> account "
             f"{report['account']} ({report['requests']} requests)",
             f"copied: {copied or 'nothing yet'}"]
    failures = report["not_copied"]
    if failures:
        lines.append(f"not copied: {len(failures)}")
        for f in failures[:SHOWN_FAILURES]:
            name = f" {f['name']!r}" if f.get("name") else ""
            lines.append(f"  {f['kind']} {f['id']}{name}: {f['reason']}")
        if len(failures) > SHOWN_FAILURES:
            lines.append(f"  … {len(failures) - SHOWN_FAILURES} more in the report")
    if report["complete"]:
        lines.append(f"users have no password yet: localsection users set-password --account {report['account']} "
                     "--email E --password P (or \"Forgot password\" in the web app)")
    lines.append(f"report: {path}")
    return lines
