"""Benchmark of the web app's report page over a large costs table (prints figures; not a test).

    .venv/bin/python bench/bench_report_page.py [--rows 100000] [--repeat 5] [--no-postgres]

Fills a temporary SQLite database (and a temporary PostgreSQL database when one answers at
LOCALSECTION_TEST_POSTGRES_URL) with cost rows (bench_costs.fill: 50 projects, 5,000 tasks, one year of dates),
signs in as the owner and prints, through the in-process app, p50 server time of `/reports` for the whole year
(three tables and three SVG charts), of `/reports/export.csv`, and, measured in the same run as the baseline,
the API's get_costs_total (plain, and with extra=projects: its per-project monthly sums).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import sys
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_costs import fill, p50
from harness import on_both_databases

from localsection import bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.state import AppState

YEAR = "start=2024-01-01&end=2024-12-31"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def sign_in(client: TestClient, host: str) -> None:
    page = client.get("/login", headers={"Host": host})
    token = _CSRF.search(page.text)
    assert token is not None
    resp = client.post("/login", data={"email": "owner@bench.example.com", "password": "bench-pass-1",
                                       "csrf": token.group(1)}, headers={"Host": host}, follow_redirects=False)
    assert resp.status_code == 303, resp.text[:300]


def run(label: str, settings: Settings, rows: int, repeat: int) -> None:
    state = AppState(settings, Database(settings))
    bootstrap.upgrade(state.db)
    started = time.perf_counter()
    name, key, _ = fill(state, rows)
    print(f"[{label}] inserted {rows:,} cost rows in {time.perf_counter() - started:.1f} s")
    host = f"{name}.localhost"
    with TestClient(create_app(state=state), base_url="http://testserver") as client:
        def call(action: str, **params: Any) -> dict[str, Any]:
            t = int(time.time())
            sig = hmac.new(key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
            resp = client.post(f"/api/admin/v2?action={action}", json=params or None,
                               headers={"Host": host, "Authorization": f"Admin {t}_{sig}"})
            body: dict[str, Any] = resp.json()
            assert body["status"] == "ok", body
            return body

        def page(path: str) -> str:
            resp = client.get(path, headers={"Host": host})
            assert resp.status_code == 200, resp.text[:300]
            return resp.text

        sign_in(client, host)
        api_plain = p50(lambda: call("get_costs_total", datestart="2024-01-01", dateend="2024-12-31"), repeat)
        api_projects = p50(lambda: call("get_costs_total", datestart="2024-01-01", dateend="2024-12-31",
                                        extra="projects"), repeat)
        report = p50(lambda: page(f"/reports?{YEAR}"), repeat)
        csv_export = p50(lambda: page(f"/reports/export.csv?{YEAR}"), repeat)
        total = call("get_costs_total", datestart="2024-01-01", dateend="2024-12-31")["total"]
        shown = page(f"/reports?{YEAR}")
        assert f"<strong>{total['time']}</strong>" in shown, "the report's total differs from the API's"
        lines = page(f"/reports/export.csv?{YEAR}").count("\n") - 1
        print(f"[{label}] get_costs_total (baseline): p50 {api_plain * 1000:8.1f} ms | with extra=projects "
              f"{api_projects * 1000:8.1f} ms | total {total}")
        print(f"[{label}] /reports (3 tables, 3 charts):  p50 {report * 1000:8.1f} ms | ratio to extra=projects "
              f"{report / api_projects:5.2f} | to plain {report / api_plain:5.2f}")
        print(f"[{label}] /reports/export.csv ({lines:,} rows): p50 {csv_export * 1000:8.1f} ms")
    state.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    on_both_databases(lambda label, settings: run(label, settings, args.rows, args.repeat), "ls_bench_report",
                      postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
