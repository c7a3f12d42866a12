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
    backends = ["sqlite"] + (["postgres"] if harness.postgres_available() else [])
    for kind in backends:
        print(f"-- {kind}: one server process" + (", durability normal" if kind == "sqlite" else ""), flush=True)
        results = run_backend(kind, ceiling.rps)
        targets(kind, results, ceiling)
    if "postgres" not in backends:
        print("-- postgres: skipped (no server answers at LOCALSECTION_TEST_POSTGRES_URL)")


def targets(kind: str, results: list[Result], ceiling: Result) -> None:
    """One line per target of docs/performance.md: met or missed, with the figure."""
    by_name = {r.name.split(" ")[0]: r for r in results}
    checks: list[tuple[str, bool]] = []
    if "get_task" in by_name:
        share = by_name["get_task"].rps / ceiling.rps
        checks.append((f"get_task >= 30% of the ceiling: {share:.0%}", share >= 0.30))
    if kind == "sqlite" and "post_comment" in by_name:
        rps = by_name["post_comment"].rps
        checks.append((f"post_comment >= 1,000/s on SQLite: {rps:,.0f}/s", rps >= 1000))
    worst = max(results, key=lambda r: r.p99_ms, default=None)
    if worst is not None:
        checks.append((f"p99 < 50 ms in every scenario: worst {worst.p99_ms:.1f} ms ({worst.name})",
                       worst.p99_ms < 50))
    errors = sum(r.errors for r in results)
    checks.append((f"no errors: {errors}", errors == 0))
    for text, ok in checks:
        print(f"  target {'met   ' if ok else 'MISSED'} {text}")


if __name__ == "__main__":
    main()
