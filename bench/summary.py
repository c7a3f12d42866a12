"""Issue 17's targets, met or missed, from the figures the bench scripts of one `make bench` run recorded.

    LOCALSECTION_BENCH_RESULTS=/tmp/r.jsonl .venv/bin/python bench/bench_http.py   # ... every bench script, then
    .venv/bin/python bench/summary.py /tmp/r.jsonl

Each script appends its figures to the JSON-lines file named by LOCALSECTION_BENCH_RESULTS (harness.record); the
Makefile's bench target sets it and ends with this summary. Ratios are taken inside one run: the ceiling (bare
ASGI app) and the bare SQL + JSON baselines were measured by the same scripts, on the same machine, minutes apart.
A target whose figure was not measured (PostgreSQL absent, a script left out) says so instead of met or missed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Figures = list[dict[str, Any]]


def load(path: Path) -> Figures:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def find(figures: Figures, **match: Any) -> dict[str, Any] | None:
    """The last figure set whose fields equal the given values (a scenario by its first word: the action)."""
    found = None
    for f in figures:
        if all(str(f.get(k, "")).split(" ")[0] == v if k == "scenario" else f.get(k) == v
               for k, v in match.items()):
            found = f
    return found


class Report:
    def __init__(self) -> None:
        self.met = self.missed = self.unmeasured = 0

    def line(self, target: str, figure: dict[str, Any] | None, ok: Callable[[dict[str, Any]], bool],
             shown: Callable[[dict[str, Any]], str]) -> None:
        if figure is None:
            self.unmeasured += 1
            print(f"  not measured  {target}")
            return
        passed = ok(figure)
        self.met += passed
        self.missed += not passed
        print(f"  {'met         ' if passed else 'MISSED      '}  {target}: {shown(figure)}")


def summarize(figures: Figures) -> Report:
    r = Report()
    ceiling = find(figures, bench="http", scenario="ceiling")
    if ceiling is not None:
        print(f"ceiling (bare ASGI app, same uvicorn options, this run): {ceiling['rps']:,.0f} req/s "
              f"(load: {ceiling.get('tool', '?')})")

    def http(db: str, scenario: str) -> dict[str, Any] | None:
        return find(figures, bench="http", db=db, scenario=scenario)

    def rate(f: dict[str, Any]) -> str:
        return (f"{f['rps']:,.0f} req/s, p99 {f['p99_ms']:.1f} ms "
                f"({f['rps'] / f['ceiling']:.1%} of the ceiling)")

    print("-- PostgreSQL, one server process, 16 connections")
    r.line("get_task >= 1,500 req/s, p99 < 50 ms", http("postgres", "get_task"),
           lambda f: f["rps"] >= 1500 and f["p99_ms"] < 50, rate)
    r.line("post_comment >= 1,000/s, p99 < 50 ms", http("postgres", "post_comment"),
           lambda f: f["rps"] >= 1000 and f["p99_ms"] < 50, rate)
    def scaled(f: dict[str, Any]) -> str:
        shown = f"x{f['two'] / f['one']:.2f} ({f['one']:,.0f} -> {f['two']:,.0f} req/s)"
        if "busy_one" in f:
            shown += (f"; one process kept the machine {f['busy_one']:.0%} busy ({f['cores']} cores), "
                      f"CPU per request {f['cpu_us_one']:,.0f} -> {f['cpu_us_two']:,.0f} us")
        return shown

    for scenario in ("get_task", "post_comment"):
        r.line(f"{scenario}: 2 processes >= 1.8x one", find(figures, bench="scaleout", scenario=scenario),
               lambda f: f["two"] >= 1.8 * f["one"], scaled)
    machine = find(figures, bench="scaleout", scenario="ceiling")
    if machine is not None:
        # Not a target: what a second process adds to an app that does no work, on this machine, in this run.
        print(f"                the machine's own limit: the bare ceiling app, 2 processes {scaled(machine)}")

    print("-- task lists")
    r.line("SQLite get_tasks (500 tasks) p99 < 50 ms at 16 connections", http("sqlite", "get_tasks"),
           lambda f: f["p99_ms"] < 50, rate)
    for db in ("sqlite", "postgres"):
        r.line(f"{db}: get_all_tasks (100,000 tasks) <= 2x the bare SQL + JSON work",
               find(figures, bench="tasks", db=db, measure="get_all_tasks"), lambda f: f["ratio"] <= 2.0,
               lambda f: f"x{f['ratio']:.2f} ({f['api_ms']:,.0f} ms against {f['raw_ms']:,.0f} ms, "
                         f"{f['tasks']:,} tasks)")

    print("-- get_task toward the floor (SQLite)")
    r.line("get_task (md5 GET) >= 15% of the ceiling", http("sqlite", "get_task"),
           lambda f: f["rps"] >= 0.15 * f["ceiling"], rate)
    inproc = find(figures, bench="inprocess", scenario="get_task")
    if inproc is not None:
        print(f"                in-process: {inproc['us']:.0f} us and {inproc['calls']:.0f} Python calls per "
              f"request, x{inproc['ratio']:.1f} the bare SQL + JSON work ({inproc['baseline']:.0f} us)")

    print("-- search_tasks")
    for db in ("sqlite", "postgres"):
        def search(name: str, db: str = db) -> dict[str, Any] | None:
            return find(figures, bench="tasks", db=db, measure="search", filter=name)

        bare = find(figures, bench="tasks", db=db, measure="get_all_tasks")

        def timing(f: dict[str, Any], bare: dict[str, Any] | None = bare) -> str:
            shown = f"p50 {f['p50_ms']:,.1f} ms ({f['result']:,} results of {f['tasks']:,} tasks)"
            if bare is not None and f["result"] >= 1000:
                # What the answer's size alone costs: get_all_tasks' bare SQL + JSON work per task, this run.
                floor = bare["raw_ms"] / bare["tasks"] * f["result"]
                shown += f"; the bare SQL + JSON work for that many tasks alone: {floor:,.0f} ms"
            return shown

        r.line(f"{db}: `project =` p50 < 500 ms", search("project ="), lambda f: f["p50_ms"] < 500, timing)
        for name in ("id in (10 ids)", "date range (7 days)"):
            r.line(f"{db}: indexed `{name}` p50 < 20 ms", search(name), lambda f: f["p50_ms"] < 20, timing)

    print("-- no correctness cost under load")
    http_runs = [f for f in figures if f.get("bench") in ("http", "scaleout")]
    r.line("no errors in any HTTP scenario", {"errors": sum(f["errors"] for f in http_runs)} if http_runs else None,
           lambda f: f["errors"] == 0, lambda f: f"{f['errors']} errors")
    print(f"== {r.met} met, {r.missed} missed, {r.unmeasured} not measured")
    return r


def main() -> None:
    if len(sys.argv) != 2:
        print("usage: summary.py RESULTS.jsonl", file=sys.stderr)
        raise SystemExit(2)
    figures = load(Path(sys.argv[1]))
    print(f"issue 17 targets · {len(figures)} figures from {sys.argv[1]}")
    summarize(figures)


if __name__ == "__main__":
    main()
