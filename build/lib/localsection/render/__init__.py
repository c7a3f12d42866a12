"""The one home of every Worksection JSON shape: envelopes and value formats (PROTOCOL.md §1.4, §3.2).

Domain shapes live in the submodules (members, projects, tasks, ...); they use the helpers here.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# -- envelopes ----------------------------------------------------------------------------------


def ok() -> dict[str, Any]:
    return {"status": "ok"}


def ok_data(data: dict[str, Any] | list[Any]) -> dict[str, Any]:
    return {"status": "ok", "data": data}


def ok_top(**fields: Any) -> dict[str, Any]:
    """Payload beside `status`, no `data` key (add_costs, add_webhook, get_costs_total)."""
    return {"status": "ok", **fields}


# -- values -------------------------------------------------------------------------------------


def sid(value: int | None) -> str:
    """Object ids travel as JSON strings."""
    return "" if value is None else str(value)


def datetime_min(value: dt.datetime) -> str:
    """YYYY-MM-DD HH:MM (isoformat: a third of strftime's cost, and it pads years below 1000)."""
    return value.isoformat(" ", "minutes")


def date(value: dt.date) -> str:
    """YYYY-MM-DD"""
    return value.isoformat()


def money(cents: int) -> str:
    """Integer cents -> "1234.50" (two decimals, no grouping)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def minutes(total: int) -> str:
    """Whole minutes -> "H:MM" (hours unpadded, may exceed 24)."""
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 60}:{total % 60:02d}"


def hms(seconds: int) -> str:
    """Elapsed seconds -> "HH:MM:SS"."""
    seconds = max(0, seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def number(value: Decimal | None) -> int | float | None:
    """Decimal estimate -> JSON number (integer when whole)."""
    if value is None:
        return None
    q = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(q) if q == q.to_integral_value() else float(q)


def put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set a key only when the value is present (optional fields are omitted, not null)."""
    if value is not None and value != "" and value != {} and value != []:
        out[key] = value


# -- references shared by several shapes (§3.3) ----------------------------------------------------


def project_page(project_id: int) -> str:
    return f"/project/{project_id}/"


def task_page(project_id: int, task_id: int, top_id: int | None) -> str:
    """Top task: /project/P/T/; any subtask level: /project/P/TOP/ID/ (the middle level is skipped)."""
    if top_id is None or top_id == task_id:
        return f"/project/{project_id}/{task_id}/"
    return f"/project/{project_id}/{top_id}/{task_id}/"


def project_ref(project_id: int, name: str) -> dict[str, str]:
    return {"id": sid(project_id), "name": name, "page": project_page(project_id)}


def task_ref(task: Any) -> dict[str, str]:
    """{id, name, page, status, priority} of a Task row."""
    return {"id": sid(task.id), "name": task.name, "page": task_page(task.project_id, task.id, task.top_id),
            "status": task.status, "priority": str(task.priority)}
