"""Reading lists past the source's 10,000-record cap: split by project, then halve date ranges.

The real service answers at most 10,000 records per list (PROTOCOL.md §9.1), with an error or — we do not trust it
not to — with exactly 10,000 rows. A list that comes back at the cap is asked again in smaller pieces: the
account's costs per project, then a project's tasks or costs by date range, halving the range until every piece
is below the cap. A single day still at the cap cannot be split further and is reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from localsection.migrate.source import TooMany

CAP = 10_000
EARLIEST = dt.date(2000, 1, 1)  # before any Worksection account existed

T = TypeVar("T")
Rows = list[dict[str, Any]]


class Unsplittable(Exception):
    """One day of one project still holds `cap` records or more: it cannot be read through this API."""


def below_cap(fetch: Callable[[], Rows], cap: int) -> Rows | None:
    """The rows, or None when the answer is at the cap (refused, or exactly `cap` rows: maybe cut short)."""
    try:
        rows = fetch()
    except TooMany:
        return None
    return rows if len(rows) < cap else None


def by_dates(fetch: Callable[[dt.date, dt.date], Rows], start: dt.date, end: dt.date, cap: int) -> Rows:
    """Every row of [start, end], asking for halves of a range until each answer is below the cap.

    Rows come in date-range order. Raises Unsplittable when a single day is at the cap.
    """
    out: Rows = []
    pending = [(start, end)]
    while pending:
        low, high = pending.pop()
        rows = below_cap(lambda: fetch(low, high), cap)  # noqa: B023 - called at once
        if rows is not None:
            out.extend(rows)
            continue
        if low >= high:
            raise Unsplittable(f"{low.isoformat()} alone holds {cap} records or more")
        middle = low + (high - low) // 2
        pending.append((middle + dt.timedelta(days=1), high))
        pending.append((low, middle))
    return out


def by_projects(fetch_all: Callable[[], Rows], fetch_project: Callable[[str], Rows],
                fetch_project_dates: Callable[[str, dt.date, dt.date], Rows], projects: Iterable[str],
                cap: int, today: dt.date, emit: Callable[[Rows], None]) -> None:
    """The whole list, handed to `emit` in pieces: at once when below the cap; else per project, and a project
    at the cap by date ranges (so memory holds one project's rows at most)."""
    rows = below_cap(fetch_all, cap)
    if rows is not None:
        emit(rows)
        return
    for project in projects:
        part = below_cap(lambda: fetch_project(project), cap)  # noqa: B023 - called at once
        if part is None:
            part = by_dates(lambda a, b: fetch_project_dates(project, a, b), EARLIEST,  # noqa: B023
                            today + dt.timedelta(days=366), cap)
        emit(part)


def wire_date(day: dt.date) -> str:
    """A date as the real service reads it in parameters and filters: DD.MM.YYYY."""
    return day.strftime("%d.%m.%Y")
