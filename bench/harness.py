"""Shared bench code: real server processes, fresh databases, request signing and the load generator.

The load generator is wrk (keep-alive, 2 threads, 16 connections; installed with apt-get when missing and we
are root). Without wrk a Python asyncio/httpx loader does the same job, more slowly: its figures say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG_URL = os.environ.get("LOCALSECTION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DURATION = float(os.environ.get("BENCH_DURATION", "8"))  # seconds measured per scenario
WARMUP = float(os.environ.get("BENCH_WARMUP", "1"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
ADMIN_PATH = "/api/admin/v2"


# -- results for bench/summary.py -------------------------------------------------------------------------

RESULTS = os.environ.get("LOCALSECTION_BENCH_RESULTS", "")  # a JSON-lines file `make bench` collects figures in


def record(bench: str, **figures: Any) -> None:
    """Append one set of measured figures to LOCALSECTION_BENCH_RESULTS (nothing when it is unset), for the
    met/missed summary that `make bench` ends with (bench/summary.py)."""
    if RESULTS:
        with open(RESULTS, "a", encoding="utf-8") as out:
            out.write(json.dumps({"bench": bench, **figures}) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    """One line naming the machine and the moment, quoted in docs/performance.md."""
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return (f"{now} · {os.cpu_count()} cores · Python {platform.python_version()} · {platform.system()} "
            f"{platform.release()} · load average {load:.1f} at start")


# -- databases ----------------------------------------------------------------------------------------

def postgres_available() -> bool:
    if os.environ.get("LOCALSECTION_TEST_SKIP_POSTGRES"):
        return False
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


@contextlib.contextmanager
def database(kind: str) -> Iterator[dict[str, str]]:
    """Environment for a server on a fresh store: a new SQLite data folder, or a new PostgreSQL database."""
    import psycopg

    data_dir = Path(tempfile.mkdtemp(prefix=f"ls-bench-{kind}-"))
    env = {"LOCALSECTION_DATA_DIR": str(data_dir), "LOCALSECTION_DURABILITY": "normal",
           "LOCALSECTION_LOG_LEVEL": "warning"}
    dbname = ""
    if kind == "postgres":
        dbname = f"ls_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        env["LOCALSECTION_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/" + dbname
    try:
        yield env
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if dbname:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# -- processes ----------------------------------------------------------------------------------------

def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LOCALSECTION_DATABASE_URL"}
    return {**env, "LOCALSECTION_HOST": "127.0.0.1", "LOCALSECTION_ALLOW_PRIVATE_WEBHOOKS": "1", **extra}


def cli(env: dict[str, str], *args: str) -> str:
    """Run `localsection ARGS` on the same store as the server; returns stdout."""
    out = subprocess.run([PY, "-m", "localsection", *args], env=_env(env), check=True, capture_output=True,
                         text=True, timeout=1800)
    return out.stdout


@dataclasses.dataclass
class Server:
    url: str
    api_key: str
    owner_email: str
    account: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_ready(url: str, proc: subprocess.Popen[bytes], path: str = "/readyz", timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{url} did not become ready")


def start_server(env: dict[str, str], port: int | None = None) -> Server:
    """`localsection init` then `localsection serve` (one process) on a free port."""
    port = port or free_port()
    env = {**env, "LOCALSECTION_PORT": str(port)}
    creds = json.loads(cli(env, "init", "--json"))
    proc = subprocess.Popen([PY, "-m", "localsection", "serve"], env=_env(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    return Server(url, creds["api_key"], creds["owner"]["email"], creds["account"], proc, env)


def start_ceiling() -> tuple[str, subprocess.Popen[bytes]]:
    """The bare ASGI app of ceiling_app.py under the same uvicorn settings."""
    port = free_port()
    proc = subprocess.Popen([PY, str(ROOT / "bench" / "ceiling_app.py"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc, path="/")
    return url, proc


# -- signing ------------------------------------------------------------------------------------------

def md5_url(server: Server, params: dict[str, str]) -> str:
    """A GET URL signed with the md5 `hash` of its own query string (static, so wrk can replay it)."""
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    digest = hashlib.md5((query + server.api_key).encode()).hexdigest()
    return f"{server.url}{ADMIN_PATH}?{query}&hash={digest}"


def admin_header(server: Server, action: str) -> str:
    """`Authorization: Admin <t>_<hmac>` as the SDK builds it; valid for the server's 300 s window."""
    t = int(time.time())
    sig = hmac.new(server.api_key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
    return f"Admin {t}_{sig}"


@dataclasses.dataclass
class Request:
    """One request replayed by every connection of the load generator."""

    url: str
    method: str = "GET"
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def sdk_post(server: Server, action: str, params: dict[str, Any]) -> Request:
    """A POST like the official SDK sends: action in the query, JSON body, Admin header."""
    return Request(f"{server.url}{ADMIN_PATH}?action={action}", "POST", json.dumps(params).encode(),
                   {"Content-Type": "application/json", "Authorization": admin_header(server, action)})


def call(req: Request) -> dict[str, Any]:
    """Send the request once; the decoded JSON answer."""
    resp = httpx.request(req.method, req.url, content=req.body or None, headers=req.headers, timeout=60)
    return resp.json()  # type: ignore[no-any-return]


# -- load ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str

    def row(self, ceiling: float | None) -> str:
        ratio = f"{self.rps / ceiling:6.1%}" if ceiling else "     -"
        return (f"  {self.name:<34} {self.rps:9,.0f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
                f"  errors {self.errors:<5} ceiling {ratio}")


_WRK: str | None = None


def wrk_path() -> str | None:
    """wrk, installing the Debian package when it is missing and we are root."""
    global _WRK
    if _WRK is None:
        found = shutil.which("wrk")
        if not found and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=600,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            found = shutil.which("wrk")
        _WRK = found or ""
    return _WRK or None


_LUA = r"""
wrk.method = [==[%(method)s]==]
%(body)s
%(headers)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) app_errors = 0 end
function response(status, headers, body)
  if string.sub(body, 1, 14) ~= '{"status":"ok"' then app_errors = app_errors + 1 end
end
function done(summary, latency, requests)
  local app = 0
  for _, t in ipairs(threads) do app = app + t:get("app_errors") end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"app_errors": %%d, "socket_errors": %%d, "status_errors": %%d}\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), app, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def _lua(req: Request) -> str:
    body = f"wrk.body = [==[{req.body.decode()}]==]" if req.body else ""
    headers = "\n".join(f"wrk.headers[ [==[{k}]==] ] = [==[{v}]==]" for k, v in req.headers.items())
    return _LUA % {"method": req.method, "body": body, "headers": headers}


def _wrk(wrk: str, name: str, req: Request, duration: float, concurrency: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_lua(req))
        script = fh.name
    try:
        threads = str(min(2, concurrency))
        base = [wrk, "-t", threads, "-c", str(concurrency), "--timeout", "10s", "-s", script]
        if WARMUP > 0:
            subprocess.run([*base, "-d", f"{WARMUP:g}s", req.url], capture_output=True, timeout=120)
        out = subprocess.run([*base, "-d", f"{duration:g}s", req.url], capture_output=True, text=True,
                             timeout=duration + 120).stdout
    finally:
        os.unlink(script)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError("wrk printed no summary:\n" + out)
    d = json.loads(line[8:])
    errors = d["app_errors"] + d["socket_errors"]
    return Result(name, d["requests"], d["requests"] / (d["duration_us"] / 1e6), d["p50_us"] / 1000,
                  d["p99_us"] / 1000, errors, "wrk")


async def _py_load(req: Request, duration: float, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    resp = await client.request(req.method, req.url, content=req.body or None, headers=req.headers)
                    if not resp.content.startswith(b'{"status":"ok"'):
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def _python(name: str, req: Request, duration: float, concurrency: int) -> Result:
    if WARMUP > 0:
        asyncio.run(_py_load(req, WARMUP, concurrency))
    started = time.perf_counter()
    latencies, errors = asyncio.run(_py_load(req, duration, concurrency))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(name, len(latencies), len(latencies) / elapsed, q[49] * 1000, q[98] * 1000, errors, "python")


def load(name: str, req: Request, duration: float = DURATION, concurrency: int = CONCURRENCY) -> Result:
    """Replay `req` on `concurrency` keep-alive connections for `duration` seconds (after a short warm-up)."""
    wrk = wrk_path()
    if wrk:
        return _wrk(wrk, name, req, duration, concurrency)
    return _python(name, req, duration, concurrency)


def tool_line() -> str:
    wrk = wrk_path()
    if wrk:
        return f"load generator: wrk ({wrk}), {min(2, CONCURRENCY)} threads, {CONCURRENCY} keep-alive connections"
    return (f"load generator: Python asyncio/httpx, {CONCURRENCY} connections (wrk unavailable; this loader "
            "shares the CPU with the server and understates throughput)")


def on_both_databases(run: Any, database: str, *, postgres: bool = True) -> None:
    """`run(label, settings)` on SQLite in a temporary data dir, then (unless `postgres` is False) on a temporary
    PostgreSQL database named after `database`; both with durability normal, as the in-process benches measure."""
    from localsection.config import Settings
    from localsection.dev import temporary_postgres_database

    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", Settings(data_dir=Path(tmp) / "sqlite", durability="normal"))
        if not postgres:
            return
        with temporary_postgres_database(PG_URL, database) as url:
            if url is None:
                print("[postgres] not reachable; skipped")
            else:
                run("postgres", Settings(data_dir=Path(tmp) / "pg", database_url=url, durability="normal"))


# -- CPU time (from /proc): where a request's CPU goes, and how busy the whole machine was --------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of the whole line)


def postgres_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving `database` (their command line names it): other databases' work on a
    shared server is not ours. PostgreSQL's own writers (WAL, checkpoints) are counted with "everything else"."""
    if not database:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres" and \
                        f" {database} ".encode() in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def box_seconds() -> float:
    """CPU seconds spent by the whole machine, all cores, anything but idle (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK
