"""The projects pages (list, create, edit, close / reopen, members): forms, failures, permissions — compared with
what the API answers for the same people. Both databases."""

from __future__ import annotations

import re

from starlette.applications import Starlette

from tests.factories import make_project, make_task
from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, WebClient, add_user, text_of, web_client


def _signed_in(app: Starlette, api: Api, email: str, role: str = "user") -> WebClient:
    add_user(api, email, role=role)  # type: ignore[arg-type]
    web = web_client(app, api)
    web.sign_in(email, PASSWORD)
    return web


def _listed_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'class="project-link" href="/project/(\d+)/"', html)}


def _api_ids(api: Api, email: str, **params: str) -> set[int]:
    body = api.user_call(api.token(email), "get_projects", **params)
    assert body["status"] == "ok", body
    return {int(p["id"]) for p in body["data"]}


def test_the_owner_creates_a_project_and_the_api_sees_exactly_that(owner_web: WebClient) -> None:
    api = owner_web.api
    add_user(api, "ann@example.com")
    ann_id = add_user(api, "bob@example.com", role="reader")
    page = owner_web.get("/projects/new")
    assert page.status_code == 200 and 'name="csrf"' in page.text
    resp = owner_web.form("/projects/new", {
        "title": "  Launch  ", "folder": "Clients", "manager": "ann@example.com", "executive": "ANY",
        "member-1": "bob@example.com", "text": "The plan", "date_start": "2026-12-01", "date_end": "2026-12-31",
        "max_time": "12.5", "max_money": "1000", "option-allow_close": "1", "option-timer_only": "1"})
    assert resp.status_code == 303 and resp.headers["location"] == "/projects"
    data = api.ok("get_projects", extra="options,users,text")
    assert len(data) == 1
    got = data[0]
    assert got["name"] == "Launch" and got["company"] == "Clients" and got["status"] == "active"
    assert got["user_to"]["email"] == "ann@example.com" and got["text"] == "The plan"
    assert got["date_start"] == "2026-12-01" and got["date_end"] == "2026-12-31"
    assert got["max_time"] == 12.5 and got["max_money"] == 1000
    assert {k for k, v in got["options"].items() if v} == {"allow_close", "timer_only"}
    assert {u["email"] for u in got["users"]} == {api.owner_email, "ann@example.com", "bob@example.com"}
    assert ann_id
    listing = owner_web.get("/projects")
    text = text_of(listing.text)
    assert "Project “Launch” created." in text and "Clients" in text and "Launch" in text
    assert _listed_ids(listing.text) == {int(got["id"])}
    assert f'href="/project/{got["id"]}/"' in listing.text  # the API's page value is the link


def test_bad_input_gives_a_form_error_and_creates_nothing(owner_web: WebClient) -> None:
    api = owner_web.api
    cases = [({"title": "  "}, "Give the project a name."),
             ({"title": "x", "date_start": "2026-13-01"}, "Start date is not a date (YYYY-MM-DD)."),
             ({"title": "x", "date_start": "2026-12-10", "date_end": "2026-12-01"}, "The end date is before"),
             ({"title": "x", "max_time": "-1"}, "Time estimate (hours) must be a number."),
             ({"title": "x", "max_money": "lots"}, "Budget must be a number."),
             ({"title": "x" * 501}, "Title is too long"),
             ({"title": "x", "manager": "nobody@example.com"}, "Invalid email"),
             ({"title": "x", "option-time_today": "1", "option-timer_only": "1"}, "Only one parameter"),
             ({"title": "x", "folder": "f" * 300}, "Company is too long")]
    for data, message in cases:
        resp = owner_web.form("/projects/new", data)
        assert resp.status_code == 400, (data, resp.status_code)
        assert message in text_of(resp.text), (message, text_of(resp.text)[:400])
    assert api.ok("get_projects") == []


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(owner_web: WebClient) -> None:
    api = owner_web.api
    pid = make_project(api, "Kept")
    assert owner_web.post("/projects/new", {"title": "Forged"}).status_code == 403
    assert owner_web.post(f"/project/{pid}/close", {}).status_code == 403
    assert owner_web.post(f"/project/{pid}/edit", {"title": "Forged", "csrf": "0" * 64}).status_code == 403
    assert [p["name"] for p in api.ok("get_projects")] == ["Kept"]
    assert api.ok("get_project", id_project=pid)["status"] == "active"


def test_edit_close_and_reopen_go_through_the_domain(owner_web: WebClient) -> None:
    api = owner_web.api
    pid = make_project(api, "Old name")
    edit = owner_web.get(f"/project/{pid}/edit")
    assert edit.status_code == 200 and 'value="Old name"' in edit.text
    resp = owner_web.form(f"/project/{pid}/edit", {"title": "New name", "text": "Now described",
                                                    "option-require_term": "1"})
    assert resp.status_code == 303
    got = api.ok("get_project", id_project=pid, extra="options,text")
    assert got["name"] == "New name" and got["text"] == "Now described" and got["options"]["require_term"] == 1
    events = api.ok("get_events", period="1d")
    assert any(e["action"] == "update" and e["object"]["id"] == str(pid) for e in events)

    assert owner_web.form(f"/project/{pid}/close", {}, page="/projects").status_code == 303
    assert api.ok("get_project", id_project=pid)["status"] == "archive"
    assert pid not in _listed_ids(owner_web.get("/projects").text)
    assert pid in _listed_ids(owner_web.get("/projects?status=archive").text)
    again = owner_web.form(f"/project/{pid}/close", {}, page="/projects")
    assert again.status_code == 400 and "Project is already closed" in text_of(again.text)
    assert owner_web.form(f"/project/{pid}/reopen", {}, page="/projects").status_code == 303
    assert api.ok("get_project", id_project=pid)["status"] == "active"


def test_members_are_added_and_removed(owner_web: WebClient) -> None:
    api = owner_web.api
    ann = add_user(api, "ann@example.com")
    pid = make_project(api, "Team work", members=[api.owner_id])
    page = owner_web.get(f"/project/{pid}/members")
    assert page.status_code == 200 and f'name="member-{ann}"' in page.text
    resp = owner_web.form(f"/project/{pid}/members", {"action": "add", f"member-{ann}": "ann@example.com"})
    assert resp.status_code == 303
    emails = {u["email"] for u in api.ok("get_project", id_project=pid, extra="users")["users"]}
    assert emails == {api.owner_email, "ann@example.com"}
    none = owner_web.form(f"/project/{pid}/members", {"action": "add"})
    assert none.status_code == 400 and "Choose at least one person" in text_of(none.text)
    contact = owner_web.form(f"/project/{pid}/members", {"action": "add", "member-9": "stranger@example.com"})
    assert contact.status_code == 400 and "Invalid email" in text_of(contact.text)
    resp = owner_web.form(f"/project/{pid}/members", {"action": "remove", "email": "ann@example.com"})
    assert resp.status_code == 303
    emails = {u["email"] for u in api.ok("get_project", id_project=pid, extra="users")["users"]}
    assert emails == {api.owner_email}


def test_counts_show_open_and_all_top_level_tasks_and_members(owner_web: WebClient) -> None:
    api = owner_web.api
    pid = make_project(api, "Counted", members=[api.owner_id])
    top = make_task(api, pid, "a")
    make_task(api, pid, "b", status="done")
    make_task(api, pid, "sub", parent_id=top)
    row = next(r for r in owner_web.get("/projects").text.split("<tr>") if f"/project/{pid}/" in r)
    assert "1 / 2" in text_of(row) and ">1<" in row.replace(" ", "")


def test_search_and_folders_group_the_list(owner_web: WebClient) -> None:
    api = owner_web.api
    owner_web.form("/projects/new", {"title": "Alpha site", "folder": "Web"})
    owner_web.form("/projects/new", {"title": "Beta app", "folder": "Mobile"})
    owner_web.form("/projects/new", {"title": "Loose"})
    assert "Project “Loose” created." in text_of(owner_web.get("/projects").text)  # the flash, once
    text = text_of(owner_web.get("/projects").text)
    assert text.index("Mobile") < text.index("Beta app") < text.index("Web") < text.index("Alpha site")
    loose = next(p for p in api.ok("get_projects") if p["name"] == "Loose")
    assert loose["company"] and text.index(loose["company"]) < text.index("Loose")  # the creator's team
    found = owner_web.get("/projects?q=ALPHA")
    assert "Alpha site" in text_of(found.text) and "Beta app" not in text_of(found.text)
    assert "1 project" in text_of(found.text)
    assert owner_web.get("/projects?status=nonsense&q=" + "x" * 5000).status_code == 200
    assert len(api.ok("get_projects")) == 3


def test_each_role_sees_the_projects_get_projects_gives_it(web_app: Starlette, api: Api) -> None:
    member = add_user(api, "member@example.com")
    mine = make_project(api, "Member's", members=[member])
    make_project(api, "Not theirs")
    archived = make_project(api, "Archived with them", members=[member], status="archive")
    for email, role in (("member@example.com", "user"), ("reader@example.com", "reader"),
                        ("guest@example.com", "guest"), ("admin@example.com", "account admin"),
                        ("lead@example.com", "team admin")):
        web = web_client(web_app, api)
        if email != "member@example.com":
            uid = add_user(api, email, role=role)  # type: ignore[arg-type]
            make_project(api, f"{role} project", members=[uid])
        web.sign_in(email, PASSWORD)
        for status in ("active", "archive"):
            shown = _listed_ids(web.get(f"/projects?status={status}").text)
            assert shown == _api_ids(api, email, filter=status), (email, status)
        assert _listed_ids(web.get("/projects?status=all").text) == _api_ids(api, email)
    assert mine and archived


def test_readers_and_guests_see_but_cannot_create_edit_close_or_change_members(web_app: Starlette,
                                                                                api: Api) -> None:
    for role in ("reader", "guest"):
        email = f"{role}@example.com"
        web = _signed_in(web_app, api, email, role)
        uid = next(u["id"] for u in api.ok("get_users") if u["email"] == email)
        pid = make_project(api, f"Seen by {role}", members=[int(uid)])
        listing = web.get("/projects")
        assert pid in _listed_ids(listing.text)
        assert "/projects/new" not in listing.text and f"/project/{pid}/edit" not in listing.text
        assert web.get("/projects/new").status_code == 403
        assert web.get(f"/project/{pid}/edit").status_code == 403
        members = web.get(f"/project/{pid}/members")
        assert members.status_code == 200 and 'value="remove"' not in members.text
        # forged posts with a valid token are refused by the domain too
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', listing.text)
        assert token is not None
        for path, data in ((f"/project/{pid}/close", {}), ("/projects/new", {"title": "No"}),
                           (f"/project/{pid}/members", {"action": "add", "member-1": api.owner_email})):
            resp = web.post(path, {**data, "csrf": token.group(1)})
            assert resp.status_code == 403, (role, path, resp.status_code)
        assert api.ok("get_project", id_project=pid)["status"] == "active"
        assert len(api.ok("get_projects")) == (1 if role == "reader" else 2)


def test_a_plain_user_cannot_open_projects_they_do_not_see_and_another_accounts_ids_are_404(
        web_app: Starlette, api: Api, other: Api) -> None:
    web = _signed_in(web_app, api, "member@example.com")
    hidden = make_project(api, "Hidden from member")
    foreign = make_project(other, "Other account's")
    for pid in (hidden, foreign, 999_999_999, 10**20):
        for path in (f"/project/{pid}/edit", f"/project/{pid}/members"):
            resp = web.get(path)
            assert resp.status_code == 404, (path, resp.status_code)
            assert "Other account" not in resp.text and "Hidden from member" not in resp.text
    owner = web_client(web_app, api)
    owner.sign_in()
    assert owner.get(f"/project/{foreign}/edit").status_code == 404
    listing = owner.get("/projects")
    assert foreign not in _listed_ids(listing.text)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', listing.text)
    assert token is not None
    assert owner.post(f"/project/{foreign}/close", {"csrf": token.group(1)}).status_code == 404
    assert other.ok("get_project", id_project=foreign)["status"] == "active"


def test_a_client_team_user_sees_what_the_api_shows_them(web_app: Starlette, api: Api) -> None:
    api.ok("add_user_group", title="Acme (client)", client=1)
    api.ok("add_user", email="client@example.com", group="Acme (client)")
    from localsection import accounts

    with api.state.db.session() as s:
        accounts.set_password(s, api.account, "client@example.com", PASSWORD)
    uid = int(next(u["id"] for u in api.ok("get_users") if u["email"] == "client@example.com"))
    make_project(api, "Client's", members=[uid])
    make_project(api, "Internal")
    web = web_client(web_app, api)
    web.sign_in("client@example.com", PASSWORD)
    assert _listed_ids(web.get("/projects?status=all").text) == _api_ids(api, "client@example.com")


def test_the_list_costs_the_same_number_of_queries_for_3_or_40_projects(owner_web: WebClient) -> None:
    from tests.helpers import counted_statements

    api = owner_web.api
    ann = add_user(api, "ann@example.com")

    def fill(start: int, end: int) -> None:
        for i in range(start, end):
            pid = make_project(api, f"P{i}", members=[api.owner_id, ann], manager_id=ann)
            make_task(api, pid, "t")
        api.ok("update_project", id_project=pid, company=f"Folder {end}")

    fill(0, 3)
    owner_web.get("/projects")  # warm: the session's last_seen write and the statement caches
    with counted_statements(api) as few:
        assert owner_web.get("/projects").status_code == 200
    fill(3, 40)
    with counted_statements(api) as many:
        page = owner_web.get("/projects")
    assert len(_listed_ids(page.text)) == 40
    assert len(many) == len(few), (len(few), len(many))


def test_the_pages_speak_ukrainian_to_a_ukrainian_user(owner_web: WebClient) -> None:
    owner_web.form("/me", {"action": "language", "language": "uk"})
    make_project(owner_web.api, "Сайт")
    texts = {path: text_of(owner_web.get(path).text) for path in ("/projects", "/projects/new", "/people", "/settings")}
    assert "Новий проєкт" in texts["/projects"] and "1 проєкт" in texts["/projects"]
    assert "Створити проєкт" in texts["/projects/new"]
    assert "Виконавці можуть завершувати завдання" in texts["/projects/new"]
    assert "Запросити користувача" in texts["/people"]
    assert "Замінити ключ" in texts["/settings"] and "Вебхуки" in texts["/settings"]
    bad = owner_web.form("/projects/new", {"title": ""})
    assert bad.status_code == 400 and "Дайте проєкту назву." in text_of(bad.text)


def test_every_form_of_these_pages_carries_the_csrf_token_and_no_inline_code(owner_web: WebClient) -> None:
    from localsection.webapp import handlers

    api = owner_web.api
    pid = make_project(api, "Formed", members=[api.owner_id])
    add_user(api, "nopass@example.com", password=None)
    for path in ("/projects", "/projects?status=all", "/projects/new", f"/project/{pid}/edit",
                 f"/project/{pid}/members", "/people", "/settings"):
        resp = owner_web.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-security-policy"] == handlers.CSP
        assert "<script>" not in resp.text and "style=" not in resp.text and "<style" not in resp.text, path
        posts = resp.text.count('method="post"')
        assert posts > 1 and resp.text.count('name="csrf"') == posts, path  # the sign-out form too


def test_project_tags_are_picked_on_create_and_changed_or_cleared_on_edit(owner_web: WebClient) -> None:
    api = owner_web.api
    api.ok("add_project_tag_groups", access="public", title="Finance")
    tags = {t["title"]: t["id"] for t in api.ok("add_project_tags", group="Finance", title="paid,billable")}
    resp = owner_web.form("/projects/new", {"title": "Tagged", f"tag-{tags['paid']}": str(tags["paid"])})
    assert resp.status_code == 303
    project = api.ok("get_projects")[0]
    assert project["tags"] == {str(tags["paid"]): "paid"}
    pid = project["id"]
    edit = owner_web.get(f"/project/{pid}/edit").text
    assert f'name="tag-{tags["paid"]}" value="{tags["paid"]}" checked' in edit
    owner_web.form(f"/project/{pid}/edit", {"title": "Tagged", f"tag-{tags['billable']}": str(tags["billable"])})
    assert api.ok("get_project", id_project=pid)["tags"] == {str(tags["billable"]): "billable"}
    owner_web.form(f"/project/{pid}/edit", {"title": "Tagged"})
    assert "tags" not in api.ok("get_project", id_project=pid)
    bad = owner_web.form("/projects/new", {"title": "Bad tag", "tag-999999": "999999"})
    assert bad.status_code == 400 and "Tag is invalid" in text_of(bad.text)
