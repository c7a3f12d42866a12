"""The integrators' kit seen through the official SDK against a real server (SQLite and PostgreSQL): a fixture's
objects read back exactly, faults fire exactly `times` times and raise what the SDK raises, webhook deliveries
are logged, and realistic mode refuses what the real service refuses."""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Server, emulator_server
from tests.conftest import BACKENDS, new_account_name
from tests.control.test_fixtures import docs_example
from tests.webhook_receiver import running_receiver


@pytest.fixture(scope="module", params=BACKENDS)
def kit(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with emulator_server(request.param, Path(tmp_path_factory.mktemp("kit")), "ls_kit") as srv:
        yield srv


def new_account(server: Server, **extra: Any) -> dict[str, Any]:
    resp = httpx.post(f"{server.url}/_localsection/accounts", json={"name": new_account_name(), **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def sdk_for(account: dict[str, Any]) -> Any:
    from worksection.client import Client

    return Client(account["url"]).set_api_key(account["api_key"])


def control(server: Server, method: str, path: str, **kwargs: Any) -> Any:
    resp = httpx.request(method, f"{server.url}/_localsection{path}", timeout=30, **kwargs)
    assert resp.status_code < 300, resp.text
    return resp.json()


# -- fixtures -----------------------------------------------------------------------------------------

def test_every_kind_of_fixture_object_reads_back_exactly_through_the_sdk(kit: Server) -> None:
    account = new_account(kit)
    sdk = sdk_for(account)
    doc = docs_example()
    doc["account"] = account["account"]
    with running_receiver() as receiver:
        doc["data"]["webhooks"] = [{"key": "hook", "url": receiver.url, "events": ["post_task", "post_comment"],
                                    "projects": ["site"]}]
        ids = control(kit, "POST", "/fixtures", json=doc)["ids"]
    data = doc["data"]
    docs_users = {u["email"]: u for u in data["users"]}
    teams = {t["key"]: t for t in data["teams"]}

    users = {u.email: u for u in sdk.members.list()}
    assert set(users) == {account["owner"]["email"], *docs_users}
    for email, given in docs_users.items():
        got = users[email]
        assert int(got.id) == ids[given["key"]]
        assert (got.first_name, got.last_name) == (given.get("first_name", ""), given.get("last_name", ""))
        assert got.role == given.get("role", "user")
        assert got.group == teams[given["team"]]["title"]
    groups = {g.title: g for g in sdk.members.groups()}
    assert {t["title"]: bool(t.get("client")) for t in data["teams"]} == {
        t["title"]: bool(groups[t["title"]].client) for t in data["teams"]}

    [contact] = sdk.contacts.list()
    vendor = data["contacts"][0]
    assert (int(contact.id), contact.email, contact.name, contact.group, contact.phone) == (
        ids["vendor"], vendor["email"], vendor["name"], vendor["folder"], vendor["phone"])

    projects = {int(p.id): p for p in sdk.projects.list({"extra": "users"})}
    site, old = projects[ids["site"]], projects[ids["old"]]
    given_site = data["projects"][0]
    assert (site.name, site.status, site.date_start, site.date_end) == (
        given_site["title"], "active", given_site["date_start"], given_site["date_end"])
    assert site.user_to.email == "kate@acme.test"
    assert sorted(u.email for u in site.users) == sorted([account["owner"]["email"], "kate@acme.test",
                                                          "sam@acme.test", "carla@client.test"])
    assert list(site.tags.values()) == ["On track"]
    assert (old.name, old.status) == ("Old site", "archive")
    raw_site = sdk.call_admin_action_one("get_project", {"id_project": ids["site"], "extra": "options"})
    assert (raw_site["company"], raw_site["options"]["allow_close"], raw_site["max_time"]) == ("Clients", 1, 120)
    assert "Clients" in {g.title for g in sdk.projects.groups()}

    def task(key: str) -> Any:
        return sdk.tasks.get(ids[key], {"extra": "text"})

    home = task("home")
    given_home = data["tasks"][0]
    assert (home.name, int(home.priority), home.status) == (given_home["title"], 7, "active")
    assert (home.user_from.email, home.user_to.email) == ("kate@acme.test", "sam@acme.test")
    assert (home.date_start, home.date_end) == (given_home["date_start"], given_home["date_end"])
    assert sorted(home.tags.values()) == ["Feature", "To do"]
    assert home.text.startswith(given_home["text"]) and "Draft" in home.text
    hero, hero_img, footer, launch = task("hero"), task("hero-img"), task("footer"), task("launch")
    assert (hero.name, int(hero.priority), hero.user_to.email) == ("Hero banner", 5, "sam@acme.test")
    assert (hero_img.name, hero_img.status) == ("Pick the image", "done")
    assert hero_img.page == f"/project/{ids['site']}/{ids['home']}/{ids['hero-img']}/"
    assert (footer.name, list(footer.tags.values())) == ("Footer", ["Bug"])
    assert (launch.status, launch.user_to.email) == ("done", "kate@acme.test")
    top = sdk.tasks.list(ids["site"])
    assert [int(t.id) for t in top] == [ids["home"], ids["launch"]]

    comments = sdk.comments.list(ids["home"])
    assert [(int(c.id), c.text, c.user_from.email) for c in comments] == [
        (ids["c2"], "Looks good.", "kate@acme.test"), (ids["c1"], "First draft is up.", "sam@acme.test")]

    files = {int(f.id): f for f in sdk.files.list({"id_task": ids["home"]})}
    assert files[ids["brief"]].name == "brief.txt"
    for key, content in (("brief", b"Make it pop."), ("shot", b"\x89PNG\r\n\x1a\n")):
        sink = io.BytesIO()
        sdk.files.download(ids[key], sink)
        assert sink.getvalue() == content

    cost_rows = {int(c.id): c for c in sdk.costs.list()}
    k1, k2 = cost_rows[ids["k1"]], cost_rows[ids["k2"]]
    assert (k1.time, k1.date, k1.comment, k1.user_from.email, int(k1.task.id)) == (
        "1:30", "2026-01-06", "Layout", "sam@acme.test", ids["home"])
    assert (k2.money, k2.comment, k2.user_from.email, int(k2.task.id)) == (
        "250.00", "Stock photo", "kate@acme.test", ids["hero"])

    [timer] = sdk.timers.all()
    assert (int(timer.id), timer.user_from.email, int(timer.task.id)) == (ids["t1"], "sam@acme.test", ids["footer"])

    tags = {int(t.id): t for t in sdk.tasks.tags()}
    assert {k: tags[ids[k]].title for k in ("todo", "review", "bug", "feature")} == {
        "todo": "To do", "review": "In review", "bug": "Bug", "feature": "Feature"}
    groups_by_title = {g.title: g for g in sdk.tasks.tag_groups()}
    assert (groups_by_title["Stage"].type, groups_by_title["Kind"].type) == ("status", "label")
    assert [g.title for g in sdk.projects.tag_groups()] == ["Health"]
    [hook] = sdk.webhook.list()
    assert (int(hook.id), hook.url, hook.events, hook.projects) == (
        ids["hook"], receiver.url, "post_task,post_comment", str(ids["site"]))


# -- faults -------------------------------------------------------------------------------------------

def test_faults_fire_exactly_times_times_and_the_sdk_raises_what_they_answer(kit: Server) -> None:
    from worksection.exceptions.response_exception import ResponseException

    account = new_account(kit)
    sdk = sdk_for(account)
    name = account["account"]
    try:
        rule = control(kit, "POST", "/faults", json={"action": "get_users", "account": name, "http_status": 429,
                                                     "times": 3})
        for _ in range(3):
            with pytest.raises(ResponseException) as caught:
                sdk.members.list()
            assert (caught.value.status_code, str(caught.value)) == (429, "Too many requests")
        assert [u.email for u in sdk.members.list()] == [account["owner"]["email"]]
        listed = {r["id"]: r for r in control(kit, "GET", "/faults")["faults"]}
        assert (listed[rule["id"]]["fired"], listed[rule["id"]]["matched"]) == (3, 3)

        control(kit, "POST", "/faults", json={"action": "get_projects", "account": name, "http_status": 503,
                                              "times": 1})
        with pytest.raises(ResponseException) as caught:
            sdk.projects.list()
        assert (caught.value.status_code, str(caught.value)) == (503, "Service Unavailable")

        project = sdk.projects.create("Faulty")
        control(kit, "POST", "/faults", json={"action": "post_task", "account": name, "status_code": 8,
                                              "message": "Task is closed", "times": 1})
        with pytest.raises(ResponseException, match=r"^post_task: Task is closed$"):
            sdk.tasks.create(int(project.id), "Never written")
        assert sdk.tasks.list(int(project.id)) == []

        control(kit, "POST", "/faults", json={"action": "get_users", "account": name, "drop": True, "times": 1})
        with pytest.raises((http.client.HTTPException, urllib.error.URLError, ConnectionError)):
            sdk.members.list()
        assert len(sdk.members.list()) == 1

        control(kit, "POST", "/faults", json={"action": "get_users", "account": name, "latency_ms": 400,
                                              "times": 1})
        started = time.perf_counter()
        assert len(sdk.members.list()) == 1
        assert time.perf_counter() - started >= 0.39

        ids = control(kit, "POST", "/fixtures", json={"account": name, "data": {"tasks": [
            {"key": "t", "project": "p", "title": "With a file", "files": [{"key": "f", "name": "a.txt",
                                                                          "text": "hello"}]}],
            "projects": [{"key": "p", "title": "Files"}]}})["ids"]
        control(kit, "POST", "/faults", json={"action": "download", "account": name, "http_status": 500,
                                              "times": 1})
        with pytest.raises(ResponseException, match="Internal Server Error"):
            sdk.files.download(ids["f"], io.BytesIO())
        sink = io.BytesIO()
        sdk.files.download(ids["f"], sink)
        assert sink.getvalue() == b"hello"
        rows = control(kit, "GET", "/faults")["faults"]
        assert [r["fired"] for r in rows if r["account"] == name] == [3, 1, 1, 1, 1, 1]
    finally:
        control(kit, "DELETE", "/faults")


def test_a_probability_rule_with_a_seed_fails_the_same_sdk_calls_each_run(kit: Server) -> None:
    from worksection.exceptions.response_exception import ResponseException

    account = new_account(kit)
    sdk = sdk_for(account)

    def run() -> list[bool]:
        control(kit, "DELETE", "/faults")
        control(kit, "POST", "/faults", json={"account": account["account"], "http_status": 502,
                                              "probability": 0.5, "seed": 1234})
        out = []
        for _ in range(12):
            try:
                sdk.members.list()
                out.append(True)
            except ResponseException:
                out.append(False)
        return out

    try:
        first = run()
        assert first == run() and True in first and False in first
    finally:
        control(kit, "DELETE", "/faults")


def test_a_delay_never_holds_up_other_requests(kit: Server) -> None:
    account = new_account(kit)
    sdk = sdk_for(account)
    control(kit, "POST", "/faults", json={"action": "get_users", "account": account["account"], "latency_ms": 1500,
                                          "times": 1})
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow = pool.submit(sdk.members.list)
            time.sleep(0.2)  # the slow call is waiting on the server now
            started = time.perf_counter()
            assert sdk.projects.list() == []
            assert time.perf_counter() - started < 1.0
            assert not slow.done()
            assert len(slow.result(timeout=10)) == 1
    finally:
        control(kit, "DELETE", "/faults")


# -- deliveries ---------------------------------------------------------------------------------------

def test_deliveries_show_what_the_worker_posted_to_a_real_receiver(kit: Server) -> None:
    account = new_account(kit)
    sdk = sdk_for(account)
    with running_receiver() as receiver:
        hook_id = sdk.webhook.create(receiver.url, ["post_project"], {"http_user": "me", "http_pass": "pw-secret"})
        project = sdk.projects.create("Delivered")
        deadline = time.time() + 30
        rows: list[dict[str, Any]] = []
        while time.time() < deadline and not rows:
            rows = control(kit, "GET", "/deliveries", params={"account": account["account"]})["deliveries"]
            time.sleep(0.1)
    [row] = rows
    assert (row["webhook"], row["ok"], row["http_status"], row["events"]) == (hook_id, True, 200, ["post_project"])
    assert row["http_pass"] == "***" and "pw-secret" not in str(row)
    assert [(e["action"], e["object"]["id"]) for e in row["payload"]] == [("post", str(project.id))]
    assert row["payload"] == receiver.accepted()[0].json()


# -- realistic mode -----------------------------------------------------------------------------------

def test_realistic_mode_through_the_sdk(kit: Server) -> None:
    from worksection.exceptions.response_exception import ResponseException

    account = new_account(kit, realistic=True)
    sdk = sdk_for(account)
    sdk.members.list()
    with pytest.raises(ResponseException) as caught:
        sdk.members.list()
    assert (caught.value.status_code, str(caught.value)) == (429, "Too many requests")
    time.sleep(1.05)
    project = sdk.projects.create("Strict")
    time.sleep(1.05)
    with pytest.raises(ResponseException, match=r"^post_task: Invalid date$"):
        sdk.tasks.create(int(project.id), "ISO", {"dateend": "2026-12-31"})
    time.sleep(1.05)
    with pytest.raises(ResponseException, match=r"^post_task: Invalid priority$"):
        sdk.tasks.create(int(project.id), "Words", {"priority": "high"})
    time.sleep(1.05)
    task = sdk.tasks.create(int(project.id), "Protocol", {"dateend": "31.12.2026", "priority": 9})
    assert (task.date_end, int(task.priority)) == ("2026-12-31", 9)
    # Back to normal: no limit, lenient inputs.
    control(kit, "POST", f"/accounts/{account['account']}", json={"realistic": False})
    lenient = sdk.tasks.create(int(project.id), "ISO", {"dateend": "2026-12-31", "priority": "high"})
    assert (lenient.date_end, int(lenient.priority)) == ("2026-12-31", 10)
    assert len(sdk.tasks.list(int(project.id))) == 2
