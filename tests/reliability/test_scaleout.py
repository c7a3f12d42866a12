"""Scale-out on PostgreSQL: two server processes and two webhook workers (`localsection worker`) on one database,
clients alternating between the servers.

Figure: objects created, duplicate ids, webhook events lost and delivered twice — all three must be 0.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Server
from tests.conftest import BACKENDS
from tests.helpers import stop_process
from tests.reliability.conftest import fresh_database, live_server
from tests.reliability.test_crash import header
from tests.webhook_receiver import running_receiver

pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="scale-out needs PostgreSQL")


def call(server: Server, action: str, params: dict[str, Any]) -> dict[str, Any]:
    resp = httpx.post(f"{server.url}/api/admin/v2?action={action}", json=params,
                      headers={"Authorization": header(server, action)}, timeout=60)
    assert resp.status_code < 500, resp.text
    return resp.json()  # type: ignore[no-any-return]


@contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "localsection", "worker"], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        stop_process(proc)


def test_two_servers_and_two_workers_share_one_database_without_duplicates_or_lost_events(
        tmp_path: Path, size: Callable[[int, int], int], figure: Callable[[str], None]) -> None:
    env = {"LOCALSECTION_WEBHOOK_WORKER": "0", "LOCALSECTION_LOG_LEVEL": "warning",
           "LOCALSECTION_WEBHOOK_POLL_INTERVAL": "0.1"}
    with ExitStack() as stack, fresh_database("postgres") as url:
        servers = [stack.enter_context(live_server("postgres", tmp_path / f"s{n}", env, url))[1] for n in range(2)]
        receiver = stack.enter_context(running_receiver())
        project = call(servers[0], "post_project", {"title": "Scale-out"})["data"]["id"]
        hook = call(servers[1], "add_webhook", {"url": receiver.url, "events": "post_task,post_comment"})
        assert hook["status"] == "ok", hook
        for _ in range(2):
            stack.enter_context(worker({**servers[0].env, "LOCALSECTION_WEBHOOK_WORKER": "1"}))
        created: list[tuple[str, str]] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for i in range(size(10, 120)):
                server = servers[(n + i) % 2]  # alternate between the two processes
                task = call(server, "post_task", {"id_project": project, "title": f"c{n}-{i}"})["data"]["id"]
                comment = call(servers[(n + i + 1) % 2], "post_comment", {"id_task": task, "text": "hi"})
                with lock:
                    created.append(("task", str(task)))
                    created.append(("comment", str(comment["data"]["id"])))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        receiver.wait_for(lambda: len(receiver.events()) >= len(created), timeout=120)
        delivered = Counter((e["object"]["type"], str(e["object"]["id"])) for e in receiver.events())
    duplicate_ids = len(created) - len(set(created))
    lost = [k for k in created if k not in delivered]
    twice = [k for k, n in delivered.items() if n > 1]
    figure(f"scale-out: 2 servers + 2 workers, {len(created)} objects created, {duplicate_ids} duplicate ids, "
           f"{len(lost)} events lost, {len(twice)} delivered twice")
    assert duplicate_ids == 0
    assert lost == []
    assert twice == []
