"""Online backup while the server takes writes, restore into a fresh data directory / database, and the restored
server answers like the original did at backup time (issue 16, item 2). Through the real CLI and real servers."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from localsection import clock
from localsection.app import create_app
from localsection.dev import temporary_postgres_database
from tests.compat.conftest import Server, running_server
from tests.conftest import BACKENDS, PG_URL
from tests.helpers import Api

CASES = [("sqlite", "sqlite"), ("sqlite", "logical")] + (
    [("postgres", "pg_dump"), ("postgres", "logical")] if "postgres" in BACKENDS else [])
NEEDS = {"pg_dump": "pg_dump", "sqlite": None, "logical": None}


def admin(srv: Server, action: str) -> dict[str, str]:
    t = int(time.time())
    sig = hmac.new(srv.api_key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
    return {"Authorization": f"Admin {t}_{sig}"}


def download(srv: Server, file_id: str) -> bytes:
    resp = httpx.get(f"{srv.url}/download/{file_id}/", headers=admin(srv, "download"), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.content


def call(srv: Server, action: str, files: dict[str, Any] | None = None, **params: Any) -> Any:
    headers = admin(srv, action)
    url = f"{srv.url}/api/admin/v2/?action={action}"
    if files:
        resp = httpx.post(url, data={k: str(v) for k, v in params.items()}, files=files, headers=headers, timeout=30)
    else:
        resp = httpx.post(url, json=params or None, headers=headers, timeout=30)
    body = resp.json()
    assert body["status"] == "ok", body
    return body.get("data", body)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localsection", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[dict[str, dict[str, str]]]:
    """Environment overrides for a source and a target server of each kind."""
    with ExitStack() as stack:
        out = {"sqlite": {"source": {}, "target": {}}, "postgres": {"source": {}, "target": {}}}
        if "postgres" in BACKENDS:
            for role in ("source", "target"):
                url = stack.enter_context(temporary_postgres_database(PG_URL, f"ls_bk_{role}"))
                assert url is not None
                out["postgres"][role] = {"LOCALSECTION_DATABASE_URL": url}
        yield out  # type: ignore[misc]


def same_origin(data: Any, src: Server, dst: Server) -> str:
    return json.dumps(data, sort_keys=True).replace(src.url, dst.url)


@pytest.mark.parametrize(("kind", "method"), CASES)
def test_a_backup_taken_under_writes_restores_into_a_fresh_server_that_answers_the_same(
        kind: str, method: str, tmp_path: Path, databases: dict[str, dict[str, dict[str, str]]]) -> None:
    tool = NEEDS[method]
    if tool is not None and shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    archive = tmp_path / "server.backup"
    with running_server(tmp_path / "source", databases[kind]["source"]) as src:
        project = call(src, "post_project", title="Backed up", email_manager=src.owner_email)
        call(src, "add_user", email="kate@example.com")
        for i in range(10):
            call(src, "post_task", id_project=project["id"], title=f"Before {i}")
        attached = call(src, "post_task", {"attach[0]": ("notes.bin", bytes(range(256)) * 100)},
                        id_project=project["id"], title="With a file")
        before = {t["id"] for t in call(src, "get_all_tasks")}
        stop = threading.Event()
        written: list[str] = []

        def writer() -> None:
            while not stop.is_set():
                written.append(call(src, "post_task", id_project=project["id"], title=f"During {len(written)}")["id"])

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            time.sleep(0.3)
            made = cli(src.env, "backup", "--output", str(archive), "--method", method)
        finally:
            stop.set()
            thread.join()
        assert made.returncode == 0, made.stderr
        assert f"backup ({method})" in made.stderr
        assert len(written) > 0  # the server took writes while the backup ran
        source_tasks = {t["id"]: t for t in call(src, "get_all_tasks", extra="text,files")}
        source_users = call(src, "get_users")
        files = call(src, "get_files", id_task=attached["id"])
        source_bytes = download(src, files[0]["id"])
    target_env = {"LOCALSECTION_DATA_DIR": str(tmp_path / "target"), **databases[kind]["target"]}
    env = {**src.env, **target_env}
    if "LOCALSECTION_DATABASE_URL" not in target_env:
        env.pop("LOCALSECTION_DATABASE_URL", None)
    restored = cli(env, "restore", "--input", str(archive))
    assert restored.returncode == 0, restored.stderr
    with running_server(tmp_path / "target", databases[kind]["target"]) as dst:
        assert dst.api_key == src.api_key
        tasks = {t["id"]: t for t in call(dst, "get_all_tasks", extra="text,files")}
        assert before <= set(tasks) <= set(source_tasks)
        for task_id, task in tasks.items():
            assert same_origin(task, src, dst) == same_origin(source_tasks[task_id], src, dst)
        assert same_origin(call(dst, "get_users"), src, dst) == same_origin(source_users, src, dst)
        assert download(dst, files[0]["id"]) == source_bytes == bytes(range(256)) * 100
        if method == "sqlite":  # once is enough: restoring over a server that holds accounts needs --force
            again = cli(env, "restore", "--input", str(archive))
            assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr


def test_a_logical_backup_moves_a_whole_server_to_the_other_database_kind(tmp_path: Path) -> None:
    """SQLite -> PostgreSQL (or SQLite -> SQLite when PostgreSQL is absent), in-process: every account and file."""
    from localsection.transfer import backup as backups
    from tests.transfer.conftest import fresh_state
    from tests.transfer.world import answers, fill

    with ExitStack() as stack:
        source = fresh_state("sqlite", tmp_path / "source", stack)
        target = fresh_state("postgres" if "postgres" in BACKENDS else "sqlite", tmp_path / "target", stack)
        src_client = stack.enter_context(TestClient(create_app(state=source), base_url="http://testserver"))
        dst_client = stack.enter_context(TestClient(create_app(state=target), base_url="http://testserver"))
        api = Api.create(source, src_client, "moving")
        world = fill(api)
        clock.freeze(True)
        stack.callback(clock.reset)
        before = answers(api, world)
        archive = io.BytesIO()
        assert backups.backup(source.db, archive, method="logical").method == "logical"
        result = backups.restore(target.settings, io.BytesIO(archive.getvalue()))
        assert result.method == "logical" and result.files >= 3
        after = answers(replace(api, state=target, client=dst_client), world)
        assert after == before
