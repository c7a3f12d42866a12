"""HTTP throughput at concurrency 16: six scenarios against the real server, each as a share of the ceiling.

One `localsection serve` process on SQLite (durability normal), then on a fresh PostgreSQL database when one
answers at LOCALSECTION_TEST_POSTGRES_URL. The ceiling (bench/ceiling_app.py, same uvicorn settings) is measured
in the same run. Figures are printed, never asserted: see docs/performance.md for the targets.

Run: .venv/bin/python bench/bench_http.py   (BENCH_DURATION=8 seconds per scenario by default)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Request, Result, Server


def seed(server: Server) -> dict[str, object]:
    """One project of 500 tasks (plus 500 cost rows) through `localsection dev seed-bulk`."""
    out = harness.cli(server.env, "dev", "seed-bulk", "--account", server.account, "--tasks", "500",
                      "--projects", "1", "--costs", "500")
    return json.loads(out)  # type: ignore[no-any-return]


def scenarios(server: Server, data: dict[str, object]) -> list[tuple[str, Request]]:
    project = str(data["projects"][0])  # type: ignore[index]
    task = str(data["sample_task_ids"][0])  # type: ignore[index]
    return [
        ("auth only (get_task_custom_fields)", Request(harness.md5_url(server, {"action": "get_task_custom_fields"}))),
        ("get_task (md5 GET)", Request(harness.md5_url(server, {"action": "get_task", "id_task": task}))),
        ("get_tasks (500 tasks)", Request(harness.md5_url(server, {"action": "get_tasks", "id_project": project}))),
        ("search_tasks (filter)", Request(harness.md5_url(server, {
            "action": "search_tasks", "id_project": project, "filter": "name has 'alpha'"}))),
        ("post_comment (SDK POST)", harness.sdk_post(server, "post_comment", {
            "id_task": task, "text": "A benchmark comment"})),
        ("add_costs (SDK POST)", harness.sdk_post(server, "add_costs", {
            "id_task": task, "time": "0:10", "comment": "bench", "email_user_from": server.owner_email})),
    ]


def run_backend(kind: str, ceiling: float) -> list[Result]:
    results: list[Result] = []
    with harness.database(kind) as env:
        server = harness.start_server(env)
        try:
            data = seed(server)
            for name, req in scenarios(server, data):
                if req.method == "POST":  # fresh Admin header: the server accepts it for 300 s
                    action = req.url.rsplit("action=", 1)[1]
                    req.headers["Authorization"] = harness.admin_header(server, action)
                answer = harness.call(req)
                if answer.get("status") != "ok":
                    print(f"  {name:<34} not yet available: {answer.get('message')} "
                          f"{answer.get('message_details', '')}".rstrip())
                    continue
                result = harness.load(name, req)
                print(result.row(ceiling), flush=True)
                harness.record("http", db=kind, scenario=name, rps=result.rps, p50_ms=result.p50_ms,
                               p99_ms=result.p99_ms, errors=result.errors, ceiling=ceiling, tool=result.tool)
                results.append(result)
        finally:
            server.stop()
    return results


def main() -> None:
    print(f"bench_http · {harness.machine()}")
    print(harness.tool_line())
    url, proc = harness.start_ceiling()
    try:
        ceiling = harness.load("ceiling (bare ASGI, fixed JSON)", Request(url + "/"))
    finally:
        proc.terminate()
        proc.wait()
    print(ceiling.row(ceiling.rps))
    harness.record("http", db="", scenario="ceiling", rps=ceiling.rps, p50_ms=ceiling.p50_ms, p99_ms=ceiling.p99_ms,
                   errors=ceiling.errors, ceiling=ceiling.rps, tool=ceiling.tool)
    backends = ["sqlite"] + (["postgres"] if harness.postgres_available() else [])
    for kind in backends:
        print(f"-- {kind}: one server process" + (", durability normal" if kind == "sqlite" else ""), flush=True)
        results = run_backend(kind, ceiling.rps)
        targets(kind, results, ceiling)
    if "postgres" not in backends:
        print("-- postgres: skipped (no server answers at LOCALSECTION_TEST_POSTGRES_URL)")


def targets(kind: str, results: list[Result], ceiling: Result) -> None:
    """One line per target of issue 17 (docs/performance.md) this run measures: met or missed, with the figure.
    `make bench` repeats them, with the other scripts' targets, in bench/summary.py."""
    by_name = {r.name.split(" ")[0]: r for r in results}
    checks: list[tuple[str, bool]] = []
    if kind == "sqlite" and "get_task" in by_name:
        share = by_name["get_task"].rps / ceiling.rps
        checks.append((f"get_task >= 15% of the ceiling: {share:.1%}", share >= 0.15))
    if kind == "sqlite" and "get_tasks" in by_name:
        p99 = by_name["get_tasks"].p99_ms
        checks.append((f"get_tasks (500 tasks) p99 < 50 ms: {p99:.1f} ms", p99 < 50))
    if kind == "postgres":
        for action, floor in (("get_task", 1500), ("post_comment", 1000)):
            if action in by_name:
                r = by_name[action]
                checks.append((f"{action} >= {floor:,}/s, p99 < 50 ms: {r.rps:,.0f}/s, p99 {r.p99_ms:.1f} ms",
                               r.rps >= floor and r.p99_ms < 50))
    errors = sum(r.errors for r in results)
    checks.append((f"no errors: {errors}", errors == 0))
    for text, ok in checks:
        print(f"  target {'met   ' if ok else 'MISSED'} {text}")


if __name__ == "__main__":
    main()
