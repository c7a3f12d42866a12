"""Crash: 16 concurrent writers, the server killed with SIGKILL at a random moment, restarted; five rounds.

Figure: acknowledged writes and how many of them are missing afterwards (must be 0); PRAGMA integrity_check.
SQLite with LOCALSECTION_DURABILITY=full (synchronous=FULL): an `ok` must mean the write is on disk.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.compat.conftest import Server, start_server
from tests.helpers import stop_process

WRITERS = 16
ROUNDS = 5
ACCOUNT = "localsection"  # the default account `localsection init` creates


def header(server: Server, action: str) -> str:
    t = int(time.time())
    return f"Admin {t}_" + hmac.new(server.api_key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()


class Writer(threading.Thread):
    """Posts comments, cost rows and tasks until stopped or the server is gone; keeps what was answered ok."""

    def __init__(self, server: Server, n: int, round_no: int, project: int, tasks: list[int],
                 stopping: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.n, self.round_no, self.project, self.tasks = server, n, round_no, project, tasks
        self.stopping = stopping
        self.acked: list[tuple[str, int, str]] = []  # (table, id, marker)
        self.server_errors = 0
        self.refused: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=10) as client:
            i = 0
            while not self.stopping.is_set():
                i += 1
                marker = f"r{self.round_no}-w{self.n}-{i}"
                kind = i % 3
                action, params, table = [
                    ("post_comment", {"id_task": random.choice(self.tasks), "text": marker}, "comments"),
                    ("add_costs", {"id_task": random.choice(self.tasks), "time": "0:05", "comment": marker,
                                   "email_user_from": self.server.owner_email}, "costs"),
                    ("post_task", {"id_project": self.project, "title": marker}, "tasks"),
                ][kind]
                try:
                    resp = client.post(f"/api/admin/v2?action={action}", json=params,
                                       headers={"Authorization": header(self.server, action)})
                except httpx.HTTPError:
                    return  # killed mid-request: not acknowledged, may or may not be stored
                if resp.status_code >= 500:
                    self.server_errors += 1
                    continue
                body = resp.json()
                if body.get("status") != "ok":
                    self.refused.append(f"{action}: {body}")
                else:
                    new_id = body["id"] if action == "add_costs" else body["data"]["id"]
                    self.acked.append((table, int(new_id), marker))


def stored(db: Path, table: str, column: str) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return {int(i): str(v) for i, v in conn.execute(f"SELECT id, {column} FROM {table}")}


def test_every_acknowledged_write_survives_sigkill(tmp_path: Path, size: Callable[[int, int], int],
                                                   figure: Callable[[str], None]) -> None:
    env = {"LOCALSECTION_DURABILITY": "full", "LOCALSECTION_LOG_LEVEL": "warning"}
    proc, server = start_server(tmp_path, env)
    seed = json.loads(server.cli("dev", "seed-bulk", "--account", ACCOUNT, "--tasks", "16", "--projects", "1"))
    project, tasks = seed["projects"][0], seed["sample_task_ids"]
    acked: list[tuple[str, int, str]] = []
    server_errors = 0
    refused: list[str] = []
    rng = random.Random()
    try:
        for round_no in range(ROUNDS):
            if round_no:
                proc, server = start_server(tmp_path, env)
            stopping = threading.Event()
            writers = [Writer(server, n, round_no, project, tasks, stopping) for n in range(WRITERS)]
            for w in writers:
                w.start()
            # Kill at a random moment once writing is under way (a loaded machine starts slowly).
            deadline = time.time() + 60
            while sum(len(w.acked) for w in writers) < WRITERS and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 1.0) * size(1, 6))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            stopping.set()
            for w in writers:
                w.join(timeout=30)
                acked += w.acked
                server_errors += w.server_errors
                refused += w.refused
    finally:
        stop_process(proc)
    db = tmp_path / "localsection.db"
    present = {"comments": stored(db, "comments", "text"), "costs": stored(db, "costs", "comment"),
               "tasks": stored(db, "tasks", "name")}
    lost = [(t, i, m) for t, i, m in acked if present[t].get(i) != m]
    with sqlite3.connect(db) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    figure(f"crash: {ROUNDS} SIGKILL rounds, {WRITERS} writers, {len(acked)} acknowledged writes, "
           f"{len(lost)} lost, {server_errors} 5xx, integrity_check {integrity}")
    assert len(acked) > ROUNDS * WRITERS  # the writers really wrote before each kill
    assert lost == []
    assert server_errors == 0
    assert refused == []
    assert integrity == "ok"
    # ... and the server still starts on the crashed files and serves them.
    proc, server = start_server(tmp_path, env)
    try:
        resp = httpx.post(f"{server.url}/api/admin/v2?action=get_task", json={"id_task": tasks[0]},
                          headers={"Authorization": header(server, "get_task")})
        assert resp.json()["status"] == "ok"
    finally:
        stop_process(proc)
