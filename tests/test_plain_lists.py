"""Task lists without extras are rendered in one pass over driver rows (render.tasks.plain_task_objects). Their
answers must be the very objects the general renderer (render_tasks) gives for the same tasks: same keys in the
same order, same values, whatever the database, the account's time zone or the caller."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import update

from localsection import access
from localsection.domain import tasks
from localsection.models import Account, Task, Team, User
from localsection.read import tasks as read_tasks
from localsection.read.tasks import select_list_rows
from localsection.render.tasks import plain_task_objects, render_tasks
from tests.factories import make_project, make_task
from tests.helpers import Api


def _varied_project(api: Api, members: list[int] | None = None) -> tuple[int, list[int]]:
    """A project whose tasks use every field a plain task object can show."""
    pid = make_project(api, "Plain lists", members=members)
    public = api.ok("add_task_tag_groups", type="label", access="public", title="Open labels")[0]["id"]
    private = api.ok("add_task_tag_groups", type="label", access="private", title="Closed labels")[0]["id"]
    api.ok("add_task_tags", group=str(public), title="Beta,Alpha")
    api.ok("add_task_tags", group=str(private), title="Secret")
    dev = api.add_user("dev@example.com")
    gone = api.add_user("gone@example.com")
    day = dt.datetime(2026, 3, 4, 23, 45, 12, 345678)
    ids = [
        make_task(api, pid, "plain", date_added=day),
        make_task(api, pid, "assigned", user_to_id=int(dev["id"]), date_start=dt.date(2026, 1, 2),
                  date_end=dt.date(2026, 1, 9), time_start="09:30", time_end="18:00", max_time=Decimal("2.5"),
                  max_money=Decimal("1234.57"), priority=10),
        make_task(api, pid, "anyone", user_to_any=True, max_time=Decimal("3"), max_money=Decimal("0.10")),
        make_task(api, pid, "done", status="done", date_closed=dt.datetime(2026, 5, 6, 0, 5, 59),
                  user_from_id=int(gone["id"])),
        make_task(api, pid, "closed date but active", date_closed=dt.datetime(2026, 5, 6, 7, 8)),
    ]
    api.ok("update_task", id_task=str(ids[0]), tags="Alpha,Beta,Secret")
    api.ok("update_task", id_task=str(ids[2]), tags="Secret")
    sub = make_task(api, pid, "sub", parent_id=ids[1])
    ids += [sub, make_task(api, pid, "subsub", parent_id=sub)]
    return pid, ids


def _both_lists(api: Api, pid: int, email: str | None = None) -> tuple[list[Any], list[Any]]:
    with api.ctx(email, write=False) as ctx:
        general = render_tasks(ctx, tasks.list_tasks(ctx, project_id=pid), set())
        plain = plain_task_objects(ctx, tasks.list_tasks(ctx, project_id=pid, plain=True))
    return general, plain


def _both_searches(api: Api, pid: int, email: str | None = None) -> tuple[list[Any], list[Any]]:
    search = tasks.TaskSearch(project_id=pid)
    with api.ctx(email, write=False) as ctx:
        general = render_tasks(ctx, tasks.search_tasks(ctx, search), set(), with_parent=True)
        plain = plain_task_objects(ctx, tasks.search_tasks(ctx, search, plain=True), with_parent=True)
    return general, plain


def _same(general: list[Any], plain: list[Any]) -> None:
    assert orjson.dumps(plain) == orjson.dumps(general)  # byte for byte: key order too


def test_a_plain_list_is_the_general_renderers_list_byte_for_byte(api: Api) -> None:
    pid, ids = _varied_project(api)
    general, plain = _both_lists(api, pid)
    _same(general, plain)
    assert [t["id"] for t in plain] == [str(i) for i in ids[:5]]
    assert plain[0]["date_added"] == "2026-03-04 23:45"
    assert plain[1]["max_time"] == 2.5 and plain[1]["max_money"] == 1234.57 and plain[2]["max_time"] == 3
    assert "date_closed" in plain[3] and "date_closed" not in plain[4]
    assert set(plain[0]["tags"].values()) == {"Alpha", "Beta", "Secret"}
    assert api.ok("get_tasks", id_project=pid) == plain


def test_search_with_parents_is_the_general_renderers_answer(api: Api) -> None:
    pid, ids = _varied_project(api)
    general, plain = _both_searches(api, pid)
    _same(general, plain)
    assert plain[-1]["parent"]["id"] == str(ids[5]) and plain[-2]["parent"]["id"] == str(ids[1])
    assert api.ok("search_tasks", id_project=pid) == plain


def test_account_time_zone_and_a_deactivated_author_render_alike(api: Api) -> None:
    pid, _ = _varied_project(api)
    with api.state.db.session() as s:
        s.execute(update(Account).where(Account.id == api.account_id).values(timezone="Asia/Kathmandu"))
        s.execute(update(User).where(User.account_id == api.account_id, User.email == "gone@example.com")
                  .values(is_active=False))
    general, plain = _both_lists(api, pid)
    _same(general, plain)
    assert plain[0]["date_added"] == "2026-03-05 05:30"  # +05:45
    _same(*_both_searches(api, pid))


def test_a_client_team_member_sees_no_private_tags_in_either(api: Api) -> None:
    client = int(api.add_user("client@example.com")["id"])
    with api.state.db.session() as s:
        team = Team(account_id=api.account_id, title="Client co", client=True)
        s.add(team)
        s.flush()
        s.execute(update(User).where(User.id == client).values(team_id=team.id))
    pid, _ = _varied_project(api, members=[client])
    general, plain = _both_lists(api, pid, "client@example.com")
    _same(general, plain)
    assert plain and all("Secret" not in (t.get("tags") or {}).values() for t in plain)
    _same(*_both_searches(api, pid, "client@example.com"))


def test_a_projects_tasks_are_read_through_the_account_project_index(api: Api) -> None:
    """search_tasks `project =` and get_tasks read one project's tasks in id order through
    ix_tasks_account_project (migration 0009), not by walking every task of the account."""
    if api.state.db.dialect != "sqlite":
        return  # PostgreSQL's planner chooses by table statistics; the index exists there too
    pid = make_project(api, "Indexed")
    make_task(api, pid, "one")
    with api.ctx(write=False) as ctx:
        query = select_list_rows().where(Task.account_id == ctx.account_id, Task.project_id == pid,
                                         access.task_filter(ctx)).order_by(Task.id)
        compiled = query.compile(dialect=ctx.db.get_bind().dialect, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r[3]) for r in ctx.db.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        # get_tasks' prebuilt statement for the admin (read.tasks.admin_project_rows) too
        prebuilt = read_tasks._PROJECT_LIST[False]._plan(ctx.db.get_bind().dialect)
        args = tuple(pid if name == "project" else ctx.account_id if name == "account" else
                     "2026-01-01 00:00:00.000000" if name == "now" else 10 for name, _ in prebuilt.steps)
        plan2 = " ".join(str(r[3]) for r in ctx.db.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {prebuilt.sql}", args))
    assert "ix_tasks_account_project" in plan and "TEMP B-TREE" not in plan, plan
    assert "ix_tasks_account_project" in plan2 and "TEMP B-TREE" not in plan2, plan2
