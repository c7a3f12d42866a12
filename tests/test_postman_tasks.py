"""Our responses carry every key of the Postman success examples (nested too) with the same JSON types.

The data mirrors the examples ("Owl brand launch": Development with files, comments, relations and two
levels of subtasks; Prototyping -> Development -> Testing). Documented decisions: complete_task returns
`done` (+ `date_closed`) where the example still shows `active` — values are not compared, only shapes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from localsection import clock
from localsection.models import StoredFile, TaskRelation, TaskSubscriber
from tests import postman
from tests.factories import make_comment, make_project, make_task
from tests.helpers import Api


def assert_shape(example: Any, ours: Any) -> None:
    """Pairwise: the examples' lists hold differently shaped items (a task with subtasks, then plain ones)."""
    postman.assert_shape(example, ours, lists="pairwise")


def owl(api: Api) -> dict[str, int]:
    """The data of the Postman task examples."""
    frank = int(api.add_user("frank.harper@example.com", first_name="Frank", last_name="Harper")["id"])
    api.add_user("kate.greenway@example.com", first_name="Kate", last_name="Greenway")
    pid = make_project(api, "Owl brand launch")
    dev = make_task(api, pid, "Development", priority=7, user_to_id=api.owner_id, text="Business logic programming",
                    date_start=dt.date(2021, 1, 16), date_end=dt.date(2021, 2, 16), time_start="08:00",
                    time_end="18:00", max_time=352, max_money=5280)
    sprint = make_task(api, pid, "Sprint 1", parent_id=dev, user_to_id=api.owner_id)
    subsprint = make_task(api, pid, "Subsprint 1.1", parent_id=sprint, user_to_id=api.owner_id)
    proto = make_task(api, pid, "Prototyping", date_start=dt.date(2021, 1, 10), date_end=dt.date(2021, 1, 15))
    test = make_task(api, pid, "Testing", date_start=dt.date(2021, 2, 17), date_end=dt.date(2021, 2, 24))
    base = clock.now() - dt.timedelta(hours=6)
    comment_ids = [make_comment(api, dev, f"comment {i}", date_added=base + dt.timedelta(minutes=i),
                                user_from_id=frank if i % 2 else api.owner_id) for i in range(6)]
    with api.state.db.session() as s:
        s.add_all([TaskRelation(from_task_id=proto, to_task_id=dev), TaskRelation(from_task_id=dev, to_task_id=test),
                   TaskSubscriber(task_id=dev, user_id=api.owner_id), TaskSubscriber(task_id=dev, user_id=frank),
                   TaskSubscriber(task_id=sprint, user_id=frank), TaskSubscriber(task_id=subsprint, user_id=frank)])
        s.add_all([TaskSubscriber(task_id=t, user_id=frank) for t in (proto, test)])
        for i, (name, size) in enumerate([("Development requirements.doc", 27136), ("progress.xlsx", 10698)]):
            s.add(StoredFile(account_id=api.account_id, sha256=f"{i}" * 64, size=size, name=name, project_id=pid,
                             task_id=dev, user_from_id=api.owner_id, date_added=clock.now()))
        for cid in comment_ids[-2:]:
            s.add(StoredFile(account_id=api.account_id, sha256="c" * 64, size=512596, name="Image file.png",
                             project_id=pid, task_id=dev, comment_id=cid, user_from_id=api.owner_id,
                             date_added=clock.now()))
    return {"project": pid, "dev": dev, "proto": proto, "test": test, "sprint": sprint}


@pytest.fixture
def data(api: Api) -> dict[str, int]:
    return owl(api)


def test_get_all_tasks_matches_the_postman_example(api: Api, data: dict[str, int]) -> None:
    [example] = postman.examples("get_all_tasks")
    ours = api.call("get_all_tasks", extra="text, files, comments, relations, subtasks")
    assert_shape(example, ours)


def test_get_tasks_matches_the_postman_example(api: Api, data: dict[str, int]) -> None:
    [example] = postman.examples("get_tasks")
    ours = api.call("get_tasks", id_project=data["project"],
                    extra="text, files, comments, relations, subtasks, subscribers")
    assert_shape(example, ours)


def test_get_task_matches_the_postman_example(api: Api, data: dict[str, int]) -> None:
    [example] = postman.examples("get_task")
    ours = api.call("get_task", id_task=data["dev"], extra="text, files, comments, relations, subtasks, subscribers")
    assert_shape(example, ours)
    assert set(ours["data"]["child"][0]) == {"id", "name", "page", "status", "priority", "child"}


def test_post_task_matches_both_postman_examples(api: Api, data: dict[str, int]) -> None:
    subtask, plain = postman.examples("post_task")
    ours = api.call("post_task", id_project=data["project"], title="Template prototype", id_parent=data["dev"],
                    email_user_to="frank.harper@example.com", priority=2, text="Take previous prototype",
                    todo=["draft", "first version"], datestart="15.01.2021", dateend="17.01.2021",
                    subscribe="kate.greenway@example.com", hidden="kate.greenway@example.com", max_time=15,
                    max_money=165, extra="text")
    assert_shape(subtask, ours)
    minimal = api.call("post_task", id_project=data["project"], title="Template creation")
    assert_shape(plain, minimal)
    assert set(minimal["data"]) == set(plain["data"])


def test_update_complete_and_reopen_match_the_postman_examples(api: Api, data: dict[str, int]) -> None:
    [updated] = postman.examples("update_task")
    ours = api.call("update_task", id_task=data["proto"], priority=10)
    assert_shape(updated, ours)
    [completed] = postman.examples("complete_task")
    assert_shape(completed, api.call("complete_task", id_task=data["proto"]))
    [reopened] = postman.examples("reopen_task")
    assert api.call("reopen_task", id_task=data["proto"]) == reopened


def test_search_tasks_matches_the_postman_example(api: Api, data: dict[str, int]) -> None:
    [example] = postman.examples("search_tasks")
    assert_shape(example, api.call("search_tasks", filter="name has 'ing'"))


def test_comments_match_the_postman_examples(api: Api, data: dict[str, int]) -> None:
    [listed] = postman.examples("get_comments")
    assert_shape(listed, api.call("get_comments", id_task=data["dev"], extra="files"))
    [posted] = postman.examples("post_comment")
    ours = api.call("post_comment", id_task=data["dev"], text="Need info", todo=["survey results"],
                    hidden="frank.harper@example.com", mention="frank.harper@example.com")
    assert_shape(posted, ours)
    assert list(ours["data"]) == list(posted["data"])


def test_subscribe_and_unsubscribe_match_the_postman_examples(api: Api, data: dict[str, int]) -> None:
    for name in ("subscribe", "unsubscribe"):
        [example] = postman.examples(name)
        assert api.call(name, id_task=data["dev"], email_user="kate.greenway@example.com") == example


def test_task_keys_follow_the_postman_order(api: Api, data: dict[str, int]) -> None:
    [example] = postman.examples("get_tasks")
    ours = api.ok("get_tasks", id_project=data["project"],
                  extra="text, files, comments, relations, subtasks, subscribers")
    assert list(ours[0]) == list(example["data"][0])
