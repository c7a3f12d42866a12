"""No N+1: task lists with every extra issue the same number of SQL statements for 10 and for 100 tasks."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import insert

from localsection import clock
from localsection.models import Comment, StoredFile, Tag, TagGroup, Task, TaskRelation, TaskSubscriber, TaskTag
from tests.factories import make_project
from tests.helpers import Api, counted_statements

EVERY_EXTRA = "text,html,files,comments,relations,subtasks,subscribers,custom_fields"


def seed(api: Api, pid: int, n: int) -> None:
    """n top tasks, each with a subtask and a sub-subtask, two comments, a file, a tag, a subscriber and a relation."""
    now = clock.now()
    with api.state.db.session() as s:
        group = TagGroup(account_id=api.account_id, applies_to="task", title=f"g{n}", type="label", access="public")
        s.add(group)
        s.flush()
        tag = Tag(account_id=api.account_id, group_id=group.id, title=f"t{n}")
        s.add(tag)
        s.flush()
        common = {"account_id": api.account_id, "project_id": pid, "user_from_id": api.owner_id, "date_added": now,
                  "todo": ["a"], "mentions": [api.owner_id], "text": "x"}
        tops = [Task(name=f"top {i}", name_folded=f"top {i}", **common) for i in range(n)]
        s.add_all(tops)
        s.flush()
        subs = [Task(name="sub", name_folded="sub", parent_id=t.id, top_id=t.id, depth=1, **common) for t in tops]
        s.add_all(subs)
        s.flush()
        s.add_all([Task(name="subsub", name_folded="subsub", parent_id=t.id, top_id=t.top_id, depth=2, **common)
                   for t in subs])
        ids = [t.id for t in tops]
        s.execute(insert(Comment), [{"account_id": api.account_id, "task_id": i, "text": f"c{k}", "todo": [],
                                     "mentions": [], "user_from_id": api.owner_id, "date_added": now}
                                    for i in ids for k in range(2)])
        s.execute(insert(StoredFile), [{"account_id": api.account_id, "sha256": "0" * 64, "size": 1, "name": "f",
                                        "project_id": pid, "task_id": i, "user_from_id": api.owner_id,
                                        "date_added": now} for i in ids])
        s.execute(insert(TaskTag), [{"task_id": i, "tag_id": tag.id} for i in ids])
        s.execute(insert(TaskSubscriber), [{"task_id": i, "user_id": api.owner_id} for i in ids])
        s.execute(insert(TaskRelation), [{"from_task_id": a, "to_task_id": b, "type": "finish-to-start"}
                                         for a, b in itertools.pairwise(ids)])


def statements_for(api: Api, action: str, **params: Any) -> tuple[int, Any]:
    with counted_statements(api) as seen:
        data = api.ok(action, **params)
    return len(seen), data


def test_get_tasks_with_every_extra_issues_the_same_number_of_queries_for_10_and_100_tasks(api: Api) -> None:
    small, large = make_project(api, "small"), make_project(api, "large")
    seed(api, small, 10)
    seed(api, large, 100)
    n_small, data_small = statements_for(api, "get_tasks", id_project=small, extra=EVERY_EXTRA)
    n_large, data_large = statements_for(api, "get_tasks", id_project=large, extra=EVERY_EXTRA)
    assert (len(data_small), len(data_large)) == (10, 100)
    assert n_small == n_large
    assert data_large[50]["child"][0]["child"][0]["name"] == "subsub"
    assert len(data_large[50]["comments"]) == 2 and data_large[50]["files"]
    assert data_large[50]["relations"].keys() == {"from", "to"}


def test_get_all_tasks_with_every_extra_issues_the_same_number_of_queries_for_10_and_100_tasks(
        api: Api, other: Api) -> None:
    seed(api, make_project(api), 10)
    seed(other, make_project(other), 100)
    n_small, data_small = statements_for(api, "get_all_tasks", extra=EVERY_EXTRA)
    n_large, data_large = statements_for(other, "get_all_tasks", extra=EVERY_EXTRA)
    assert (len(data_small), len(data_large)) == (10, 100)
    assert n_small == n_large


def test_lists_above_the_inline_id_limit_still_load_every_related_row_in_the_same_queries(api: Api) -> None:
    small, large = make_project(api, "small"), make_project(api, "large")
    seed(api, small, 10)
    seed(api, large, 700)  # 2,100 tasks with children: ids travel as one array / JSON parameter
    n_small, _ = statements_for(api, "get_tasks", id_project=small, extra=EVERY_EXTRA)
    n_large, data = statements_for(api, "get_tasks", id_project=large, extra=EVERY_EXTRA)
    assert n_small == n_large
    assert len(data) == 700
    assert all(t["has_comments"] == 1 and len(t["files"]) == 1 and t["tags"] and t["subscribers"] for t in data)
    assert all(t["child"][0]["child"][0]["text"].endswith(">Owner</a>") for t in data)
