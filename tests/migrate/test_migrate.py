"""A migration from a realistic-mode localsection (1 request/s, the 10,000 cap, strict inputs) into this server:
the new account answers like the source, also after an interrupted run was resumed."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from localsection.migrate.run import Migration
from localsection.migrate.source import Source
from localsection.migrate.state import load
from localsection.migrate.writer import Writer
from localsection.models import Account, Comment, Cost, MigratedId, Project, StoredFile, Task, User
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.helpers import Api
from tests.migrate.compare import norm
from tests.migrate.conftest import SEED, make_source
from tests.migrate.conftest import Source as SourceAccount


class Stop(Exception):
    """Stands for a crash or a Ctrl-C in the middle of a run."""


def run_migration(src: SourceAccount, state: AppState, name: str, state_path: Path, *,
                  stop_after: int | None = None, times: list[float] | None = None) -> Migration:
    seen = 0

    def on_request(_action: str) -> None:
        nonlocal seen
        seen += 1
        if stop_after is not None and seen > stop_after:
            raise Stop()
        if times is not None:
            times.append(time.monotonic())

    writer = Writer(state.db, name)
    writer.check_target()
    migration = Migration(Source(src.url, src.api_key, rate=1.0, on_request=on_request), writer,
                          load(state_path, src.url, name), state_path)
    try:
        migration.run()
    finally:
        migration.src.close()
    return migration


def target_api(state: AppState, client: Any, name: str) -> Api:
    with state.db.session(write=False) as s:
        acc = s.query(Account).filter_by(name=name).one()
        owner = s.get(User, acc.owner_id)
        assert owner is not None
        return Api(state, client, name, acc.id, acc.api_key, owner.id, owner.email, "")


def snapshot_source(src: SourceAccount) -> dict[str, Any]:
    """Every answer compared, from the source (realistic mode off for these reads)."""
    return snapshot(src.ok, src.get)


def snapshot_target(api: Api) -> dict[str, Any]:
    def download(action: str, **params: str) -> Any:
        return api.client.post(f"/api/admin/v2?action={action}", json=params,
                               headers={"Host": api.host, "Authorization": api.admin_header(action)})
    return snapshot(api.ok, download)


def snapshot(ok: Any, raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"users": norm(ok("get_users")), "teams": norm(ok("get_user_groups")),
                           "contacts": norm(ok("get_contacts")),
                           "projects": norm(ok("get_projects", extra="text,options,users")),
                           "task_tags": norm(ok("get_task_tags")), "project_tags": norm(ok("get_project_tags"))}
    tasks = ok("get_all_tasks", extra="text,files,subtasks,archive")
    out["all_tasks"] = norm(tasks)
    comments: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    per_project: dict[str, Any] = {}
    for project in ok("get_projects"):
        listed = ok("get_tasks", id_project=project["id"], extra="text,files,subtasks,subscribers,comments")
        per_project[project["name"]] = norm(listed)
    out["tasks"] = per_project

    def walk(items: list[dict[str, Any]]) -> None:
        for task in items:
            for f in task.get("files", []):
                files[f"{task['name']}/{f['name']}"] = raw("download", id_file=f["id"]).content
            rows = ok("get_comments", id_task=task["id"], extra="files")
            comments[task["name"]] = norm(rows)
            for c in rows:
                for f in c.get("files", []):
                    files[f"{task['name']}/{c['text']}/{f['name']}"] = raw("download", id_file=f["id"]).content
            walk(task.get("child", []))
    walk(tasks)
    out["comments"], out["files"] = comments, files
    out["costs"] = norm(ok("get_costs"))
    return out


def test_an_interrupted_migration_resumes_and_the_new_account_answers_like_the_source(
        backend: AppState, client: Any, source_server: str, tmp_path: Path) -> None:
    src = make_source(source_server, new_account_name(), SEED, realistic=True)
    name = new_account_name()
    state_path = tmp_path / "state.json"
    with pytest.raises(Stop):  # stopped in the comments phase, after the tasks were written
        run_migration(src, backend, name, state_path, stop_after=13)
    first = load(state_path, src.url, name)
    assert {"members", "tags", "projects"} <= first.done and "costs" not in first.done
    time.sleep(1)  # as a person would take to run the command again (the source's bucket refills)
    times: list[float] = []
    resumed = run_migration(src, backend, name, state_path, times=times)
    report = resumed.report()
    assert report["complete"] and report["not_copied"] == []
    assert report["copied"]["task"] == 6 and report["copied"]["comment"] == 3 and report["copied"]["file"] == 2

    # At most one request per second towards the source. The source's own clock and queue may still refuse one
    # now and then (a busy machine): then the client waited and asked again.
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0
    stats = resumed.src.stats
    assert stats.throttled <= 2 and stats.retries == stats.throttled

    src.realistic(False)
    expected = snapshot_source(src)
    got = snapshot_target(target_api(backend, client, name))
    for key in expected:
        assert got[key] == expected[key], key
    assert expected["files"] and all(expected["files"].values())

    # The id map in the database holds each source object once, and the state file has a copy of it.
    with backend.db.session(write=False) as s:
        acc = s.query(Account).filter_by(name=name).one()
        rows = s.query(MigratedId).filter_by(account_id=acc.id).count()
    assert rows == sum(report["copied"].values())
    assert load(state_path, src.url, name).ids["task"] == resumed.out.ids["task"]


def test_a_crash_between_a_commit_and_its_state_file_never_copies_anything_twice(
        backend: AppState, client: Any, source_server: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hardest moment to stop: a unit is committed, the state file not yet rewritten. Tried at every
    checkpoint of a run (a source without the rate limit, so it takes seconds)."""
    from localsection.migrate import run as run_module

    src = make_source(source_server, new_account_name(), SEED, realistic=False)
    real_save = run_module.save
    saves = 0

    def counting_save(path: Path, state: Any) -> None:
        nonlocal saves
        saves += 1
        real_save(path, state)

    monkeypatch.setattr(run_module, "save", counting_save)
    complete = run_fast(src, backend, new_account_name(), tmp_path / "whole.json")
    total, expected = saves, complete.report()["copied"]
    assert total > 10 and expected["task"] == 6

    for crash_at in range(1, total + 1):  # every checkpoint of the run
        calls = 0

        def crashing_save(path: Path, state: Any, crash_at: int = crash_at) -> None:
            nonlocal calls
            calls += 1
            if calls == crash_at:
                raise Stop()
            real_save(path, state)

        name, state_path = new_account_name(), tmp_path / f"crash-{crash_at}.json"
        monkeypatch.setattr(run_module, "save", crashing_save)
        with pytest.raises(Stop):
            run_fast(src, backend, name, state_path)
        monkeypatch.setattr(run_module, "save", real_save)
        resumed = run_fast(src, backend, name, state_path)
        assert resumed.report()["copied"] == expected, crash_at
        assert rows_of(backend, name) == {"Task": 6, "Comment": 3, "Cost": 3, "StoredFile": 2, "Project": 2,
                                          "User": 4, "MigratedId": sum(expected.values())}, crash_at


def rows_of(state: AppState, name: str) -> dict[str, int]:
    """How many rows of each kind the account holds."""
    with state.db.session(write=False) as s:
        acc = s.scalars(select(Account).where(Account.name == name)).one()
        return {m.__name__: s.scalar(select(func.count()).select_from(m).where(m.account_id == acc.id)) or 0
                for m in (Task, Comment, Cost, StoredFile, Project, User, MigratedId)}


def run_fast(src: SourceAccount, state: AppState, name: str, state_path: Path) -> Migration:
    writer = Writer(state.db, name)
    writer.check_target()
    migration = Migration(Source(src.url, src.api_key, rate=1000.0), writer, load(state_path, src.url, name),
                          state_path)
    try:
        migration.run()
    finally:
        migration.src.close()
    return migration
