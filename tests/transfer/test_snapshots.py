"""Control API snapshots in-process: bad input answers 400/404 and changes nothing; a whole-server snapshot brings
back every account and removes the ones made since; restoring a small account is fast."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from localsection.app import create_app
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.factories import make_project, make_task
from tests.helpers import Api
from tests.transfer.conftest import fresh_state


def control(state: AppState) -> TestClient:
    return TestClient(create_app(state=AppState(state.settings.with_(emulator=True), state.db)),
                      base_url="http://testserver")


@pytest.fixture
def ctl(backend: AppState) -> TestClient:
    return control(backend)


@pytest.fixture
def own_server(backend: AppState, tmp_path: Path) -> Iterator[tuple[AppState, TestClient]]:
    """A server of its own (a whole-server restore must not touch the accounts of other tests)."""
    with ExitStack() as stack:
        state = fresh_state(backend.db.dialect.replace("postgresql", "postgres"), tmp_path / "own", stack)
        with TestClient(create_app(state=state), base_url="http://testserver") as client:
            yield state, client


@pytest.mark.parametrize("name", ["-x", "a b", "x" * 65, "../etc", ".hidden"])
def test_a_bad_snapshot_name_is_a_400_and_nothing_is_written(ctl: TestClient, name: str) -> None:
    resp = ctl.post(f"/_localsection/snapshots/{name}", json={})
    assert resp.status_code in (400, 404)
    assert resp.json()["status"] == "error"
    assert name not in [s["name"] for s in ctl.get("/_localsection/snapshots").json()["snapshots"]]


def test_unknown_accounts_and_snapshots_are_404s(ctl: TestClient) -> None:
    resp = ctl.post("/_localsection/snapshots/nope", json={"account": "no-such-account"})
    assert (resp.status_code, resp.json()["message"]) == (404, "no account named no-such-account")
    assert ctl.post("/_localsection/snapshots/never-made/restore").status_code == 404
    assert ctl.delete("/_localsection/snapshots/never-made").status_code == 404
    bad = ctl.post("/_localsection/snapshots/x", content=b"[1]")
    assert (bad.status_code, bad.json()["message"]) == (400, "the body must be a JSON object")


def test_an_account_snapshot_restores_that_account_only(ctl: TestClient, api: Api, other: Api) -> None:
    project = make_project(api, "Kept")
    make_task(api, project, "Kept task")
    assert ctl.post("/_localsection/snapshots/only-" + api.account, json={"account": api.account}).status_code == 201
    api.ok("post_task", id_project=project, title="Later")
    other.ok("post_project", title="Other's work")
    assert ctl.post(f"/_localsection/snapshots/only-{api.account}/restore").status_code == 200
    assert [t["name"] for t in api.ok("get_all_tasks")] == ["Kept task"]
    assert [p["name"] for p in other.ok("get_projects")] == ["Other's work"]
    ctl.delete(f"/_localsection/snapshots/only-{api.account}")


def test_a_server_snapshot_restores_every_account_and_drops_later_ones(own_server: tuple[AppState, TestClient]) -> None:
    state, client = own_server
    ctl = control(state)
    first = Api.create(state, client, new_account_name())
    make_project(first, "First's")
    assert ctl.post("/_localsection/snapshots/all", json={}).json()["snapshot"]["scope"] == "server"
    later = Api.create(state, client, new_account_name())
    first.ok("post_project", title="Changed")
    restored = ctl.post("/_localsection/snapshots/all/restore")
    assert restored.status_code == 200, restored.text
    assert [p["name"] for p in first.ok("get_projects")] == ["First's"]
    resp = client.post(f"/a/{later.account}/api/admin/v2?action=get_users",
                       headers={"Authorization": later.admin_header("get_users")})
    assert resp.status_code == 404  # the account made after the snapshot is gone


def test_restoring_a_small_account_takes_tens_of_milliseconds(ctl: TestClient, api: Api,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    for p in range(3):
        project = make_project(api, f"P{p}")
        for t in range(10):
            make_task(api, project, f"Task {p}.{t}")
    name = "small-" + api.account
    ctl.post(f"/_localsection/snapshots/{name}", json={"account": api.account})
    times = []
    for _ in range(5):
        started = time.perf_counter()
        resp = ctl.post(f"/_localsection/snapshots/{name}/restore")
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200
    ctl.delete(f"/_localsection/snapshots/{name}")
    with capsys.disabled():
        print(f"\n  restore of a 30-task account: median {statistics.median(times):.1f} ms over HTTP")
    assert statistics.median(times) < 1000
