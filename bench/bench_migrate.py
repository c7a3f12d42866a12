"""Migration throughput: requests per object kind, and how long a 10,000-task account takes at 1 request/s.

    .venv/bin/python bench/bench_migrate.py [--tasks 300] [--projects 4]

Starts a source localsection (`serve --emulator`, SQLite) holding a generated account — tasks with subtasks,
comments on a third of the tasks, files on a fifth, two cost rows per task — and migrates it into a temporary
SQLite database with the rate limit lifted. It prints the requests each action needed, the requests per task,
and the local cost per request (source server + client + writes, measured); then projects a 10,000-task account
of the same shape at the real service's 1 request/s: requests x the longer of a turn (1/rate + 3 % slack) and the
local cost of a request — turns run from one request's start to the next, so the local work is done while
waiting, and waiting is the whole story at 1 request/s.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from localsection import bootstrap
from localsection.config import Settings
from localsection.db import Database
from localsection.migrate.run import Migration
from localsection.migrate.source import SLACK, Source
from localsection.migrate.state import State
from localsection.migrate.writer import Writer

REPO = Path(__file__).resolve().parent.parent

TARGET = 10_000


def seed(tasks: int, projects: int) -> dict[str, Any]:
    """A generated account: `tasks` top-level tasks over `projects` projects, each task with one subtask."""
    users = [{"key": f"u{i}", "email": f"user{i}@bench.test", "first_name": f"User{i}"} for i in range(5)]
    data: dict[str, Any] = {
        "users": users,
        "tag_groups": [{"key": "kind", "title": "Kind", "tags": [{"key": "bug", "title": "Bug"}]}],
        "projects": [{"key": f"p{i}", "title": f"Project {i}", "members": [u["key"] for u in users]}
                     for i in range(projects)],
        "tasks": [], "comments": [], "costs": [],
    }
    png = base64.b64encode(b"\x89PNG bench file " * 64).decode()
    for i in range(tasks):
        task: dict[str, Any] = {"key": f"t{i}", "project": f"p{i % projects}", "title": f"Task {i}",
                                "text": "Some words " * 20, "executive": f"u{i % 5}", "tags": ["bug"],
                                "subtasks": [{"key": f"s{i}", "title": f"Subtask {i}"}]}
        if i % 5 == 0:
            task["files"] = [{"key": f"f{i}", "name": f"spec{i}.png", "base64": png}]
        data["tasks"].append(task)
        if i % 3 == 0:
            data["comments"].append({"key": f"c{i}", "task": f"t{i}", "author": f"u{i % 5}", "text": "Done?"})
        for j in range(2):
            data["costs"].append({"key": f"k{i}-{j}", "task": f"t{i}", "author": f"u{j}", "time": "0:30",
                                  "date": f"2026-0{1 + j}-1{i % 9}"})
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--projects", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # the source server is started the way the suite starts one
    from tests.compat.conftest import running_server

    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp) / "source",
                                                               {"LOCALSECTION_EMULATOR": "1"}) as srv:
        made = httpx.post(f"{srv.url}/_localsection/accounts", json={"name": "bench"}, timeout=30).json()
        doc = seed(args.tasks, args.projects)
        loaded = httpx.post(f"{srv.url}/_localsection/fixtures", json={"account": "bench", "data": doc}, timeout=600)
        loaded.raise_for_status()
        settings = Settings(data_dir=Path(tmp) / "target", durability="normal")
        db = Database(settings)
        bootstrap.upgrade(db)
        source = Source(f"{srv.url}/a/bench", made["api_key"], rate=1000.0)
        writer = Writer(db, "copy")
        writer.check_target()
        url = source.url.removesuffix("/api/admin/v2/")
        migration = Migration(source, writer, State(url, "copy"), Path(tmp) / "state.json")
        started = time.perf_counter()
        migration.run()
        elapsed = time.perf_counter() - started
        source.close()
        db.dispose()
    report = migration.report()
    stats = source.stats
    all_tasks = args.tasks * 2
    per_request = elapsed / stats.total
    print(f"migrated {all_tasks} tasks ({args.tasks} + as many subtasks) in {args.projects} projects, "
          f"{len(doc['comments'])} comments, {report['copied']['file']} files, {len(doc['costs'])} costs: "
          f"{stats.total} requests, complete={report['complete']}")
    print("requests by action:")
    for action, n in sorted(stats.requests.items(), key=lambda kv: -kv[1]):
        print(f"  {action:<22} {n:>6}")
    fixed = sum(n for a, n in stats.requests.items() if a not in ("get_tasks", "get_comments", "get_files",
                                                                  "download"))
    per_project = (stats.requests.get("get_tasks", 0) + stats.requests.get("get_files", 0)) / args.projects
    per_task = (stats.requests.get("get_comments", 0) + stats.requests.get("download", 0)) / args.tasks
    print(f"requests: {fixed} fixed, {per_project:.2f} per project, {per_task:.3f} per top-level task "
          f"(a comment list for a task with comments, a download per file)")
    print(f"local cost with the rate limit lifted: {elapsed:.2f} s, {per_request * 1000:.1f} ms per request")
    projects = max(1, round(args.projects * TARGET / args.tasks))
    requests = fixed + per_project * projects + per_task * TARGET
    for rate in (1.0,):
        # Turns are spaced from one request's start to the next, so local work up to a turn's length is done while
        # waiting: a request costs the longer of its turn and its local work.
        turn = (1 + SLACK) / rate
        hours = requests * max(turn, per_request) / 3600
        print(f"projection, {TARGET} top-level tasks of this shape in {projects} projects at {rate:g} request/s: "
              f"{requests:.0f} requests, {hours:.2f} h (turns of {turn:.2f} s; the local work, "
              f"{requests * per_request / 60:.1f} min in all, fits inside them)")


if __name__ == "__main__":
    main()
