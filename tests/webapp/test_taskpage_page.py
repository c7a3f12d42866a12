"""The task page: what it shows, comments with files (post, edit, delete and their events), costs, the timer, tags,
downloads, live fragments, and who may do what. Every change is checked through the API, as an integration sees it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from localsection import accounts, clock
from localsection.api.limits import cap_for
from localsection.models import OutboxItem, User, Webhook
from localsection.webapp.richtext import as_markup
from tests.helpers import Api, counted_statements
from tests.webapp.helpers import PASSWORD, WebClient, add_user, csrf_in, text_of, web_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _task(api: Api, **extra: Any) -> tuple[str, str, str]:
    """A project with members, a task in it; returns (project id, task id, task page path)."""
    project = api.ok("post_project", title="Apollo", members=extra.pop("members", ""))["id"]
    task = api.ok("post_task", id_project=project, title="Land on the moon", **extra)["id"]
    return project, task, f"/project/{project}/{task}/"


def _post_files(web: WebClient, page: str, path: str, data: dict[str, str],
                files: list[tuple[str, bytes]]) -> httpx.Response:
    token = csrf_in(web.get(page).text)
    return web.http.post(web.url(path), data={**data, "csrf": token},
                         files=[("files", (name, body, "application/octet-stream")) for name, body in files],
                         follow_redirects=False)


def _comments(api: Api, task: str) -> list[dict[str, Any]]:
    data = api.ok("get_comments", id_task=task, extra="files")
    assert isinstance(data, list)
    return data


def _events(api: Api, kind: str = "comment") -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    return [(e["action"], e.get("new"), e.get("old")) for e in api.ok("get_events", period="1h")
            if e["object"]["type"] == kind]


def _signed_in(web_app: Any, api: Api, email: str) -> WebClient:
    web = web_client(web_app, api)
    web.sign_in(email, PASSWORD)
    return web


def test_the_task_page_shows_the_task_its_subtasks_tags_and_sanitized_description(owner_web: WebClient,
                                                                                 api: Api) -> None:
    api.ok("add_task_tag_groups", title="Kind", type="label", access="public")
    api.ok("add_task_tags", group="Kind", title="bug,feature")
    add_user(api, "exec@example.com")
    project, task, path = _task(api, text='<p>Go <b>now</b><script>alert(1)</script><img src=x onerror=y></p>',
                                todo=["fuel", "launch"], tags="bug", email_user_to="exec@example.com",
                                subscribe="exec@example.com", members="exec@example.com", priority=7,
                                datestart="2026-12-01", dateend="2026-12-24")
    sub = api.ok("post_task", id_project=project, id_parent=task, title="Build the rocket")["id"]
    page = owner_web.get(path)
    assert page.status_code == 200
    shown = text_of(page.text)
    for expected in ("Land on the moon", "Go now", "fuel", "launch", "Build the rocket", "bug", "Priority 7",
                     "2026-12-24", "Exec"):
        assert expected in shown, expected
    assert "<script>alert" not in page.text and "onerror" not in page.text and "<b>now</b>" in page.text
    assert f'href="/project/{project}/{task}/{sub}/"' in page.text
    assert f'href="/project/{project}/tasks/new?parent={task}"' in page.text
    assert f'href="/project/{project}/{task}/edit"' in page.text
    assert f'data-live-topic="task:{task}"' in page.text and f'data-live-src="{path}?fragment=comments"' in page.text
    subpage = owner_web.get(f"/project/{project}/{task}/{sub}/")
    assert subpage.status_code == 200 and "Build the rocket" in text_of(subpage.text)
    assert "Land on the moon" in text_of(subpage.text)  # the breadcrumb to its parent
    # The URL must name the task where it is: wrong project, wrong parent, unknown ids are the 404 page.
    for wrong in (f"/project/{int(project) + 999}/{task}/", f"/project/{project}/{sub}/{task}/",
                  f"/project/{project}/{task}/{int(sub) + 999}/", f"/project/{project}/99999999/"):
        assert owner_web.get(wrong).status_code == 404, wrong


def test_tags_are_added_and_removed_from_the_page(owner_web: WebClient, api: Api) -> None:
    api.ok("add_task_tag_groups", title="Kind", type="label", access="public")
    bug = api.ok("add_task_tags", group="Kind", title="bug")[0]["id"]
    project, task, path = _task(api)
    assert owner_web.form(f"/project/{project}/{task}/tags", {"plus": str(bug)}, page=path).status_code == 303
    assert api.ok("get_task", id_task=task)["tags"] == {str(bug): "bug"}
    assert owner_web.form(f"/project/{project}/{task}/tags", {"minus": str(bug)}, page=path).status_code == 303
    assert "tags" not in api.ok("get_task", id_task=task)
    bad = owner_web.form(f"/project/{project}/{task}/tags", {"plus": "999999"}, page=path)
    assert bad.status_code == 400 and "Tag is invalid" in text_of(bad.text)
    assert owner_web.form(f"/project/{project}/{task}/tags", {}, page=path).status_code == 400


def test_a_comment_with_files_is_posted_edited_and_deleted_with_its_events(owner_web: WebClient, api: Api) -> None:
    project, task, path = _task(api)
    with api.state.db.session() as s:  # a webhook of the admin key: each event puts a delivery in its outbox
        hook = Webhook(account_id=api.account_id, url="http://127.0.0.1:9/", created_at=clock.now(),
                       events="post_comment,update_comment,delete_comment", status="paused")
        s.add(hook)
        s.flush()
        hook_id = hook.id
    body = b"first line\nsecond \x00 binary\xff"
    resp = _post_files(owner_web, path, f"/project/{project}/{task}/comments", {"text": "Docking plan"},
                       [("plan v1.txt", body), ("<img>.svg", b"<svg onload=alert(1)></svg>")])
    assert resp.status_code == 303, text_of(resp.text)
    [comment] = _comments(api, task)
    assert comment["text"] == "Docking plan"
    assert sorted(f["name"] for f in comment["files"]) == ["<img>.svg", "plan v1.txt"]
    assert resp.headers["location"] == f"{path}#com{comment['id']}"
    page = owner_web.get(path)
    assert "Docking plan" in text_of(page.text) and "plan v1.txt" in text_of(page.text)
    # Downloads: the exact bytes, always as an attachment, never sniffed or rendered.
    files = {f["name"]: f["id"] for f in api.ok("get_files", id_task=task)}
    got = owner_web.get(f"/project/{project}/{task}/files/{files['plan v1.txt']}")
    assert got.status_code == 200 and got.content == body
    assert got.headers["content-disposition"].startswith('attachment; filename="plan v1.txt"')
    assert got.headers["x-content-type-options"] == "nosniff"
    svg = owner_web.get(f"/project/{project}/{task}/files/{files['<img>.svg']}")
    assert svg.headers["content-type"] == "application/octet-stream" and "sandbox" in svg.headers[
        "content-security-policy"]
    assert owner_web.get(f"/project/{project}/{int(task) + 1}/files/{files['plan v1.txt']}").status_code == 404
    # Edit: the API sees the new text; the event carries old and new.
    cid = comment["id"]
    edited = owner_web.form(f"/project/{project}/{task}/comments/{cid}/edit", {"text": "Docking plan v2"}, page=path)
    assert edited.status_code == 303
    assert _comments(api, task)[0]["text"] == "Docking plan v2"
    # An empty edit is refused and changes nothing.
    empty = owner_web.form(f"/project/{project}/{task}/comments/{cid}/edit", {"text": "  "}, page=path)
    assert empty.status_code == 400 and "cannot be empty" in text_of(empty.text)
    assert _comments(api, task)[0]["text"] == "Docking plan v2"
    # Delete: gone from the API, its files too.
    deleted = owner_web.form(f"/project/{project}/{task}/comments/{cid}/delete", {}, page=path)
    assert deleted.status_code == 303
    assert _comments(api, task) == [] and api.ok("get_files", id_task=task) == []
    assert owner_web.get(f"/project/{project}/{task}/files/{files['plan v1.txt']}").status_code == 404
    assert _events(api) == [("post", {"text": "Docking plan"}, None),
                            ("update", {"text": "Docking plan v2"}, {"text": "Docking plan"}),
                            ("delete", None, None)]
    with api.state.db.session(write=False) as s:
        queued = s.scalars(select(OutboxItem).where(OutboxItem.webhook_id == hook_id)).all()
    assert len(queued) == 3
    activity = text_of(owner_web.get(path + "?fragment=activity").text)
    assert "commented" in activity and "edited a comment" in activity and "deleted a comment" in activity


def test_bad_comment_forms_change_nothing(owner_web: WebClient, api: Api) -> None:
    project, task, path = _task(api)
    empty = owner_web.form(f"/project/{project}/{task}/comments", {"text": "   "}, page=path)
    assert empty.status_code == 400 and "Write a comment or attach a file" in text_of(empty.text)
    no_csrf = owner_web.post(f"/project/{project}/{task}/comments", {"text": "sneaky"})
    assert no_csrf.status_code == 403
    other_task = owner_web.form(f"/project/{project}/99999999/comments", {"text": "x"}, page=path)
    assert other_task.status_code == 404
    assert _comments(api, task) == []


def test_a_comment_with_only_a_file_and_the_upload_cap(owner_web: WebClient, api: Api) -> None:
    project, task, path = _task(api)
    resp = _post_files(owner_web, path, f"/project/{project}/{task}/comments", {"text": ""}, [("a.bin", b"123")])
    assert resp.status_code == 303
    assert _comments(api, task)[0]["files"][0]["name"] == "a.bin"
    settings = api.state.settings
    assert cap_for(f"/project/{project}/{task}/comments", settings) == settings.max_body_bytes
    assert cap_for(f"/project/{project}/{task}/costs", settings) == settings.max_params_bytes
    assert cap_for(f"/project/{project}/{task}/comments/1/edit", settings) == settings.max_params_bytes
    # Other pages refuse file parts outright (their forms take none).
    token = csrf_in(owner_web.get(path).text)
    refused = owner_web.http.post(f"/project/{project}/{task}/costs", data={"csrf": token, "time": "1:00"},
                                  files=[("files", ("x.txt", b"x", "text/plain"))], follow_redirects=False)
    assert refused.status_code == 400 and api.ok("get_costs", id_task=task) == []


def test_only_the_author_or_an_admin_edits_a_comment_and_the_project_may_forbid_it(web_app: Any, api: Api) -> None:
    for email in ("ann@example.com", "bob@example.com"):
        add_user(api, email)
    add_user(api, "boss@example.com", role="account admin")
    project, task, path = _task(api, members="ann@example.com,bob@example.com")
    ann, bob = _signed_in(web_app, api, "ann@example.com"), _signed_in(web_app, api, "bob@example.com")
    assert ann.form(f"/project/{project}/{task}/comments", {"text": "Ann's"}, page=path).status_code == 303
    cid = _comments(api, task)[0]["id"]
    assert "Delete comment" not in text_of(bob.get(path).text)
    for action, data in (("edit", {"text": "Bob was here"}), ("delete", {})):
        refused = bob.form(f"/project/{project}/{task}/comments/{cid}/{action}", data, page=path)
        assert refused.status_code == 400 and "Access denied" in text_of(refused.text)
    assert _comments(api, task)[0]["text"] == "Ann's"
    boss = _signed_in(web_app, api, "boss@example.com")
    assert boss.form(f"/project/{project}/{task}/comments/{cid}/edit", {"text": "Fixed typo"},
                     page=path).status_code == 303
    api.ok("update_project", id_project=project, **{"options.deny_comments_edit": 1})
    assert "Delete comment" not in text_of(ann.get(path).text)
    denied = ann.form(f"/project/{project}/{task}/comments/{cid}/edit", {"text": "mine"}, page=path)
    assert denied.status_code == 400 and _comments(api, task)[0]["text"] == "Fixed typo"
    # The comment id must belong to the task of the URL.
    other_task = api.ok("post_task", id_project=project, title="Other")["id"]
    moved = boss.form(f"/project/{project}/{other_task}/comments/{cid}/delete", {}, page=path)
    assert moved.status_code == 400 and len(_comments(api, task)) == 1


def test_readers_guests_and_client_teams_see_what_the_api_shows_them(web_app: Any, api: Api) -> None:
    api.ok("add_user_group", title="Client Co", client=1)
    api.add_user("client@example.com", role="user", group="Client Co")
    with api.state.db.session() as s:
        accounts.set_password(s, api.account, "client@example.com", PASSWORD)
    add_user(api, "reader@example.com", role="reader")
    add_user(api, "guest@example.com", role="guest")
    project, task, path = _task(api, members="client@example.com,reader@example.com,guest@example.com")
    api.ok("post_comment", id_task=task, text="For everyone")
    api.ok("post_comment", id_task=task, text="Staff only", hidden=1)
    for email in ("reader@example.com", "guest@example.com", "client@example.com"):
        web = _signed_in(web_app, api, email)
        shown = text_of(web.get(path).text)
        api_sees = {c["text"] for c in api.user_call(api.token(email), "get_comments", id_task=task)["data"]}
        assert ("Staff only" in shown) == ("Staff only" in api_sees), email
        assert "For everyone" in shown
        if email != "client@example.com":
            assert "Staff only" not in api_sees or email == "reader@example.com"
            assert "Post comment" not in shown and "Start timer" not in shown and "Log time" not in shown
            refused = web.form(f"/project/{project}/{task}/comments", {"text": "can I?"}, page=path)
            assert refused.status_code == 400 and "Access denied" in text_of(refused.text)
            refused = web.form(f"/project/{project}/{task}/costs", {"time": "1:00"}, page=path)
            assert refused.status_code == 400
            refused = web.form(f"/project/{project}/{task}/timer/start", {}, page=path)
            assert refused.status_code == 400
    client = text_of(_signed_in(web_app, api, "client@example.com").get(path).text)
    assert "Staff only" not in client and "Internal: hidden" not in client
    assert len(_comments(api, task)) == 2 and api.ok("get_costs", id_task=task) == []


def test_another_accounts_task_and_files_are_404(owner_web: WebClient, api: Api, other: Api) -> None:
    project, task, _ = _task(other)
    other.ok("post_comment", id_task=task, text="secret")
    for path in (f"/project/{project}/{task}/", f"/project/{project}/{task}/?fragment=comments"):
        resp = owner_web.get(path)
        assert resp.status_code == 404 and "secret" not in resp.text and "Land on the moon" not in resp.text
    _mine_project, _mine_task, mine = _task(api)
    resp = owner_web.form(f"/project/{project}/{task}/comments", {"text": "x"}, page=mine)
    assert resp.status_code == 404
    assert len(other.ok("get_comments", id_task=task)) == 1


def test_a_user_not_in_the_project_gets_404(web_app: Any, api: Api) -> None:
    add_user(api, "outsider@example.com")
    _project, task, path = _task(api)
    web = _signed_in(web_app, api, "outsider@example.com")
    assert web.get(path).status_code == 404
    assert api.user_call(api.token("outsider@example.com"), "get_task", id_task=task)["status"] == "error"


def test_signed_out_visitors_go_to_sign_in(web: WebClient, api: Api) -> None:
    *_, path = _task(api)
    resp = web.get(path)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")


def test_costs_are_added_edited_and_deleted_and_bad_input_changes_nothing(owner_web: WebClient, api: Api) -> None:
    project, task, path = _task(api)
    add = f"/project/{project}/{task}/costs"
    resp = owner_web.form(add, {"time": "1:30", "money": "12,5", "date": "2026-11-30", "comment": "docking"},
                          page=path)
    assert resp.status_code == 303
    [row] = api.ok("get_costs", id_task=task)
    assert (row["time"], row["money"], row["date"], row["comment"]) == ("1:30", "12.50", "2026-11-30", "docking")
    for bad in ({"time": "abc"}, {"time": "1:75"}, {"money": "-3"}, {}, {"time": "1:00", "date": "soon"}):
        refused = owner_web.form(add, bad, page=path)
        assert refused.status_code == 400, bad
    assert len(api.ok("get_costs", id_task=task)) == 1
    page = text_of(owner_web.get(path).text)
    assert "Total: 1:30 h · 12.50" in page
    edit = f"/project/{project}/{task}/costs/{row['id']}"
    assert owner_web.form(edit, {"time": "2:00", "money": "", "date": "2026-11-29", "comment": "more"},
                          page=path).status_code == 303
    [row] = api.ok("get_costs", id_task=task)
    assert (row["time"], row["money"], row["date"], row["comment"]) == ("2:00", "0.00", "2026-11-29", "more")
    assert api.call("get_costs_total", id_task=task)["total"]["time"] == "2:00"
    assert owner_web.form(f"{edit}/delete", {}, page=path).status_code == 303
    assert api.ok("get_costs", id_task=task) == []


def test_a_user_changes_only_their_own_costs(web_app: Any, api: Api) -> None:
    add_user(api, "ann@example.com")
    project, task, path = _task(api, members="ann@example.com")
    owners = api.ok("add_costs", id_task=task, time="1:00", email_user_from=api.owner_email)["id"]
    ann = _signed_in(web_app, api, "ann@example.com")
    assert ann.form(f"/project/{project}/{task}/costs", {"time": "0:45"}, page=path).status_code == 303
    refused = ann.form(f"/project/{project}/{task}/costs/{owners}/delete", {}, page=path)
    assert refused.status_code == 400 and "Access denied" in text_of(refused.text)
    assert sorted(c["time"] for c in api.ok("get_costs", id_task=task)) == ["0:45", "1:00"]


def test_the_timer_starts_and_stops_into_a_cost_row(owner_web: WebClient, api: Api) -> None:
    project, task, path = _task(api)
    assert owner_web.form(f"/project/{project}/{task}/timer/start", {}, page=path).status_code == 303
    [timer] = api.ok("get_timers")
    assert timer["task"]["id"] == task
    page = owner_web.get(path)
    assert "Timer running" in text_of(page.text) and "data-timer-elapsed" in page.text
    again = owner_web.form(f"/project/{project}/{task}/timer/start", {}, page=path)
    assert again.status_code == 400 and "Timer is already started" in text_of(again.text)
    other = api.ok("post_task", id_project=project, title="Other")["id"]
    elsewhere = text_of(owner_web.get(f"/project/{project}/{other}/").text)
    assert "Your timer is running on another task" in elsewhere
    assert owner_web.form(f"/project/{project}/{task}/timer/stop", {"comment": "sprint"}, page=path).status_code == 303
    assert api.ok("get_timers") == []
    [row] = api.ok("get_costs", id_task=task)
    assert row["is_timer"] is True and row["comment"] == "sprint" and row["time"] == "0:01"
    stopped = owner_web.form(f"/project/{project}/{task}/timer/stop", {}, page=path)
    assert stopped.status_code == 400


def test_fragments_serve_the_live_sections(owner_web: WebClient, api: Api) -> None:
    _project, task, path = _task(api)
    api.ok("post_comment", id_task=task, text="Hello from the API")
    frag = owner_web.get(path + "?fragment=comments")
    assert frag.status_code == 200 and "Hello from the API" in frag.text
    assert "<html" not in frag.text and 'name="csrf"' in frag.text
    for name in ("files", "activity", "tags", "costs", "timer"):
        assert owner_web.get(f"{path}?fragment={name}").status_code == 200, name
    assert owner_web.get(path + "?fragment=nope").status_code == 404


def test_the_page_is_served_under_the_account_path_too(web_app: Any, api: Api) -> None:
    web = web_client(web_app, api, by_path=True)
    web.sign_in()
    project, task, path = _task(api)
    page = web.get(path)
    assert page.status_code == 200
    assert f'action="/a/{api.account}/project/{project}/{task}/comments"' in page.text


def test_rich_text_keeps_formatting_and_drops_everything_dangerous() -> None:
    assert str(as_markup("a & b\nc")) == "a &amp; b<br>c"
    cleaned = str(as_markup('<a href="javascript:alert(1)">x</a><a href="https://e.example">y</a>'
                            '<iframe src=x></iframe><style>*{}</style><p style="color:red" onclick="z">p</p>'))
    assert "javascript" not in cleaned and "iframe" not in cleaned and "onclick" not in cleaned
    assert "style" not in cleaned and 'href="https://e.example"' in cleaned and "noopener" in cleaned


def test_a_subtask_by_its_own_id_is_redirected_to_its_address(owner_web: WebClient, api: Api) -> None:
    project, task, _ = _task(api)
    sub = api.ok("post_task", id_project=project, id_parent=task, title="Sub")["id"]
    resp = owner_web.get(f"/project/{project}/{sub}/?fragment=files")
    assert resp.status_code == 308 and resp.headers["location"] == f"/project/{project}/{task}/{sub}/?fragment=files"
    assert owner_web.get(f"/project/{project}/{task}/{task}/").status_code == 404


def test_the_page_reads_the_same_number_of_statements_however_much_the_task_holds(owner_web: WebClient,
                                                                                 api: Api) -> None:
    api.ok("add_task_tag_groups", title="Kind", type="label", access="public")
    api.ok("add_task_tags", group="Kind", title="a,b,c")
    few_project, few_task, few = _task(api)
    api.ok("post_comment", id_task=few_task, text="one")
    api.ok("add_costs", id_task=few_task, time="1:00", email_user_from=api.owner_email)
    api.ok("post_task", id_project=few_project, id_parent=few_task, title="sub")
    many_task = api.ok("post_task", id_project=few_project, title="Busy", tags="a,b,c")["id"]
    many = f"/project/{few_project}/{many_task}/"
    for i in range(12):
        email = f"u{i}@example.com"
        add_user(api, email)
        api.ok("post_comment", id_task=many_task, text=f"comment {i}", email_user_from=email)
        api.ok("add_costs", id_task=many_task, time="0:30", email_user_from=email)
        api.ok("post_task", id_project=few_project, id_parent=many_task, title=f"sub {i}", email_user_to=email)
    owner_web.get(few)
    with counted_statements(api) as small:
        assert owner_web.get(few).status_code == 200
    with counted_statements(api) as large:
        assert owner_web.get(many).status_code == 200
    assert len(large) == len(small), (len(small), len(large))


def test_a_file_over_the_size_cap_is_refused_and_nothing_is_stored(owner_web: WebClient, api: Api,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project, task, path = _task(api)
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(max_file_bytes=100))
    resp = _post_files(owner_web, path, f"/project/{project}/{task}/comments", {"text": "big"},
                       [("big.bin", b"x" * 101)])
    assert resp.status_code == 400 and "File is too large" in text_of(resp.text)
    assert _comments(api, task) == [] and api.ok("get_files", id_task=task) == []


def test_a_comment_hidden_from_a_user_cannot_be_changed_by_them(web_app: Any, api: Api) -> None:
    add_user(api, "ann@example.com")
    add_user(api, "bob@example.com")
    project, task, path = _task(api, members="ann@example.com,bob@example.com")
    ann = _signed_in(web_app, api, "ann@example.com")
    hidden = api.ok("post_comment", id_task=task, text="for the owner only", hidden=api.owner_email,
                    email_user_from="ann@example.com")["id"]
    bob = _signed_in(web_app, api, "bob@example.com")
    assert "for the owner only" not in text_of(bob.get(path).text)
    refused = bob.form(f"/project/{project}/{task}/comments/{hidden}/delete", {}, page=path)
    assert refused.status_code == 400 and "Comment not found" in text_of(refused.text)
    with api.state.db.session() as s:  # Bob's webhook must not learn of a comment he could not see
        bob_id = s.scalars(select(User.id).where(User.email == "bob@example.com",
                                                 User.account_id == api.account_id)).one()
        hooks = [Webhook(account_id=api.account_id, url="http://127.0.0.1:9/", created_at=clock.now(),
                         events="delete_comment", status="paused", user_id=uid) for uid in (bob_id, None)]
        s.add_all(hooks)
        s.flush()
        bobs, admins = hooks[0].id, hooks[1].id
    assert ann.form(f"/project/{project}/{task}/comments/{hidden}/delete", {}, page=path).status_code == 303
    assert _comments(api, task) == []
    with api.state.db.session(write=False) as s:
        queued = [w for w in s.scalars(select(OutboxItem.webhook_id).where(OutboxItem.webhook_id.in_([bobs, admins])))]
    assert queued == [admins]


def test_the_page_speaks_ukrainian(web_app: Any, api: Api) -> None:
    web = web_client(web_app, api, **{"Accept-Language": "uk"})
    web.sign_in()
    project, task, path = _task(api)
    shown = text_of(web.get(path).text)
    for word in ("Коментарі", "Час і гроші", "Запустити таймер", "Історія", "Підзавдання"):
        assert word in shown, word
    refused = web.form(f"/project/{project}/{task}/costs", {"time": "abc"}, page=path)
    assert refused.status_code == 400 and "Неправильний час: time" in text_of(refused.text)
    assert "Звіти" in text_of(web.get("/reports").text)
