"""Benchmark of `localsection export` and `localsection import` on a large account (prints figures; not a test).

    .venv/bin/python bench/bench_transfer.py [--tasks 100000] [--costs 1000000] [--only sqlite|postgres]

For SQLite, and PostgreSQL when one answers at LOCALSECTION_TEST_POSTGRES_URL: bulk-loads an account with
`localsection dev seed-bulk` (COPY / executemany, not the API), then runs the real commands in child processes —
export to a file, import into a fresh store of the same kind — and prints rows/s, archive size and each child's
peak RSS (memory must stay flat: it does not grow with the account, rows are streamed in bounded chunks).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import _env, cli, database, machine, postgres_available

PY = sys.executable


def timed(env: dict[str, str], *args: str) -> tuple[float, int]:
    """Run `localsection ARGS`; (seconds, the child's peak RSS in MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([PY, "-m", "localsection", *args], env=_env(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"localsection {' '.join(args)} failed: {err}")
    return seconds, usage.ru_maxrss // 1024


def run(kind: str, tasks: int, costs: int) -> None:
    rows = tasks + costs
    with database(kind) as src, database(kind) as dst, tempfile.TemporaryDirectory() as tmp:
        cli(src, "accounts", "create", "bench", "--owner-email", "owner@bench.example.com")
        started = time.perf_counter()
        cli(src, "dev", "seed-bulk", "--account", "bench", "--tasks", str(tasks), "--costs", str(costs))
        seeded = time.perf_counter() - started
        archive = Path(tmp) / "bench.tar.zst"
        export_s, export_rss = timed(src, "export", "--account", "bench", "--output", str(archive))
        size = archive.stat().st_size / 1e6
        import_s, import_rss = timed(dst, "import", "--account", "bench", "--input", str(archive))
        print(f"{kind:9} {tasks:,} tasks + {costs:,} costs (seeded in {seeded:.0f} s)")
        print(f"  export  {export_s:6.1f} s  {rows / export_s:9,.0f} rows/s  archive {size:6.1f} MB "
              f"({size * 1e6 / rows:.0f} B/row)  peak RSS {export_rss} MB")
        print(f"  import  {import_s:6.1f} s  {rows / import_s:9,.0f} rows/s  "
              f"{' ' * 30}peak RSS {import_rss} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--costs", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    print(machine())
    kinds = [args.only] if args.only else ["sqlite"] + (["postgres"] if postgres_available() else [])
    for kind in kinds:
        run(kind, args.tasks, args.costs)


if __name__ == "__main__":
    main()
