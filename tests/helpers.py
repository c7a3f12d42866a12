"""Api: a small in-process client for one account, plus plain factory functions."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from sqlalchemy import event, select
from starlette.testclient import TestClient

from localsection import accounts, db, tokens
from localsection.config import Settings
from localsection.ctx import Ctx
from localsection.models import Account, User
from localsection.state import AppState

ADMIN_PATH = "/api/admin/v2"
USER_PATH = "/api/oauth2"


@dataclass
class Api:
    state: AppState
    client: TestClient
    account: str
    account_id: int
    api_key: str
    owner_id: int
    owner_email: str
    owner_password: str

    @classmethod
    def create(cls, state: AppState, client: TestClient, name: str) -> Api:
        with state.db.session() as s:
            # A bare account (no default status group): the protocol tests count tag groups from zero.
            created = accounts.create_account(s, name, f"owner@{name}.example.com", "owner-pass-1",
                                              status_group=False)
            return cls(state, client, name, created.account.id, created.account.api_key, created.owner.id,
                       created.owner.email, created.password)

    @contextmanager
    def ctx(self, email: str | None = None, *, write: bool = True, settings: Settings | None = None) -> Iterator[Ctx]:
        """A domain context in one transaction of this account: the admin key (as the owner) when no e-mail is
        given, else that user. Committed when the block ends, rolled back on an exception."""
        with self.state.db.session(write=write) as s:
            account = s.get(Account, self.account_id)
            assert account is not None
            user = s.scalars(select(User).where(User.account_id == self.account_id,
                                                User.email == (email or self.owner_email))).one()
            settings = settings or self.state.settings
            if email is None:
                yield Ctx.for_admin_key(s, settings, account, user, database=self.state.db)
            else:
                yield Ctx.for_user(s, settings, account, user, database=self.state.db)

    @property
    def host(self) -> str:
        return f"{self.account}.localhost"

    def admin_header(self, action: str, t: int | None = None, key: str | None = None) -> str:
        t = int(time.time()) if t is None else t
        sig = hmac.new((key or self.api_key).encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
        return f"Admin {t}_{sig}"

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        """POST JSON like the official SDK does, signed with the Admin header; returns the JSON body."""
        resp = self.client.post(f"{ADMIN_PATH}?action={action}", json=params or None,
                                headers={"Host": self.host, "Authorization": self.admin_header(action)})
        assert resp.headers["content-type"].startswith("application/json"), resp.text
        return resp.json()  # type: ignore[no-any-return]

    def ok(self, action: str, **params: Any) -> Any:
        """Call and assert success; returns `data` (or the whole body when there is none)."""
        body = self.call(action, **params)
        assert body.get("status") == "ok", body
        return body.get("data", body)

    def error(self, action: str, **params: Any) -> dict[str, Any]:
        body = self.call(action, **params)
        assert body.get("status") == "error", body
        return body

    def md5_get(self, query: str) -> dict[str, Any]:
        """A raw GET signed as the seed document shows: md5(query + key) appended as `hash`."""
        digest = hashlib.md5((query + self.api_key).encode()).hexdigest()
        resp = self.client.get(f"{ADMIN_PATH}?{query}&hash={digest}", headers={"Host": self.host})
        return resp.json()  # type: ignore[no-any-return]

    # -- users and tokens ------------------------------------------------------------------------

    def add_user(self, email: str, role: str = "user", **fields: Any) -> dict[str, Any]:
        data = self.ok("add_user", email=email, role=role, **fields)
        assert isinstance(data, dict)
        return data

    def token(self, email: str | None = None, scopes: list[str] | None = None, client_id: str = "0" * 32) -> str:
        """Mint an access token for a user of this account (bypasses the OAuth2 flow)."""
        with self.state.db.session() as s:
            from sqlalchemy import select

            user = s.scalars(select(User).where(User.account_id == self.account_id,
                                                User.email == (email or self.owner_email).lower())).one()
            token, _ = tokens.issue_access_token(self.state.settings, user_id=user.id,
                                                 account_id=self.account_id, client_id=client_id,
                                                 scopes=list(tokens.ALL_SCOPES if scopes is None else scopes))
            return token

    def user_call(self, token: str, action: str, **params: Any) -> dict[str, Any]:
        resp = self.client.post(f"{USER_PATH}?action={action}", json=params or None,
                                headers={"Host": self.host, "Authorization": f"Bearer {token}"})
        return {"_http": resp.status_code, **resp.json()}

    def account_row(self) -> Account:
        with self.state.db.session(write=False) as s:
            row = s.get(Account, self.account_id)
            assert row is not None
            return row


@contextmanager
def counted_statements(api: Api, *, transactions: bool = False) -> Iterator[list[str]]:
    """Every SQL statement sent while the block runs: those through SQLAlchemy's cursor (on any of the database's
    engines) and the db.Prepared ones that go straight to the driver. `transactions`: BEGIN and COMMIT too, when
    they are sent — on PostgreSQL each entry is then one network round trip."""
    seen: list[str] = []
    original = db._fetch

    def fetch(driver: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        if transactions or sql != "BEGIN":  # a write's BEGIN on the event loop's autocommit connections
            seen.append(sql)
        return original(driver, sql, *args, **kwargs)

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    def begin(conn: Any) -> None:
        # Outside autocommit the driver sends BEGIN itself; in autocommit (the event loop's connections) a write
        # sends it through db._fetch, counted above.
        if not conn.connection.dbapi_connection.autocommit:
            seen.append("BEGIN")

    def commit(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:  # else there is nothing to send
            seen.append("COMMIT")

    listeners: list[tuple[str, Any]] = [("before_cursor_execute", statement)]
    if transactions:
        listeners += [("begin", begin), ("commit", commit)]
    engines = api.state.db.engines
    for engine in engines:
        for name, fn in listeners:
            event.listen(engine, name, fn)
    db._fetch = fetch
    try:
        yield seen
    finally:
        db._fetch = original
        for engine in engines:
            for name, fn in listeners:
                event.remove(engine, name, fn)


# -- an app called from the test's own event loop (httpx.ASGITransport) -------------------------------------

async def call_async(client: httpx.AsyncClient, api: Api, action: str, **params: Any) -> dict[str, Any]:
    """One admin-key API call (the SDK's HMAC header) through an ASGI client on the running loop."""
    resp = await client.post(f"{ADMIN_PATH}?action={action}", json=params,
                             headers={"Host": api.host, "Authorization": api.admin_header(action)})
    return resp.json()  # type: ignore[no-any-return]


async def reads_beside_a_write(client: httpx.AsyncClient, api: Api, task: int, reads: int = 5
                               ) -> tuple[asyncio.Task[dict[str, Any]], list[float]]:
    """Start post_comment on `task`, then time `reads` get_task calls 0.1 s apart while it runs (seconds each);
    the write is handed back unfinished or finished, for the caller to check."""
    write = asyncio.create_task(call_async(client, api, "post_comment", id_task=str(task), text="queued"))
    took = []
    for _ in range(reads):
        await asyncio.sleep(0.1)
        t0 = time.perf_counter()
        assert (await call_async(client, api, "get_task", id_task=str(task)))["status"] == "ok"
        took.append(time.perf_counter() - t0)
    return write, took


def stop_process(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Terminate a server process the test started (SIGTERM, as a service manager would); kill it when it has not
    ended within `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
