"""Comments: get_comments and post_comment (text, checklist, hidden, internal, mentions, events)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from localsection import clock
from localsection.models import Comment, Event, ProjectMember, StoredFile, Team, User
from tests.factories import make_comment, make_project, make_task
from tests.helpers import Api


def comment_count(api: Api) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Comment)
                            .where(Comment.account_id == api.account_id)) or 0)


def member(api: Api, email: str, pid: int, **fields: str) -> str:
    """Add a user who belongs to project `pid`; returns an access token for them."""
    user = api.add_user(email, **fields)
    with api.state.db.session() as s:
        s.add(ProjectMember(project_id=pid, user_id=int(user["id"])))
    return api.token(email)


def test_post_comment_renders_the_postman_example_text(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    api.add_user("frank.harper@example.com", first_name="Frank", last_name="Harper")
    api.add_user("kate.greenway@example.com")
    data = api.ok("post_comment", id_task=tid, text="Need info on the topic about your department",
                  todo=["survey results", "questions and suggestions", "gamification and motivation"],
                  hidden="frank.harper@example.com, kate.greenway@example.com",
                  mention="frank.harper@example.com")
    assert list(data) == ["id", "page", "text", "date_added", "user_from"]
    assert data["text"] == ("Need info on the topic about your department\r\n• survey results\r\n"
                            "• questions and suggestions\r\n• gamification and motivation Frank Harper")
    assert data["page"] == f"/project/{pid}/{tid}/#com{data['id']}"
    assert data["user_from"]["email"] == api.owner_email


def test_post_comment_with_only_a_checklist_is_accepted(api: Api) -> None:
    tid = make_task(api, make_project(api))
    assert api.ok("post_comment", id_task=tid, todo=["one", "two"])["text"] == "• one\r\n• two"


def test_post_comment_without_text_or_todo_is_10_and_stores_nothing(api: Api) -> None:
    tid = make_task(api, make_project(api))
    body = api.error("post_comment", id_task=tid, text="")
    assert (body["status_code"], body["message"], body["message_details"]) == (10, "Field is required",
                                                                               "text or todo")
    assert comment_count(api) == 0


def test_post_comment_on_an_unknown_or_foreign_task_is_5(api: Api, other: Api) -> None:
    foreign = make_task(other, make_project(other))
    assert api.error("post_comment", id_task=foreign, text="hi")["status_code"] == 5
    assert api.error("post_comment", id_task=999999999, text="hi")["status_code"] == 5
    assert comment_count(other) == 0


def test_post_comment_with_an_unknown_mention_is_11_and_stores_nothing(api: Api) -> None:
    tid = make_task(api, make_project(api))
    body = api.error("post_comment", id_task=tid, text="hi", mention="ghost@example.com")
    assert (body["status_code"], body["message_details"]) == (11, "ghost@example.com")
    assert comment_count(api) == 0


def test_post_comment_records_a_post_event_on_the_task_page(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    data = api.ok("post_comment", id_task=tid, text="Hello", todo=["x"])
    with api.state.db.session(write=False) as s:
        [event] = s.scalars(select(Event).where(Event.account_id == api.account_id))
    assert (event.action, event.object_type, event.object_id) == ("post", "comment", int(data["id"]))
    assert event.page == f"/project/{pid}/{tid}/"
    assert event.new == {"text": "Hello\r\n• x"}


def test_post_comment_honours_email_user_from_with_the_admin_key_only(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    api.add_user("author@example.com")
    assert api.ok("post_comment", id_task=tid, text="a",
                  email_user_from="author@example.com")["user_from"]["email"] == "author@example.com"
    token = member(api, "writer@example.com", pid)
    body = api.user_call(token, "post_comment", id_task=tid, text="b", email_user_from="author@example.com")
    assert body["data"]["user_from"]["email"] == "writer@example.com"


def test_get_comments_lists_newest_first(api: Api) -> None:
    tid = make_task(api, make_project(api))
    base = clock.now() - dt.timedelta(hours=2)
    for i in range(3):
        make_comment(api, tid, f"c{i}", date_added=base + dt.timedelta(minutes=i))
    assert [c["text"] for c in api.ok("get_comments", id_task=tid)] == ["c2", "c1", "c0"]


def test_get_comments_of_a_task_without_comments_is_an_empty_list(api: Api) -> None:
    tid = make_task(api, make_project(api))
    assert api.call("get_comments", id_task=tid) == {"status": "ok", "data": []}


def test_get_comments_extra_files_lists_each_comments_files(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    with_file, without = make_comment(api, tid, "file"), make_comment(api, tid, "plain")
    with api.state.db.session() as s:
        s.add(StoredFile(account_id=api.account_id, sha256="a" * 64, size=512596, name="Image file.png",
                         project_id=pid, task_id=tid, comment_id=with_file, user_from_id=api.owner_id,
                         date_added=clock.now()))
    data = {c["id"]: c for c in api.ok("get_comments", id_task=tid, extra="files")}
    [f] = data[str(with_file)]["files"]
    assert list(f) == ["id", "size", "name", "page"]
    assert (f["size"], f["name"], f["page"]) == ("512596", "Image file.png", f"/download/{f['id']}/")
    assert "files" not in data[str(without)]
    assert all("files" not in c for c in api.ok("get_comments", id_task=tid))


def test_hidden_comments_are_seen_only_by_listed_users_the_author_and_admins(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    seer = member(api, "seer@example.com", pid)
    blind = member(api, "blind@example.com", pid)
    api.ok("post_comment", id_task=tid, text="secret", hidden="seer@example.com")
    api.ok("post_comment", id_task=tid, text="open")
    assert [c["text"] for c in api.user_call(seer, "get_comments", id_task=tid)["data"]] == ["open", "secret"]
    assert [c["text"] for c in api.user_call(blind, "get_comments", id_task=tid)["data"]] == ["open"]
    assert len(api.ok("get_comments", id_task=tid)) == 2


def test_internal_comments_are_hidden_from_client_teams(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    colleague = member(api, "colleague@example.com", pid)
    client = member(api, "client@example.com", pid)
    with api.state.db.session() as s:
        team = Team(account_id=api.account_id, title="Client Inc", client=True)
        s.add(team)
        s.flush()
        user = s.scalars(select(User).where(User.account_id == api.account_id,
                                            User.email == "client@example.com")).one()
        user.team_id = team.id
    for flag in ("1", "true"):
        api.ok("post_comment", id_task=tid, text=f"internal {flag}", hidden=flag)
    assert len(api.user_call(colleague, "get_comments", id_task=tid)["data"]) == 2
    assert api.user_call(client, "get_comments", id_task=tid)["data"] == []


def test_get_comments_of_a_foreign_task_is_5(api: Api, other: Api) -> None:
    foreign = make_task(other, make_project(other))
    make_comment(other, foreign, "theirs")
    assert api.error("get_comments", id_task=foreign)["status_code"] == 5


def test_comments_need_the_comment_scopes(api: Api) -> None:
    tid = make_task(api, make_project(api))
    token = api.token(scopes=["comments_read"])
    assert api.user_call(token, "get_comments", id_task=tid)["status"] == "ok"
    assert api.user_call(token, "post_comment", id_task=tid, text="x")["message_details"] == "comments_write"
