"""The per-request hot path: one task in few statements, answers identical to the list renderer's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select

from localsection import accounts
from localsection.db import Prepared, prepared_insert
from localsection.models import Event, Task
from tests.factories import make_project
from tests.helpers import Api, counted_statements


def _statements(api: Api, action: str, **params: Any) -> tuple[int, Any]:
    with counted_statements(api) as seen:
        data = api.ok(action, **params)
    return len(seen), data


def _tagged_task(api: Api, **fields: str) -> tuple[int, str]:
    project = make_project(api, "Hot path")
    group = api.ok("add_task_tag_groups", type="label", access="public", title="Hot labels")[0]["id"]
    api.ok("add_task_tags", group=str(group), title="Beta,Alpha")
    api.add_user("dev@example.com")
    task = api.ok("post_task", id_project=project, title="Render me", email_user_to="dev@example.com",
                  tags="Alpha,Beta", datestart="01.02.2026", max_time="3", **fields)
    return project, task["id"]


def _tagged_project(api: Api, task_id: str) -> str:
    return str(api.ok("get_task", id_task=task_id)["project"]["id"])


def test_get_task_answers_with_three_statements_account_task_and_everything_it_refers_to(api: Api) -> None:
    _, task_id = _tagged_task(api)
    sub = api.ok("post_task", id_project=_tagged_project(api, task_id), id_parent=task_id, title="Child")["id"]
    n, data = _statements(api, "get_task", id_task=sub)
    assert n <= 3
    assert data["parent"]["id"] == task_id and data["parent"]["name"] == "Render me"


def test_get_task_returns_the_same_object_as_the_task_list(api: Api) -> None:
    project, task_id = _tagged_task(api, text="See @dev", mention="dev@example.com")
    for extra in ("", "text", "html"):
        single = api.ok("get_task", id_task=task_id, extra=extra)
        listed = next(t for t in api.ok("get_tasks", id_project=project, extra=extra) if t["id"] == task_id)
        assert single == listed
    assert list(single["tags"].values()) == ["Beta", "Alpha"]  # ordered by tag id, as in lists
    assert single["user_to"]["email"] == "dev@example.com"


def test_a_subtask_names_its_parent_like_the_parent_describes_itself(api: Api) -> None:
    _, task_id = _tagged_task(api)
    project = _tagged_project(api, task_id)
    sub = api.ok("post_task", id_project=project, id_parent=task_id, title="Child")["id"]
    subsub = api.ok("post_task", id_project=project, id_parent=sub, title="Grandchild")["id"]
    sub_obj = api.ok("get_task", id_task=sub)
    ref = {k: sub_obj[k] for k in ("id", "name", "page", "status", "priority")}
    assert api.ok("get_task", id_task=subsub)["parent"] == ref


def test_a_rotated_admin_key_is_refused_on_the_very_next_request(api: Api) -> None:
    assert api.call("get_task_custom_fields")["status"] == "ok"
    with api.state.db.session() as s:
        new_key = accounts.rotate_key(s, api.account).api_key
    assert api.call("get_task_custom_fields")["status"] == "error"
    api.api_key = new_key
    assert api.call("get_task_custom_fields")["status"] == "ok"


def test_post_comment_and_add_costs_answer_with_the_stored_rows(api: Api) -> None:
    _, task_id = _tagged_task(api)
    posted = api.ok("post_comment", id_task=task_id, text="Stored", todo=["one"], mention="dev@example.com")
    assert api.ok("get_comments", id_task=task_id) == [posted]
    added = api.call("add_costs", id_task=task_id, time="0:10", email_user_from=api.owner_email)
    costs = api.call("get_costs", id_task=task_id)
    assert [str(r["id"]) for r in costs["data"]] == [str(added["id"])]


def test_prepared_statements_read_and_write_the_values_sqlalchemy_does(api: Api) -> None:
    # db.Prepared runs these straight on the SQLite driver: every type conversion must match SQLAlchemy's.
    _, task_id = _tagged_task(api, text="See @dev", mention="dev@example.com", todo="First,Second")
    api.ok("update_task", id_task=task_id, max_money="12.50", dateend="03.02.2026")
    stmt = select(*Task.__table__.c).where(Task.id == bindparam("id"))
    values = {"account_id": api.account_id, "project_id": None, "action": "post", "object_type": "task",
              "object_id": int(task_id), "page": "/p/", "user_id": api.owner_id, "new": {"name": "é", "n": 1},
              "old": None, "date_added": dt.datetime(2026, 1, 2, 3, 4, 5, 6)}
    keys = list(values)
    with api.state.db.session() as s:
        expected = [tuple(r) for r in s.connection().execute(stmt, {"id": int(task_id)}).all()]
        assert Prepared(stmt).all(s, {"id": int(task_id)}) == expected
        assert expected[0][Task.__table__.c.keys().index("max_money")] == Decimal("12.50")
        by_core = s.connection().execute(insert(Event).returning(Event.id), values).scalar_one()
        by_prepared = prepared_insert(Event, keys).all(s, values)[0][0]
        rows = s.connection().execute(select(*[Event.__table__.c[k] for k in keys])
                                      .where(Event.id.in_([by_core, by_prepared])).order_by(Event.id)).all()
        raw = s.connection().exec_driver_sql(
            f"SELECT new, old, date_added FROM events WHERE id IN ({by_core}, {by_prepared}) ORDER BY id").all()
    assert rows[0] == rows[1] and rows[0].new == {"name": "é", "n": 1} and rows[0].old is None
    assert raw[0] == raw[1]  # stored identically, JSON null and timestamp text included
