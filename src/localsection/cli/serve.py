"""`localsection serve`: bind the port, migrate, print the credentials once serving, run uvicorn."""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import socket
import sys
import threading
import time
from typing import Any

import typer

from localsection import bootstrap
from localsection.cli.common import account_url, load_settings, open_db
from localsection.config import ConfigError, Settings, env_name
from localsection.observe.accesslog import log_config


def _listen(settings: Settings) -> socket.socket:
    """Bind the listening socket now, so a taken port is one clear error and `--port 0` gets its real port."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says TCP, and an
    # answer written in two parts (head, body) otherwise waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        where = f"{settings.host}:{settings.port}"
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {settings.port} is already in use on {settings.host}: stop the other server "
                              f"or choose another port (--port or {env_name('port')})") from None
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {where} ({reason}): fix --host/--port or {env_name('host')}/"
                          f"{env_name('port')}") from None
    sock.set_inheritable(True)
    return sock


def _banner(creds: bootstrap.Credentials) -> None:
    typer.echo("localsection is serving the Worksection API and its web app")
    typer.echo(f"  URL:            {creds.url}")
    typer.echo(f"  account:        {creds.account}")
    typer.echo(f"  admin API key:  {creds.api_key}")
    typer.echo(f"  owner e-mail:   {creds.owner_email}")
    shown = creds.owner_password or "(changed since it was generated)"
    typer.echo(f"  owner password: {shown}")
    typer.echo("  web app:        open the URL in a browser and sign in with the owner e-mail and password")
    sys.stdout.flush()


def _announce_when(ready: Any, give_up: Any, creds: bootstrap.Credentials) -> None:
    """Print the banner once `ready()` is true (the server accepts requests); never if `give_up()` first."""
    while not ready():
        if give_up():
            return
        time.sleep(0.05)
    _banner(creds)


def _answers(host: str, port: int) -> bool:
    """Whether a worker process answers /livez on this address."""
    import httpx

    try:
        return httpx.get(f"http://{host}:{port}/livez", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def serve(host: str | None = typer.Option(None, "--host", help=f"Address to listen on ({env_name('host')})."),
          port: int | None = typer.Option(None, "--port", min=0, max=65535,
                                          help=f"Port ({env_name('port')}); 0 picks a free one."),
          workers: int = typer.Option(1, "--workers", min=1, help="Server processes (PostgreSQL only)."),
          emulator: bool = typer.Option(False, "--emulator",
                                        help=f"Serve the control API at /_localsection ({env_name('emulator')}); "
                                             "local use only.")) -> None:
    """Migrate, create the default account if needed, serve the API; print its credentials once listening."""
    import uvicorn

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if emulator:
        overrides["emulator"] = True
    settings = load_settings(**overrides)
    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        raise ConfigError(f"--workers {workers} needs PostgreSQL: SQLite takes one writer at a time, so serve runs "
                          f"one process on it; set {env_name('database_url')}=postgresql://… or drop --workers")
    db = open_db(settings, wait=True)
    sock = _listen(settings)
    settings = settings.with_(port=sock.getsockname()[1])
    try:
        creds = bootstrap.init_default(db, account_url(settings))
    finally:
        db.dispose()
    # The app (here and in worker processes) reads its settings from the environment: hand it the real address.
    os.environ[env_name("host")] = settings.host
    os.environ[env_name("port")] = str(settings.port)
    if settings.emulator:
        os.environ[env_name("emulator")] = "1"
    # One logging set-up for every line (observe/accesslog.py): uvicorn's access log is off, ours writes one line
    # per request (LOCALSECTION_ACCESS_LOG), as text or JSON (LOCALSECTION_LOG_FORMAT).
    config = uvicorn.Config("localsection.asgi:app", host=settings.host, port=settings.port, workers=workers,
                            log_level=settings.log_level, log_config=log_config(settings), **uvicorn_options())
    server = uvicorn.Server(config)
    if workers == 1:
        threading.Thread(target=_announce_when, args=(lambda: server.started, lambda: server.should_exit, creds),
                         daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after a clean shutdown
            server.run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    probe_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    stopping = threading.Event()
    threading.Thread(target=_announce_when, args=(lambda: _answers(probe_host, settings.port), stopping.is_set,
                                                  creds), daemon=True).start()
    if "target" in inspect.signature(Multiprocess.__init__).parameters:  # uvicorn < 0.36
        supervisor = Multiprocess(config, target=server.run, sockets=[sock])  # type: ignore[call-arg]
    else:
        supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()


def uvicorn_options(settings: Settings | None = None) -> dict[str, Any]:
    """The server settings `serve` runs with (bench/ceiling_app.py measures the ceiling with the same ones).

    httptools parses requests in C, through localsection.server's protocol, which bounds the size, the number
    and the arrival time of request headers (h11 with its size bound when httptools is missing). Idle keep-alive
    connections close after `keep_alive_timeout`. Forwarded headers are believed only from `trusted_proxies`.
    The event loop is asyncio's, not uvloop: with the actions running on the loop, uvloop served some
    connections several rounds late (at 16 connections and 7 ms of work per request, p99 560 ms against 118 ms
    with asyncio's loop, for the same throughput; docs/performance.md).
    """
    import importlib.util

    settings = settings or Settings.from_env()
    options: dict[str, Any] = {"loop": "asyncio", "access_log": False,
                               "timeout_keep_alive": max(1, round(settings.keep_alive_timeout)),
                               "h11_max_incomplete_event_size": settings.max_header_bytes}
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "localsection.server:LimitedHttpToolsProtocol"
    else:
        options["http"] = "h11"
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    options["proxy_headers"] = bool(proxies)
    if proxies:
        options["forwarded_allow_ips"] = proxies
    return options
