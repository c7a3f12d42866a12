"""A typed client for the emulator's control API, and a `localsection serve --emulator` process to point it at.

Everything here talks HTTP to a server (this machine's or another's); nothing imports the server's code, so the
same client drives a server in a container. Errors of the control API raise ControlError with its status and
message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

CONTROL = "/_localsection"
SDK_REDIRECT_URI = "http://127.0.0.1/localsection-callback"  # the SDK insists on one; a refresh never uses it
_URL_LINE = re.compile(r"^\s*URL:\s+(http://\S+)\s*$", re.MULTILINE)


class ControlError(Exception):
    """The control API refused a call (bad input, unknown account, or the emulator switch is off: 404)."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class ServerError(RuntimeError):
    """A server process did not start, or stopped while starting; the message ends with its log."""


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_now(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


class ControlClient:
    """Every endpoint of `/_localsection/*` on the server at `base_url` (its plain origin, no `/a/<name>`)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url + CONTROL, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        """One call: the decoded JSON answer, or ControlError."""
        resp = self._http.request(method, path, json=json, params={k: v for k, v in (params or {}).items() if v})
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ControlError(method, CONTROL + path, resp.status_code, str(message or resp.text[:200]))
        return body

    # accounts, reset, tokens
    def create_account(self, name: str, owner_email: str | None = None,
                       realistic: bool | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name} | ({"owner_email": owner_email} if owner_email else {})
        if realistic is not None:
            body["realistic"] = realistic
        return dict(self.call("POST", "/accounts", json=body))

    def set_realistic(self, name: str, on: bool) -> dict[str, Any]:
        """Realistic mode for one account (rate limit, record cap, strict inputs), on or off."""
        return dict(self.call("POST", f"/accounts/{name}", json={"realistic": on}))

    def delete_account(self, name: str) -> None:
        self.call("DELETE", f"/accounts/{name}")

    def reset(self, account: str | None = None) -> dict[str, Any]:
        return dict(self.call("POST", "/reset", json={"account": account} if account else None))

    def issue_token(self, account: str, email: str | None = None,
                    scopes: Sequence[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"account": account}
        if email:
            body["email"] = email
        if scopes is not None:
            body["scopes"] = list(scopes)
        return dict(self.call("POST", "/tokens", json=body))

    # fixtures, snapshots
    def load_fixtures(self, account: str, data: Mapping[str, Any]) -> dict[str, int]:
        answer = self.call("POST", "/fixtures", json={"account": account, "data": dict(data)})
        return dict(answer.get("ids", {}))

    def snapshot(self, name: str, account: str | None = None) -> dict[str, Any]:
        return dict(self.call("POST", f"/snapshots/{name}", json={"account": account} if account else None) or {})

    def restore(self, name: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/snapshots/{name}/restore") or {})

    def snapshots(self) -> Any:
        return self.call("GET", "/snapshots")

    def delete_snapshot(self, name: str) -> None:
        self.call("DELETE", f"/snapshots/{name}")

    # clock
    def clock(self) -> dict[str, Any]:
        return dict(self.call("GET", "/clock"))

    def set_clock(self, *, now: dt.datetime | None = None, advance: float | None = None,
                  freeze: bool | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = _iso(now)
        if advance is not None:
            body["advance"] = advance
        if freeze is not None:
            body["freeze"] = freeze
        return dict(self.call("POST", "/clock", json=body))

    def reset_clock(self) -> dict[str, Any]:
        """Back to real time, running."""
        return self.set_clock(freeze=False, now=dt.datetime.now(dt.UTC))

    # faults
    def add_fault(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "/faults", json=dict(rule)))

    def faults(self) -> list[dict[str, Any]]:
        return _entries(self.call("GET", "/faults"), "faults")

    def delete_fault(self, fault_id: str | int | None = None) -> None:
        self.call("DELETE", "/faults" if fault_id is None else f"/faults/{fault_id}")

    # journals
    def requests(self, account: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
        answer = self.call("GET", "/requests", params={"account": account or "", "action": action or ""})
        return _entries(answer, "requests")

    def clear_requests(self) -> None:
        """Empty the request journal (every account's)."""
        self.call("DELETE", "/requests")

    def deliveries(self, account: str | None = None) -> list[dict[str, Any]]:
        return _entries(self.call("GET", "/deliveries", params={"account": account or ""}), "deliveries")

    def clear_deliveries(self, account: str | None = None) -> None:
        self.call("DELETE", "/deliveries", params={"account": account or ""})


def _entries(answer: Any, *keys: str) -> list[dict[str, Any]]:
    """A listing: a JSON list, or an object holding one (under `keys`, `requests`, `deliveries`, `data`...)."""
    if isinstance(answer, dict):
        for key in (*keys, "requests", "deliveries", "entries", "data", "items"):
            if isinstance(answer.get(key), list):
                return list(answer[key])
        return []
    return list(answer or [])


class Clock:
    """The server's clock (server-wide: every account sees it move; the `Admin` header stays on real time)."""

    def __init__(self, control: ControlClient) -> None:
        self._control = control
        self.touched = False

    def now(self) -> dt.datetime:
        return _parse_now(str(self._control.clock()["now"]))

    def advance(self, seconds: float) -> dt.datetime:
        self.touched = True
        return _parse_now(str(self._control.set_clock(advance=seconds)["now"]))

    def set(self, when: dt.datetime) -> dt.datetime:
        """Move the clock to `when` (naive: UTC)."""
        self.touched = True
        return _parse_now(str(self._control.set_clock(now=when)["now"]))

    def freeze(self, on: bool = True) -> dt.datetime:
        self.touched = True
        return _parse_now(str(self._control.set_clock(freeze=on)["now"]))

    def reset(self) -> None:
        """Real time again, running."""
        self._control.reset_clock()
        self.touched = False


@dataclass
class Fault:
    """An injected fault rule; `remove()` takes it out (the `localsection` fixture does after each test)."""

    rule: dict[str, Any]
    _control: ControlClient = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.rule["id"])

    def remove(self) -> None:
        try:
            self._control.delete_fault(self.id)
        except ControlError as exc:
            if exc.status != 404:  # already gone (times used up and dropped, or reset)
                raise


@dataclass(frozen=True)
class Token:
    """An OAuth2 token pair for a user, issued through an app of the account (its id and secret included)."""

    access_token: str
    refresh_token: str
    expires_in: int
    account_url: str
    client_id: str
    client_secret: str
    email: str
    scopes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The `/oauth2/token` answer, as the official SDK's `Client.set_access_token` takes it."""
        return {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": self.access_token,
                "refresh_token": self.refresh_token, "account_url": self.account_url}

    def sdk_client_config(self) -> dict[str, Any]:
        """The dict for the official SDK's `Client.set_client`: it can then refresh this token by itself."""
        origin = self.account_url
        return {"client_id": self.client_id, "client_secret": self.client_secret, "redirect_uri": SDK_REDIRECT_URI,
                "scope": list(self.scopes), "auth_url": origin + "/oauth2/authorize",
                "token_url": origin + "/oauth2/token", "refresh_url": origin + "/oauth2/refresh"}


class Account:
    """One account of the server, reached by path: `url` is `http://host:port/a/<name>`, the SDK's origin."""

    def __init__(self, control: ControlClient, created: Mapping[str, Any]) -> None:
        self.control = control
        self.name = str(created["account"])
        self.url = str(created["url"])
        self.api_key = str(created["api_key"])
        self.owner_email = str(created["owner"]["email"])
        self.owner_password = str(created["owner"]["password"])
        self.clock = Clock(control)
        self._faults: list[Fault] = []
        self._snapshots: list[str] = []

    def __repr__(self) -> str:
        return f"<localsection Account {self.name} at {self.url}>"

    def token(self, email: str | None = None, scopes: Sequence[str] | None = None) -> Token:
        """An OAuth2 access + refresh token for `email` (default: the owner), every scope unless `scopes`."""
        body = self.control.issue_token(self.name, email, scopes)
        return Token(access_token=str(body["access_token"]), refresh_token=str(body["refresh_token"]),
                     expires_in=int(body["expires_in"]), account_url=str(body["account_url"]),
                     client_id=str(body["client_id"]), client_secret=str(body["client_secret"]),
                     email=str(body["email"]), scopes=tuple(body["scopes"]))

    def fixtures(self, data: Mapping[str, Any]) -> dict[str, int]:
        """Load a fixture document into this account; the map of its `key`s to the ids created."""
        return self.control.load_fixtures(self.name, data)

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        """This account's entries of the request journal, oldest first (one action's only with `action`)."""
        return self.control.requests(self.name, action)

    def deliveries(self) -> list[dict[str, Any]]:
        """This account's webhook deliveries."""
        return self.control.deliveries(self.name)

    def fault(self, action: str | None = None, *, http_status: int | None = None,
              status_code: int | str | None = None, message: str | None = None, retry_after: int | None = None,
              latency_ms: int | None = None, probability: float | None = None, times: int | None = None,
              seed: int | None = None, drop: bool | None = None, **extra: Any) -> Fault:
        """Inject a fault into this account's calls (of `action`, or every action): an HTTP status (429 with
        `retry_after`), a Worksection error envelope (`status_code` + `message`), a delay, a dropped connection;
        bounded by `times` and `probability` (+ `seed`). See docs/testing.md."""
        rule: dict[str, Any] = {"account": self.name}
        for key, value in (("action", action), ("http_status", http_status), ("status_code", status_code),
                           ("message", message), ("retry_after", retry_after), ("latency_ms", latency_ms),
                           ("probability", probability), ("times", times), ("seed", seed), ("drop", drop)):
            if value is not None:
                rule[key] = value
        rule.update(extra)
        made = Fault(self.control.add_fault(rule), self.control)
        self._faults.append(made)
        return made

    def snapshot(self, name: str) -> dict[str, Any]:
        """Save this account's data as `name`."""
        answer = self.control.snapshot(name, self.name)
        self._snapshots.append(name)
        return answer

    def restore(self, name: str) -> dict[str, Any]:
        return self.control.restore(name)

    def reset(self) -> dict[str, Any]:
        """Empty this account (owner, name and API key stay)."""
        return self.control.reset(self.name)

    def realistic(self, on: bool = True) -> None:
        """Realistic mode for this account: 1 request/s per credential (429 + Retry-After), the 10,000-record
        cap, strict inputs, as the real service."""
        self.control.set_realistic(self.name, on)

    def cleanup(self) -> None:
        """Remove what this handle added to the server: faults, snapshots, a moved clock, then the account."""
        errors: list[BaseException] = []
        for fault in self._faults:
            try:
                fault.remove()
            except (ControlError, httpx.HTTPError) as exc:
                errors.append(exc)
        for name in self._snapshots:
            try:
                self.control.delete_snapshot(name)
            except ControlError as exc:
                if exc.status != 404:
                    errors.append(exc)
        if self.clock.touched:
            self.clock.reset()
        try:
            self.control.delete_account(self.name)
        except ControlError as exc:
            if exc.status != 404:
                errors.append(exc)
        if errors:
            raise errors[0]


def free_name(prefix: str = "t") -> str:
    """A fresh account name: a letter, then hex (valid wherever account names are)."""
    return f"{prefix}{uuid.uuid4().hex[:15]}"


class LocalsectionServer:
    """A `localsection serve --emulator` process on a free port with its own data directory.

        with LocalsectionServer.start() as server:          # SQLite in a temporary directory
            acme = server.new_account()

    `database_url` uses PostgreSQL instead (the database is created when missing). `env` adds LOCALSECTION_*
    settings (the caller's own LOCALSECTION_* variables are not passed on, so a developer's shell cannot point
    the test server at another database). The server is stopped (SIGTERM, then SIGKILL after 10 s)
    and a temporary data directory removed by `stop()` or at the end of the `with` block.
    """

    def __init__(self, proc: subprocess.Popen[bytes], url: str, data_dir: Path, log_path: Path,
                 owns_data_dir: bool) -> None:
        self.proc = proc
        self.url = url
        self.data_dir = data_dir
        self.log_path = log_path
        self._owns_data_dir = owns_data_dir
        self.control = ControlClient(url)

    @classmethod
    def start(cls, *, host: str = "127.0.0.1", port: int = 0, data_dir: str | Path | None = None,
              database_url: str | None = None, env: Mapping[str, str] | None = None,
              command: Sequence[str] | None = None, startup_timeout: float = 60.0) -> LocalsectionServer:
        owns = data_dir is None
        folder = Path(tempfile.mkdtemp(prefix="localsection-")) if data_dir is None else Path(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
        full_env |= {"LOCALSECTION_DATA_DIR": str(folder), "LOCALSECTION_LOG_LEVEL": "warning",
                     "LOCALSECTION_DURABILITY": "normal", "LOCALSECTION_ALLOW_PRIVATE_WEBHOOKS": "1"}
        if database_url:
            full_env["LOCALSECTION_DATABASE_URL"] = database_url
        full_env |= dict(env or {})
        argv = list(command or [sys.executable, "-m", "localsection"])
        argv += ["serve", "--emulator", "--host", host, "--port", str(port)]
        log_path = folder / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        server = cls(proc, "", folder, log_path, owns)
        try:
            server.url = server._wait_until_ready(startup_timeout)
        except BaseException:
            server.stop()
            raise
        server.control = ControlClient(server.url)
        return server

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _wait_until_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        url = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"localsection serve exited with status {self.proc.returncode}:\n{self._log()}")
            if not url:
                found = _URL_LINE.search(self._log())
                url = found.group(1).rstrip("/") if found else ""
            if url:
                try:
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise ServerError(f"localsection serve was not ready within {timeout:.0f} s:\n{self._log()}")

    def new_account(self, name: str | None = None, owner_email: str | None = None,
                    realistic: bool | None = None) -> Account:
        """A new account (a generated name unless `name`), reached by path; `realistic` switches its mode."""
        return Account(self.control, self.control.create_account(name or free_name(), owner_email, realistic))

    def stop(self) -> None:
        self.control.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
