"""domain.comments called directly (no HTTP): posting, visibility of hidden and internal comments."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from localsection import errors, files
from localsection.domain import comments
from localsection.models import Event
from tests.factories import make_project, make_task
from tests.helpers import Api


class Part:
    def __init__(self, filename: str, data: bytes) -> None:
        self.filename, self.file, self.size = filename, io.BytesIO(data), len(data)


def test_post_comment_stores_it_records_an_event_and_reads_back(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.add_user("mia.mention@example.com")
    with api.ctx() as ctx:
        posted = comments.post_comment(ctx, comments.NewComment(
            task_id=tid, text=" Looks good ", todo=["ship"], mentions=["mia.mention@example.com"],
            attachments=files.Attachments(parts=[Part("notes.txt", b"hello")])))
        cid = posted.comment.id
    with api.ctx() as ctx:
        found = comments.list_comments(ctx, task_id=tid, with_files=True)
    assert [c.id for c in found.comments] == [cid]
    assert found.comments[0].text == "Looks good" and found.comments[0].todo == ["ship"]
    assert [f.name for f in found.files[cid]] == ["notes.txt"]
    with api.state.db.session() as s:
        event = s.scalars(select(Event).where(Event.account_id == api.account_id, Event.object_type == "comment",
                                              Event.object_id == cid)).one()
    assert event.action == "post" and "Looks good" in (event.new or {})["text"]


def test_an_empty_comment_and_a_reader_are_refused(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    api.add_user("rita.reader@example.com", role="reader")
    api.ok("update_project", id_project=pid, members="rita.reader@example.com")
    with pytest.raises(errors.ApiError) as empty, api.ctx() as ctx:
        comments.post_comment(ctx, comments.NewComment(task_id=tid, text="   "))
    assert (empty.value.code, empty.value.details) == (10, "text or todo")
    with pytest.raises(errors.ApiError) as reader, api.ctx("rita.reader@example.com") as ctx:
        comments.post_comment(ctx, comments.NewComment(task_id=tid, text="hi"))
    assert reader.value.code == 20
    with api.ctx("rita.reader@example.com") as ctx:
        assert comments.list_comments(ctx, task_id=tid).task.id == tid  # reading is fine


def test_a_comment_visible_to_some_users_is_hidden_from_the_others(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    for email in ("vic.visible@example.com", "nat.notlisted@example.com"):
        api.add_user(email)
    api.ok("update_project", id_project=pid, members="vic.visible@example.com,nat.notlisted@example.com")
    with api.ctx() as ctx:
        cid = comments.post_comment(ctx, comments.NewComment(task_id=tid, text="secret",
                                                             visible_to=["vic.visible@example.com"])).comment.id
    with api.ctx("vic.visible@example.com") as ctx:
        assert [c.id for c in comments.list_comments(ctx, task_id=tid).comments] == [cid]
    with api.ctx("nat.notlisted@example.com") as ctx:
        assert comments.list_comments(ctx, task_id=tid).comments == []
