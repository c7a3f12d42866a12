"""Read models of costs and timers that both the domain and the JSON shapes use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localsection.ctx import Ctx
from localsection.models import Timer

Sums = tuple[int, int]  # (minutes, cents)


@dataclass(frozen=True)
class ProjectCosts:
    """The sums of one project: overall, per month (`YYYY-MM`) and, when asked, per task (a task row + sums)."""

    id: int
    name: str
    sums: Sums
    monthly: dict[str, Sums]
    tasks: list[tuple[Any, Sums]] | None


def elapsed_seconds(ctx: Ctx, timer: Timer) -> int:
    """Seconds the timer has run (never negative)."""
    return max(0, int((ctx.now() - timer.started_at).total_seconds()))
