"""Who sees and changes what on the task list, the board and the task forms: exactly what the API lets them
(guests, client-team users, readers, plain users, admins), and never anything of another account."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from localsection.domain import members, tasks
from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, WebClient, add_user, text_of, web_client
from tests.webapp.test_tasks_pages import project, statuses, task

ROLES = ["guest", "client", "reader", "user", "admin"]
WRITERS = {"client", "user", "admin"}  # a client-team user with the user role writes, as in the API


def _user(api: Api, role: str) -> str:
    email = f"{role}@example.com"
    if role == "client":
        with api.ctx() as ctx:
            members.add_team(ctx, title="Customer", client=True)
            members.add_user(ctx, new=members.NewUser(email=email, role="user", team="Customer"))
        from localsection import accounts

        with api.state.db.session() as s:
            accounts.set_password(s, api.account, email, PASSWORD)
    else:
        add_user(api, email, role="account admin" if role == "admin" else role)  # type: ignore[arg-type]
    return email


def _browser(web_app: Starlette, api: Api, email: str) -> WebClient:
    web = web_client(web_app, api)
    web.sign_in(email, PASSWORD)
    return web


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_tasks_and_tags_the_api_shows_them_and_writes_only_when_allowed(
        web_app: Starlette, api: Api, role: str) -> None:
    email = _user(api, role)
    ids = statuses(api)
    api.ok("add_task_tag_groups", type="label", access="private", title="Internal")
    api.ok("add_task_tags", group="Internal", title="secret-label")
    pid = project(api, members=email)
    shown = task(api, pid, "Everyone sees this", tags="secret-label")
    task(api, pid, "Hidden from most", hidden=api.owner_email)
    web = _browser(web_app, api, email)
    page = web.get(f"/project/{pid}/")
    assert page.status_code == 200
    with api.ctx(email) as ctx:
        listed = tasks.list_tasks(ctx, project_id=pid)
        expected = {t.name for t in listed} if isinstance(listed, list) else set()
    text = text_of(page.text)
    for name in ("Everyone sees this", "Hidden from most"):
        assert (name in text) == (name in expected), (role, name)
    assert ("secret-label" in text) == (role not in ("guest", "client"))
    assert ("New task" in text) == (role in WRITERS)
    # writing: the form and the API agree
    created = web.form(f"/project/{pid}/tasks/new", {"title": f"By {role}"}, page=f"/project/{pid}/")
    moved = web.form(f"/project/{pid}/{shown}/move", {"group": str(_status_group(api)), "tag": str(ids["Done"])},
                     page=f"/project/{pid}/board")
    deleted = web.form(f"/project/{pid}/{shown}/delete", {"title": "x"}, page=f"/project/{pid}/board")
    names = {t["name"] for t in api.ok("get_tasks", id_project=pid)}
    if role in WRITERS:
        assert created.status_code == moved.status_code == deleted.status_code == 303
        assert f"By {role}" in names and "Everyone sees this" not in names
    else:
        assert created.status_code == moved.status_code == deleted.status_code == 400
        assert "Access denied" in text_of(created.text)
        assert f"By {role}" not in names and "Everyone sees this" in names
        assert "tags" not in api.ok("get_task", id_task=shown) or str(ids["Done"]) not in \
            api.ok("get_task", id_task=shown)["tags"]


def _status_group(api: Api) -> int:
    return int(next(g["id"] for g in api.ok("get_task_tag_groups") if g["title"] == "Status"))


def test_a_hidden_task_and_a_project_one_is_not_in_are_404_for_a_plain_user(web_app: Starlette, api: Api) -> None:
    email = _user(api, "user")
    pid = project(api, members=email)
    secret = task(api, pid, "Secret", hidden=api.owner_email)
    elsewhere = project(api, "Not theirs")
    other_task = task(api, elsewhere, "Not theirs either")
    web = _browser(web_app, api, email)
    assert web.get(f"/project/{elsewhere}/").status_code == 404
    assert web.get(f"/project/{elsewhere}/board").status_code == 404
    assert web.get(f"/project/{elsewhere}/tasks/new").status_code == 404
    for path in (f"/project/{pid}/{secret}/edit", f"/project/{pid}/{secret}/delete",
                 f"/project/{elsewhere}/{other_task}/edit"):
        assert web.get(path).status_code == 404, path
    resp = web.form(f"/project/{pid}/{secret}/complete", {}, page=f"/project/{pid}/")
    assert resp.status_code == 404 and api.ok("get_task", id_task=secret)["status"] == "active"


def test_another_accounts_ids_are_404_and_never_leak(owner_web: WebClient, other: Api) -> None:
    pid = project(other, "Their project")
    tid = task(other, pid, "Their task")
    for path in (f"/project/{pid}/", f"/project/{pid}/board", f"/project/{pid}/{tid}/edit",
                 f"/project/{pid}/{tid}/delete", f"/project/{pid}/tasks/new?parent={tid}"):
        resp = owner_web.get(path)
        assert resp.status_code == 404 and "Their" not in resp.text, path
    for action in ("complete", "delete", "move"):
        resp = owner_web.form(f"/project/{pid}/{tid}/{action}", {"group": "1", "tag": ""}, page="/me")
        assert resp.status_code == 404, action
    assert other.ok("get_task", id_task=tid)["status"] == "active"


def test_every_form_refuses_a_missing_csrf_token(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    tid = task(api, pid, "Guarded")
    for path in (f"/project/{pid}/tasks/new", f"/project/{pid}/{tid}/edit", f"/project/{pid}/{tid}/complete",
                 f"/project/{pid}/{tid}/delete", f"/project/{pid}/{tid}/move"):
        assert owner_web.post(path, {"title": "Forged", "group": "1", "tag": ""}).status_code == 403, path
    assert [t["name"] for t in api.ok("get_tasks", id_project=pid)] == ["Guarded"]
    for path in (f"/project/{pid}/", f"/project/{pid}/board", f"/project/{pid}/tasks/new",
                 f"/project/{pid}/{tid}/edit", f"/project/{pid}/{tid}/delete"):
        html = owner_web.get(path).text
        assert html.count('method="post"') == html.count('name="csrf"'), path
