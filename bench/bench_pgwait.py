"""CPU per short PostgreSQL query on the event loop: psycopg's AsyncConnection against pgwait.LoopConnection.

Eight connections on one loop, one task each, run the same short parameterised query again and again; the
process CPU time over the run divided by the queries gives microseconds of CPU per query for each connection
class, measured alternately in the same run (baseline first). LoopConnection also runs the query in its numbered
form through its reused raw cursor, the way db.Prepared runs on the loop. Prints figures, asserts nothing
(docs/performance.md, round two, last part).

Run: .venv/bin/python bench/bench_pgwait.py [--queries 8000] [--rounds 2]   (needs LOCALSECTION_TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

from localsection.pgwait import LoopConnection

NAMED = "SELECT t.a + 1, 'x', now(), 1.5::numeric FROM (SELECT %(a)s::int AS a, %(b)s::text AS b) t WHERE t.b = %(b)s"
NUMBERED = "SELECT t.a + 1, 'x', now(), 1.5::numeric FROM (SELECT $1::int AS a, $2::text AS b) t WHERE t.b = $2"
CONNECTIONS = 8


async def _stock(conn: psycopg.AsyncConnection[Any], n: int) -> None:
    for _ in range(n):
        cur = conn.cursor()
        await cur.execute(NAMED, {"a": 1, "b": "x"})
        await cur.fetchall()


async def _loop(conn: LoopConnection, n: int) -> None:
    cur = conn.raw_cursor()
    for _ in range(n):
        await cur.execute(NUMBERED, [1, "x"])
        await cur.fetchall()


async def measure(conninfo: str, kind: str, queries: int) -> float:
    """Microseconds of process CPU per query."""
    cls = LoopConnection if kind == "loop" else psycopg.AsyncConnection
    conns = [await cls.connect(conninfo, autocommit=True) for _ in range(CONNECTIONS)]
    run: Any = _loop if kind == "loop" else _stock
    try:
        await asyncio.gather(*(run(c, 50) for c in conns))  # warm: prepared statements, caches
        started = time.process_time()
        await asyncio.gather(*(run(c, queries // CONNECTIONS) for c in conns))
        return (time.process_time() - started) / queries * 1e6
    finally:
        for c in conns:
            await c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queries", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"bench_pgwait · {harness.machine()}")
    if not harness.postgres_available():
        print("-- skipped: no PostgreSQL answers at LOCALSECTION_TEST_POSTGRES_URL")
        return
    with harness.database("postgres") as env:
        url = make_url(env["LOCALSECTION_DATABASE_URL"]).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        for _ in range(args.rounds):
            stock = asyncio.run(measure(conninfo, "stock", args.queries))
            loop = asyncio.run(measure(conninfo, "loop", args.queries))
            print(f"  psycopg AsyncConnection (new cursor, named parameters) {stock:6.1f} us CPU/query | "
                  f"LoopConnection (raw cursor, numbered) {loop:6.1f} us | x{stock / loop:.2f}", flush=True)
            harness.record("pgwait", stock_us=stock, loop_us=loop, ratio=stock / loop)


if __name__ == "__main__":
    main()
