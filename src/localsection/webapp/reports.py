"""Reports `/reports`: time and money per project, per user and per month for a date range (and optionally one
project), as tables and as server-drawn bar charts; `/reports/export.csv` writes the same sums as CSV.

The rows are exactly those get_costs shows the signed-in user (domain/costs.py `cost_report`, one GROUP BY).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response, StreamingResponse

from localsection.domain import costs, projects
from localsection.errors import ApiError
from localsection.formats import is_digits
from localsection.render import money
from localsection.render.members import display_name
from localsection.webapp.charts import Bar, bar_chart
from localsection.webapp.handlers import SECURITY_HEADERS, FormError, Page, webpage

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEASURES = ("time", "money")


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    project_id: int | None
    measure: str


@dataclass
class Line:
    """One row of a report table."""

    key: str
    label: str
    minutes: int = 0
    cents: int = 0


def _date(page: Page, name: str, default: dt.date) -> dt.date:
    raw = page.request.query_params.get(name, "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise FormError("Enter the dates as YYYY-MM-DD.") from None


def _month_start(day: dt.date, back: int) -> dt.date:
    months = day.year * 12 + day.month - 1 - back
    return dt.date(months // 12, months % 12 + 1, 1)


def read_filters(page: Page) -> Filters:
    today = page.ctx.today()
    start = _date(page, "start", _month_start(today, 11))
    end = _date(page, "end", today)
    if start > end:
        raise FormError("The start date is after the end date.")
    raw_project = page.request.query_params.get("project", "").strip()
    if raw_project and not (is_digits(raw_project) and len(raw_project) < 19):
        raise FormError("Choose a project from the list.")
    measure = page.request.query_params.get("measure", "time")
    return Filters(start, end, int(raw_project) if raw_project else None, measure if measure in MEASURES else "time")


def _report(page: Page, f: Filters) -> costs.CostReport:
    return costs.cost_report(page.ctx, query=costs.CostQuery(project_id=f.project_id, start=f.start, end=f.end))


def _grouped(report: costs.CostReport) -> dict[str, list[Line]]:
    by_project: dict[int, Line] = {}
    by_user: dict[int, Line] = {}
    by_month: dict[str, Line] = {}
    for r in report.rows:
        user = report.users.get(r.user_id)
        for line in (by_project.setdefault(r.project_id, Line(str(r.project_id),
                                                              report.projects.get(r.project_id, ""))),
                     by_user.setdefault(r.user_id, Line(str(r.user_id), display_name(user) if user else "?")),
                     by_month.setdefault(r.month, Line(r.month, r.month))):
            line.minutes += r.minutes
            line.cents += r.cents
    return {"project": sorted(by_project.values(), key=lambda x: (-x.minutes, -x.cents, x.label.casefold())),
            "user": sorted(by_user.values(), key=lambda x: (-x.minutes, -x.cents, x.label.casefold())),
            "month": sorted(by_month.values(), key=lambda x: x.key)}


def hm(total: int) -> str:
    return f"{total // 60}:{total % 60:02d}"


def _bars(lines: list[Line], measure: str) -> list[Bar]:
    if measure == "money":
        return [Bar(x.label, x.cents / 100, money(x.cents)) for x in lines]
    return [Bar(x.label, x.minutes / 60, hm(x.minutes)) for x in lines]


@webpage()
def reports_page(page: Page) -> Response:
    visible = projects.list_projects(page.ctx)
    try:
        f = read_filters(page)
        report = _report(page, f)
    except (FormError, ApiError) as exc:
        page.error = page._(exc.message, **exc.variables) if isinstance(exc, FormError) else page._(exc.message)
        return page.render("reports.html", 400, filters=None, projects=visible, tables={}, charts={},
                           totals=(0, 0), hm=hm, money=money, query=page.request.url.query)
    tables = _grouped(report)
    total = (sum(r.minutes for r in report.rows), sum(r.cents for r in report.rows))
    unit = page._("hours") if f.measure == "time" else page._("money")
    titles = {"project": page._("By project"), "user": page._("By person"), "month": page._("By month")}
    charts = {}
    for key, lines in tables.items():
        desc = "; ".join(f"{b.label}: {b.shown}" for b in _bars(lines, f.measure)) or page._("No entries.")
        charts[key] = bar_chart(f"chart-{key}", f"{titles[key]} ({unit})", desc, _bars(lines, f.measure))
    return page.render("reports.html", filters=f, projects=visible, tables=tables, charts=charts, titles=titles,
                       totals=total, hm=hm, money=money, query=page.request.url.query)


def safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: formula-like starts get a leading apostrophe."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


CSV_CHUNK = 64 * 1024  # characters sent at a time


def _csv_lines(header: list[str], rows: list[list[Any]]) -> Iterator[bytes]:
    """The CSV in chunks (each chunk is a hop to the thread pool, so not one per row)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # a BOM, so spreadsheets read UTF-8
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in [header, *rows]:
        writer.writerow([safe_cell(v) for v in row])
        if buffer.tell() >= CSV_CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


@webpage()
def reports_csv(page: Page) -> Response:
    """The report's rows (project, person, month) as CSV, streamed."""
    try:
        f = read_filters(page)
        report = _report(page, f)
    except (FormError, ApiError) as exc:
        message = page._(exc.message, **exc.variables) if isinstance(exc, FormError) else page._(exc.message)
        return page.render("error.html", 400, title=page._("Something is not right"), message=message)
    rows = []
    for r in report.rows:
        user = report.users.get(r.user_id)
        rows.append([report.projects.get(r.project_id, ""), display_name(user) if user else "",
                     user.email if user else "", r.month, hm(r.minutes), f"{r.minutes / 60:.2f}", money(r.cents)])
    header = [page._("Project"), page._("Person"), page._("E-mail"), page._("Month"), page._("Time"),
              page._("Hours"), page._("Money")]
    name = f"report-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(_csv_lines(header, rows), media_type="text/csv; charset=utf-8", headers=headers)
