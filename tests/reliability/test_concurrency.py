"""Concurrency: 32 clients mixing writes on the same tasks, cost rows and timers of one real server.

Figure: requests, 5xx answers, "database is locked" answers (both must be 0), and whether the stored totals equal
the acknowledged sums (cost minutes per task, comments per task, timer rows per user).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from localsection import tokens
from localsection.config import Settings
from localsection.db import Database
from localsection.models import Account, Comment, Cost, User
from tests.compat.conftest import Server
from tests.reliability.conftest import live_server
from tests.reliability.test_crash import ACCOUNT, header

CLIENTS = 32
TIMER_CLIENTS = 8  # each owns one user, so its start/stop pairs are its own


class Client(threading.Thread):
    def __init__(self, server: Server, n: int, tasks: list[int], ops: int, token: str | None) -> None:
        super().__init__(daemon=True)
        self.server, self.n, self.tasks, self.ops, self.token = server, n, tasks, ops, token
        self.minutes: Counter[int] = Counter()  # task -> acknowledged manual minutes
        self.comments: Counter[int] = Counter()
        self.timer_stops = 0
        self.statuses: Counter[int] = Counter()
        self.problems: list[str] = []

    def call(self, client: httpx.Client, action: str, params: dict[str, Any], path: str = "/api/admin/v2") -> Any:
        auth = f"Bearer {self.token}" if path == "/api/oauth2" else header(self.server, action)
        resp = client.post(f"{path}?action={action}", json=params, headers={"Authorization": auth})
        self.statuses[resp.status_code] += 1
        if "locked" in resp.text.lower() or resp.status_code >= 500 or resp.json().get("status") != "ok":
            self.problems.append(f"{action} {params}: {resp.status_code} {resp.text[:200]}")
            return None
        return resp.json()

    def run(self) -> None:
        rng = random.Random(self.n)
        with httpx.Client(base_url=self.server.url, timeout=60) as client:
            for _ in range(self.ops):
                task = rng.choice(self.tasks)
                if self.token:
                    if self.call(client, "start_my_timer", {"id_task": task}, "/api/oauth2") and self.call(
                            client, "stop_my_timer", {}, "/api/oauth2"):
                        self.timer_stops += 1
                    continue
                op = rng.randrange(4)
                if op == 0:
                    minutes = rng.randint(1, 59)
                    if self.call(client, "add_costs", {"id_task": task, "time": f"0:{minutes:02d}",
                                                       "email_user_from": self.server.owner_email}):
                        self.minutes[task] += minutes
                elif op == 1:
                    if self.call(client, "post_comment", {"id_task": task, "text": f"client {self.n}"}):
                        self.comments[task] += 1
                elif op == 2:
                    self.call(client, "update_task", {"id_task": task, "priority": rng.randint(0, 10)})
                else:
                    self.call(client, "get_costs_total", {"id_task": task})


def test_32_clients_on_the_same_rows_lose_nothing_and_never_see_a_lock(
        server_kind: str, tmp_path: Path, size: Callable[[int, int], int], figure: Callable[[str], None]) -> None:
    with live_server(server_kind, tmp_path, {"LOCALSECTION_LOG_LEVEL": "warning"}) as (_, server):
        seed = json.loads(server.cli("dev", "seed-bulk", "--account", ACCOUNT, "--tasks", "4", "--projects", "1"))
        tasks = seed["sample_task_ids"]
        settings = Settings(data_dir=server.data_dir, database_url=server.env.get("LOCALSECTION_DATABASE_URL", ""))
        db = Database(settings)
        try:
            client_tokens = mint_tokens(server, db, settings, seed["projects"][0])
            clients = [Client(server, n, tasks, size(12, 150), client_tokens[n] if n < TIMER_CLIENTS else None)
                       for n in range(CLIENTS)]
            for c in clients:
                c.start()
            for c in clients:
                c.join(timeout=600)
            with db.session(write=False) as s:
                minutes = dict(s.execute(select(Cost.task_id, func.sum(Cost.minutes)).where(
                    Cost.task_id.in_(tasks), Cost.is_timer.is_(False)).group_by(Cost.task_id)).all())
                comments = dict(s.execute(select(Comment.task_id, func.count()).where(
                    Comment.task_id.in_(tasks)).group_by(Comment.task_id)).all())
                timer_rows = s.scalar(select(func.count()).select_from(Cost).where(
                    Cost.task_id.in_(tasks), Cost.is_timer.is_(True)))
        finally:
            db.dispose()
    acked_minutes = sum((c.minutes for c in clients), Counter())
    acked_comments = sum((c.comments for c in clients), Counter())
    statuses = sum((c.statuses for c in clients), Counter())
    problems = [p for c in clients for p in c.problems]
    locked = sum("locked" in p.lower() for p in problems)
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    totals_ok = (minutes == dict(acked_minutes) and comments == dict(acked_comments)
                 and timer_rows == sum(c.timer_stops for c in clients))
    figure(f"concurrency ({server_kind}): {CLIENTS} clients, {sum(statuses.values())} requests, {server_errors} 5xx, "
           f"{locked} 'database is locked', {len(problems)} refused, totals equal acknowledged sums: {totals_ok}")
    assert problems == []
    assert minutes == dict(acked_minutes)
    assert comments == dict(acked_comments)
    assert timer_rows == sum(c.timer_stops for c in clients)


def mint_tokens(server: Server, db: Database, settings: Settings, project: int) -> list[str]:
    """TIMER_CLIENTS project members, each with an access token (minted with the server's own signing key)."""
    emails = [f"timer{k}@bench.example.com" for k in range(TIMER_CLIENTS)]
    for email in emails:
        httpx.post(f"{server.url}/api/admin/v2?action=add_user", json={"email": email},
                   headers={"Authorization": header(server, "add_user")}).raise_for_status()
    body = httpx.post(f"{server.url}/api/admin/v2?action=add_project_members",
                      json={"id_project": project, "members": ",".join(emails)},
                      headers={"Authorization": header(server, "add_project_members")}).json()
    assert body["status"] == "ok", body
    with db.session(write=False) as s:
        account = s.scalars(select(Account).where(Account.name == ACCOUNT)).one()
        users = {u.email: u.id for u in s.scalars(select(User).where(User.account_id == account.id))}
    return [tokens.issue_access_token(settings, user_id=users[f"timer{k}@bench.example.com"], account_id=account.id,
                                      client_id="0" * 32, scopes=list(tokens.ALL_SCOPES))[0]
            for k in range(TIMER_CLIENTS)]
