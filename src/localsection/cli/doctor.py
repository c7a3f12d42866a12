"""`localsection doctor`: check a deployment and say what to fix — one line per check, `ok`, `warn` or `fail`.

Exit status 0 when nothing failed (warnings included), 1 when a check failed, 2 for bad usage or a setting that
does not parse. It changes nothing: no database is created, migrated or written, no file or directory is made.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from localsection.bootstrap import MIGRATIONS
from localsection.cli.common import load_settings, one_line
from localsection.config import Settings, env_name

OK, WARN, FAIL = "ok", "warn", "fail"
DISK_FAIL_BYTES = 512 * 1024**2  # below this the next upload or WAL checkpoint may fail
DISK_WARN_BYTES = 2 * 1024**3
DISK_WARN_FRACTION = 0.05
CLOCK_WARN_SECONDS = 2.0  # app and database clocks date every row; tokens and codes expire by them
CLOCK_FAIL_SECONDS = 60.0
SENSITIVE_FILES = ("credentials.json", "oauth_signing_key.pem", "localsection.db", "localsection.db-wal",
                   "localsection.db-shm")


@dataclass
class Check:
    name: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<10}  {self.message}" + (f" — fix: {self.fix}" if self.fix else "")


def local_now() -> float:
    """This machine's clock (a function, so tests can skew it)."""
    return time.time()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _is_sqlite(settings: Settings) -> bool:
    return settings.effective_database_url.startswith("sqlite")


def _sqlite_file(settings: Settings) -> Path | None:
    database = make_url(settings.effective_database_url).database
    return Path(database).resolve() if database and database != ":memory:" else None


def check_data_dir(settings: Settings) -> Iterator[Check]:
    path = settings.data_dir.resolve()
    var = env_name("data_dir")
    if not path.exists():
        yield Check("data dir", FAIL, f"{path} does not exist",
                    f"run `localsection db upgrade` (it creates it, mode 0700) or set {var}")
        return
    if not path.is_dir():
        yield Check("data dir", FAIL, f"{path} is not a directory", f"set {var} to a directory")
        return
    mode = _mode(path)
    if mode & 0o077:
        yield Check("data dir", FAIL, f"{path} has mode {mode:04o}: other users can look inside (it holds the "
                    "signing key, uploaded files and the SQLite database)", f"chmod 700 {path}")
    elif not os.access(path, os.W_OK | os.X_OK):
        yield Check("data dir", FAIL, f"{path} is not writable by this user", "chown it to the service's user")
    elif path.stat().st_uid != os.geteuid():
        yield Check("data dir", WARN, f"{path} belongs to uid {path.stat().st_uid}, not to this user "
                    f"({os.geteuid()})", "run doctor as the service's user, or chown the directory to it")
    else:
        yield Check("data dir", OK, f"{path}, mode {mode:04o}")
    for name in SENSITIVE_FILES:
        file = path / name
        if file.exists() and _mode(file) & 0o077:
            yield Check("data dir", FAIL, f"{file} has mode {_mode(file):04o}: other users can read it",
                        f"chmod 600 {file}")


def check_signing_key(settings: Settings) -> Iterator[Check]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    var = env_name("oauth_private_key_file")
    configured = bool(settings.oauth_private_key_file)
    path = Path(settings.oauth_private_key_file or settings.data_dir / "oauth_signing_key.pem").resolve()
    if not path.exists():
        if configured:
            yield Check("key", FAIL, f"{var}={path}: no such file",
                        f"create it (openssl genrsa -out {path} 2048; chmod 600 {path}) or unset {var}")
        else:
            yield Check("key", WARN, f"no OAuth2 signing key yet at {path}",
                        "`localsection serve` makes one at its first start; with several app hosts, give them all "
                        f"one key file ({var})")
        return
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        yield Check("key", FAIL, f"{path} cannot be read ({exc.strerror})", "make it readable by the service's user")
        return
    except (ValueError, TypeError) as exc:
        yield Check("key", FAIL, f"{path} is not a PEM private key without a password ({one_line(exc)})",
                    "point the setting at the PEM file of an RSA private key")
        return
    if not isinstance(key, rsa.RSAPrivateKey):
        yield Check("key", FAIL, f"{path} is not an RSA key", "generate one: openssl genrsa -out key.pem 2048")
        return
    mode = _mode(path)
    if mode & 0o077:
        yield Check("key", FAIL, f"{path} has mode {mode:04o}: other users can read the key that signs every "
                    "access token", f"chmod 600 {path}")
        return
    shared = "" if configured or _is_sqlite(settings) else f" (several app hosts must share one key: {var})"
    yield Check("key", OK, f"RSA {key.key_size}-bit key at {path}, mode {mode:04o}{shared}")


def _connect(settings: Settings) -> tuple[Connection | None, Check]:
    """A connection (None when it failed) and the database check's line. Never creates a database."""
    url = settings.effective_database_url
    if _is_sqlite(settings):
        path = _sqlite_file(settings)
        if path is None or not path.exists():
            return None, Check("database", FAIL, f"no SQLite database at {path}",
                               "run `localsection db upgrade` (or start `localsection serve`, which migrates)")
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=NullPool)
        where = f"SQLite at {path}"
    else:
        engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
        parts = make_url(url)
        where = f"PostgreSQL at {parts.host or 'localhost'}:{parts.port or 5432}/{parts.database}"
    started = time.perf_counter()
    try:
        conn = engine.connect()
        version = conn.execute(text("SELECT sqlite_version()" if _is_sqlite(settings) else "SHOW server_version"))
        shown = version.scalar()
    except Exception as exc:
        reason = one_line(getattr(exc, "orig", None) or exc)
        return None, Check("database", FAIL, f"{where} does not answer: {reason}",
                           f"start the database, or fix {env_name('database_url')}")
    ms = (time.perf_counter() - started) * 1000
    return conn, Check("database", OK, f"{where} answers (version {shown}, {ms:.0f} ms)")


def check_migrations(conn: Connection) -> Check:
    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    current = set(MigrationContext.configure(conn).get_current_heads())
    shown = ", ".join(sorted(current)) or "none"
    if current == heads:
        return Check("migrations", OK, f"at head ({shown})")
    script = ScriptDirectory(str(MIGRATIONS))
    known = all(script.get_revision(rev) is not None for rev in current) if current else True
    if not known:
        return Check("migrations", FAIL, f"the database is at {shown}, which this version does not know (a newer "
                     "version migrated it)", "run the newer version, or restore a backup made before the upgrade")
    return Check("migrations", FAIL, f"the database is at {shown}, this version needs {', '.join(sorted(heads))}",
                 "run `localsection db upgrade` once, before starting the servers")


def check_clock(settings: Settings, conn: Connection | None) -> Check:
    now = local_now()
    if now < 1_700_000_000:  # before November 2023: a machine that never set its clock
        return Check("clock", FAIL, f"this machine's clock says {time.strftime('%Y-%m-%d', time.gmtime(now))}",
                     "enable time synchronisation (NTP, e.g. systemd-timesyncd or chrony)")
    if settings.clock_offset:
        return Check("clock", WARN, f"{env_name('clock_offset')}={settings.clock_offset:g} moves the server's clock "
                     "(tests only)", f"unset {env_name('clock_offset')}")
    if conn is None or _is_sqlite(settings):
        return Check("clock", OK, "this machine's clock looks sane (SQLite: no database server to compare with)")
    started = local_now()
    server = conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")).scalar()
    skew = float(server) - (started + local_now()) / 2  # type: ignore[arg-type]
    line = f"this machine and PostgreSQL differ by {skew:+.1f} s"
    fix = "synchronise both clocks (NTP); token expiry, retries and every stored date follow them"
    if abs(skew) > CLOCK_FAIL_SECONDS:
        return Check("clock", FAIL, line, fix)
    if abs(skew) > CLOCK_WARN_SECONDS:
        return Check("clock", WARN, line, fix)
    return Check("clock", OK, line)


def disk_usage(path: Path) -> tuple[int, int]:
    """(total, free) bytes of the file system holding `path` (a function, so tests can fill the disk)."""
    usage = shutil.disk_usage(path)
    return usage.total, usage.free


def check_disk(settings: Settings) -> Check:
    path = settings.data_dir.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    total, free = disk_usage(path)
    line = f"{free / 1024**3:.1f} GiB free of {total / 1024**3:.1f} GiB at {path}"
    fix = "free space or move the data directory to a larger disk"
    if free < DISK_FAIL_BYTES:
        return Check("disk", FAIL, line, fix)
    if free < DISK_WARN_BYTES or (total and free / total < DISK_WARN_FRACTION):
        return Check("disk", WARN, line, fix)
    return Check("disk", OK, line)


def check_sqlite(settings: Settings) -> Iterator[Check]:
    path = _sqlite_file(settings)
    if path is None or not path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        yield Check("sqlite", FAIL, f"cannot read {path}: {exc}", "check the file's owner and permissions")
        return
    if mode != "wal":
        yield Check("sqlite", WARN, f"journal_mode={mode}: readers wait for writers",
                    "start `localsection serve` once (it switches the file to WAL)")
    elif settings.durability == "normal":
        yield Check("sqlite", WARN, "journal_mode=wal, synchronous=NORMAL: a machine crash can lose the last "
                    "commits", f"{env_name('durability')}=full, unless that trade is intended")
    else:
        yield Check("sqlite", OK, "journal_mode=wal, synchronous=FULL")


def _redis_where(url: str) -> str:
    """Where a Redis URL points, without its user name or password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"Redis at {parts.path}"
    return f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


def check_redis(settings: Settings) -> Iterator[Check]:
    """The shared store: answers, runs the Lua scripts the counters are, and its version. Without a URL, a note
    where several processes can run (PostgreSQL): each process then counts its limits on its own."""
    import redis

    var = env_name("redis_url")
    if not settings.redis_url:
        if not _is_sqlite(settings):
            yield Check("redis", OK, f"not set: each server process counts rate limits and sign-in attempts on its "
                        f"own; with several processes, set {var} to share them")
        return
    where = _redis_where(settings.redis_url)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
    started = time.perf_counter()
    try:
        client.ping()
        if client.eval("return 1", 0) != 1:
            raise redis.RedisError("a Lua script did not run")
        version = client.info("server").get("redis_version", "?")
    except redis.RedisError as exc:
        yield Check("redis", FAIL, f"{where} does not answer as the shared store: {one_line(exc)} (the servers fall "
                    "back to per-process limits, looser by the number of processes)",
                    f"start Redis, or fix {var} (its password, database and ACL must allow PING and EVAL)")
        return
    finally:
        client.close()
    ms = (time.perf_counter() - started) * 1000
    yield Check("redis", OK, f"{where} answers (version {version}, {ms:.0f} ms); rate limits and sign-in attempts "
                f"are counted there under the prefix {settings.redis_prefix!r}")


def _public(settings: Settings) -> bool:
    """Whether the server listens beyond this machine (or announces a public URL)."""
    try:
        if not ipaddress.ip_address(settings.host).is_loopback:
            return True
    except ValueError:
        if settings.host != "localhost":
            return True
    host = make_url_host(settings.public_url)
    return bool(host) and host not in ("localhost", "127.0.0.1", "::1")


def make_url_host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url.replace("{account}", "account")).hostname or "") if url else ""


def _wide(trusted: str) -> list[str]:
    wide = []
    for item in (p.strip() for p in trusted.split(",") if p.strip()):
        net = ipaddress.ip_network(item, strict=False)
        if net.prefixlen < (8 if net.version == 4 else 32):
            wide.append(item)
    return wide


def check_exposure(settings: Settings) -> Iterator[Check]:
    public = _public(settings)
    where = f"listening on {settings.host}" + (f", public URL {settings.public_url}" if settings.public_url else "")
    risky: list[Check] = []
    if settings.emulator:
        risky.append(Check("exposure", FAIL if public else WARN, f"the emulator's control API is on ({where}): "
                           "anyone who reaches it can create, reset and delete accounts",
                           f"unset {env_name('emulator')} (and drop --emulator) on a shared server"))
    if settings.unsafe_test_clock:
        risky.append(Check("exposure", FAIL if public else WARN, f"{env_name('unsafe_test_clock')} is on: anyone can "
                           "move the server's clock", f"unset {env_name('unsafe_test_clock')}"))
    if settings.metrics == "on" and _wide(settings.trusted_proxies):
        risky.append(Check("exposure", WARN, f"/metrics is served to {', '.join(_wide(settings.trusted_proxies))} "
                           f"({env_name('trusted_proxies')})", f"narrow the proxies, or {env_name('metrics')}=token"))
    if public and settings.metrics == "on":
        risky.append(Check("exposure", OK, "/metrics answers loopback and the trusted proxies only "
                           f"({env_name('metrics')}=on); a scraper on another host needs {env_name('metrics')}=token"))
    if public and settings.legacy_md5:
        risky.append(Check("exposure", WARN, f"{env_name('legacy_md5')} is on: the old md5(page + action + key) "
                           "signature signs no parameters (docs/security.md)",
                           f"{env_name('legacy_md5')}=0 once no old client needs it"))
    if public and settings.allow_private_webhooks:
        risky.append(Check("exposure", WARN, f"{env_name('allow_private_webhooks')} is on: webhooks can reach this "
                           "network's private addresses", f"unset {env_name('allow_private_webhooks')}"))
    yield from risky or [Check("exposure", OK, f"no risky setting ({where})")]


def run_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = [*check_data_dir(settings), *check_signing_key(settings)]
    conn, reached = _connect(settings)
    checks.append(reached)
    try:
        if conn is not None:
            try:
                checks.append(check_migrations(conn))
            except Exception as exc:
                checks.append(Check("migrations", FAIL, f"cannot read the revision: {one_line(exc)}",
                                    "run `localsection db upgrade`"))
        checks.append(_guarded("clock", lambda: check_clock(settings, conn)))
    finally:
        if conn is not None:
            conn.close()
    checks.append(_guarded("disk", lambda: check_disk(settings)))
    if _is_sqlite(settings):
        checks += check_sqlite(settings)
    try:
        checks += check_redis(settings)
    except Exception as exc:
        checks.append(Check("redis", FAIL, f"the check itself failed: {one_line(exc)}"))
    checks += check_exposure(settings)
    return checks


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:
        return Check(name, FAIL, f"the check itself failed: {one_line(exc)}")


def doctor(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check this deployment: database reachable and migrated, data dir and key file private, clock, free disk,
    SQLite mode, the shared store (Redis), risky settings. One line per check (ok/warn/fail) with what to fix;
    exit 1 when one failed."""
    checks = run_checks(load_settings())
    failed = any(c.status == FAIL for c in checks)
    if json_out:
        typer.echo(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}))
    else:
        for check in checks:
            typer.echo(check.line())
    raise typer.Exit(1 if failed else 0)
