"""Projects (PROTOCOL.md §4.2, §8): every action's success and error paths, rules, access and isolation."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from typing import Any

import pytest
from sqlalchemy import select

from localsection import clock
from localsection.models import Event, Project, ProjectFolder, ProjectMember, Tag, TagGroup
from tests.factories import make_project
from tests.helpers import ADMIN_PATH, Api, counted_statements

OPTION_KEYS = ["allow_close", "allow_give", "allow_term", "allow_limit", "require_term", "require_tag",
               "require_limit", "require_hidden", "deny_comments_edit", "deny_task_edit", "deny_task_delete",
               "time_require", "time_today", "timer_only"]
ONE_OF = "Only one parameter (options.time_require or options.time_today or options.timer_only) can be set as 1."


# -- helpers ---------------------------------------------------------------------------------------

def raw_post(api: Api, query: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    """POST with everything in the query string (Postman style) and an optional form body."""
    action = urllib.parse.parse_qs(query)["action"][0]
    resp = api.client.post(f"{ADMIN_PATH}?{query}", data=data,
                           headers={"Host": api.host, "Authorization": api.admin_header(action)})
    return resp.json()  # type: ignore[no-any-return]


def project_tags(api: Api, *titles: str, group: str = "Labels") -> list[int]:
    with api.state.db.session() as s:
        g = TagGroup(account_id=api.account_id, applies_to="project", title=group, type="label", access="public")
        s.add(g)
        s.flush()
        tags = [Tag(account_id=api.account_id, group_id=g.id, title=t) for t in titles]
        s.add_all(tags)
        s.flush()
        return [t.id for t in tags]


def project_events(api: Api, project_id: int) -> list[tuple[str, Any, Any]]:
    with api.state.db.session(write=False) as s:
        rows = s.scalars(select(Event).where(Event.account_id == api.account_id, Event.object_type == "project",
                                             Event.object_id == project_id).order_by(Event.id))
        return [(e.action, e.new, e.old) for e in rows]


def project_row(api: Api, project_id: int) -> Project:
    with api.state.db.session(write=False) as s:
        row = s.get(Project, project_id)
        assert row is not None
        s.expunge(row)
        return row


def member_emails(api: Api, project_id: int) -> list[str]:
    data = api.ok("get_project", id_project=project_id, extra="users")
    return [u["email"] for u in data["users"]]


def count_projects(api: Api) -> int:
    return len(api.ok("get_projects"))


# -- post_project ------------------------------------------------------------------------------------

def test_a_minimal_project_is_active_authored_by_the_owner_without_a_manager(api: Api) -> None:
    data = api.ok("post_project", title="  Launch  ")
    assert list(data) == ["id", "name", "page", "status", "company", "user_from", "user_to", "date_added"]
    assert data["name"] == "Launch"
    assert data["page"] == f"/project/{data['id']}/"
    assert data["status"] == "active"
    assert data["user_from"]["email"] == api.owner_email
    assert data["user_to"] == {"id": "0", "email": "NOONE", "name": "Manager isn't assigned"}
    assert data["company"] == api.account.capitalize()
    assert isinstance(data["id"], str)


def test_post_project_with_every_parameter_returns_them_in_protocol_order(api: Api) -> None:
    api.add_user("kate@example.com", first_name="Kate", last_name="Greenway")
    api.add_user("frank@example.com")
    tag_ids = project_tags(api, "inner", "wiki")
    data = api.ok("post_project", title="Brand", email_manager="kate@example.com", email_user_to="ANY",
                  members="frank@example.com, kate@example.com", text="Line one\nLine <two>", company="Marketing",
                  datestart="01.02.2021", dateend="2021-03-01", max_time="352", max_money="4224,5",
                  tags="inner, " + str(tag_ids[1]), extra="text,options,users", **{"options.allow_close": 1})
    assert list(data) == ["id", "name", "page", "status", "company", "user_from", "user_to", "text", "date_added",
                          "date_start", "date_end", "options", "max_time", "max_money", "tags", "users"]
    assert data["user_to"] == {"id": data["user_to"]["id"], "email": "kate@example.com", "name": "Kate Greenway"}
    assert data["text"] == "Line one\nLine <two>"
    assert data["company"] == "Marketing"
    assert (data["date_start"], data["date_end"]) == ("2021-02-01", "2021-03-01")
    assert data["max_time"] == 352 and data["max_money"] == 4224.5
    assert data["tags"] == {str(tag_ids[0]): "inner", str(tag_ids[1]): "wiki"}
    assert list(data["options"]) == OPTION_KEYS
    assert data["options"]["allow_close"] == 1 and sum(data["options"].values()) == 1
    assert sorted(u["email"] for u in data["users"]) == sorted([api.owner_email, "frank@example.com",
                                                               "kate@example.com"])


def test_the_default_executive_is_stored_but_not_echoed(api: Api) -> None:
    user = api.add_user("dev@example.com")
    for value, expect in (("ANY", (None, True)), ("NOONE", (None, False)), ("dev@example.com", (int(user["id"]),
                                                                                                 False))):
        data = api.ok("post_project", title="P", email_user_to=value)
        assert "email_user_to" not in data and "executive" not in json.dumps(data)
        row = project_row(api, int(data["id"]))
        assert (row.executive_id, row.executive_any) == expect


@pytest.mark.parametrize("key", ["options.{}", "options_{}", "options[{}]"])
def test_every_option_is_accepted_in_every_query_spelling(api: Api, key: str) -> None:
    for option in OPTION_KEYS:
        body = raw_post(api, f"action=post_project&title=P&extra=options&{key.format(option)}=1")
        assert body["status"] == "ok", body
        assert {k for k, v in body["data"]["options"].items() if v == 1} == {option}


def test_options_are_accepted_as_a_json_object_a_json_string_and_form_fields(api: Api) -> None:
    data = api.ok("post_project", title="P", extra="options", options={"allow_give": True, "deny_task_edit": "1"})
    assert data["options"]["allow_give"] == 1 and data["options"]["deny_task_edit"] == 1
    encoded = urllib.parse.quote(json.dumps({"require_tag": 1, "timer_only": 1}))
    body = raw_post(api, f"action=post_project&title=P&extra=options&options={encoded}")
    assert body["data"]["options"]["require_tag"] == 1 and body["data"]["options"]["timer_only"] == 1
    body = raw_post(api, "action=post_project", {"title": "Form", "extra": "options", "options.time_today": "1"})
    assert body["data"]["name"] == "Form" and body["data"]["options"]["time_today"] == 1


def test_options_are_integers_and_all_zero_by_default(api: Api) -> None:
    data = api.ok("post_project", title="P", extra="options")
    assert data["options"] == dict.fromkeys(OPTION_KEYS, 0)


@pytest.mark.parametrize("pair", [("time_require", "time_today"), ("time_today", "timer_only"),
                                  ("time_require", "timer_only")])
def test_two_exclusive_cost_options_are_refused_and_nothing_is_created(api: Api, pair: tuple[str, str]) -> None:
    before = count_projects(api)
    body = raw_post(api, f"action=post_project&title=P&options.{pair[0]}=1&options.{pair[1]}=1")
    assert body == {"status": "error", "status_code": 11, "message": ONE_OF}
    assert count_projects(api) == before


def test_a_title_is_required(api: Api) -> None:
    for title in (None, "", "   "):
        params = {} if title is None else {"title": title}
        assert api.error("post_project", **params) == {"status": "error", "status_code": 10,
                                                       "message": "Field is required", "message_details": "title"}


def test_unknown_or_contact_emails_are_invalid_and_nothing_is_created(api: Api) -> None:
    api.ok("add_contact", email="client@example.com", name="Cli Ent")
    before = count_projects(api)
    for params in ({"email_manager": "nobody@example.com"}, {"email_user_to": "client@example.com"},
                   {"members": "client@example.com"}, {"members": [api.owner_email, "ghost@example.com"]},
                   {"email_manager": f"{api.owner_email},{api.owner_email}"}):
        body = api.error("post_project", title="P", **params)
        assert (body["status_code"], body["message"]) == (11, "Invalid email")
        assert body["message_details"] in {"nobody@example.com", "client@example.com", "ghost@example.com",
                                           f"{api.owner_email},{api.owner_email}"}
    assert count_projects(api) == before


def test_members_accept_a_json_array_and_comma_emails_with_spaces(api: Api) -> None:
    api.add_user("a@example.com")
    api.add_user("b@example.com")
    one = api.ok("post_project", title="P", members=["a@example.com", "b@example.com"], extra="users")
    two = raw_post(api, "action=post_project&title=P&extra=users&members=a@example.com,%20b@example.com")
    for data in (one, two["data"]):
        assert sorted(u["email"] for u in data["users"]) == sorted([api.owner_email, "a@example.com",
                                                                   "b@example.com"])


def test_company_names_a_team_a_folder_or_creates_a_folder(api: Api) -> None:
    api.ok("add_user_group", title="Design team")
    api.ok("add_project_group", title="Outsource")
    assert api.ok("post_project", title="P", company="Design team")["company"] == "Design team"
    assert api.ok("post_project", title="P", company="Outsource")["company"] == "Outsource"
    assert api.ok("post_project", title="P", company="Brand new")["company"] == "Brand new"
    groups = {(g["title"], g["type"]) for g in api.ok("get_project_groups")}
    assert {("Outsource", "folder"), ("Brand new", "folder"), ("Design team", "company")} <= groups
    assert ("Design team", "folder") not in groups


def test_dates_in_either_format_and_bad_dates_are_refused(api: Api) -> None:
    data = api.ok("post_project", title="P", datestart="2021-1-5", dateend="31.12.2021")
    assert (data["date_start"], data["date_end"]) == ("2021-01-05", "2021-12-31")
    for bad in ("2021-02-30", "12/31/2021", "tomorrow"):
        body = api.error("post_project", title="P", dateend=bad)
        assert body == {"status": "error", "status_code": 11, "message": "Invalid date", "message_details": "dateend"}


def test_estimates_must_be_non_negative_numbers(api: Api) -> None:
    data = api.ok("post_project", title="P", max_time=1.5, max_money="20400")
    assert data["max_time"] == 1.5 and data["max_money"] == 20400 and isinstance(data["max_money"], int)
    for value in ("lots", "-1"):
        body = api.error("post_project", title="P", max_time=value)
        assert (body["status_code"], body["message_details"]) == (11, "max_time")


def test_an_unknown_tag_is_refused_with_code_16(api: Api) -> None:
    project_tags(api, "inner")
    before = count_projects(api)
    body = api.error("post_project", title="P", tags="inner,nonexistent")
    assert body == {"status": "error", "status_code": 16, "message": "Tag is invalid",
                    "message_details": "nonexistent"}
    assert count_projects(api) == before


def test_a_task_tag_is_not_a_project_tag(api: Api) -> None:
    with api.state.db.session() as s:
        g = TagGroup(account_id=api.account_id, applies_to="task", title="Stages", type="label", access="public")
        s.add(g)
        s.flush()
        s.add(Tag(account_id=api.account_id, group_id=g.id, title="taskonly"))
    assert api.error("post_project", title="P", tags="taskonly")["status_code"] == 16


def test_email_user_from_sets_the_author_with_the_admin_key_only(api: Api) -> None:
    api.add_user("author@example.com", role="account admin")
    assert api.ok("post_project", title="P", email_user_from="author@example.com")["user_from"]["email"] == \
        "author@example.com"
    token = api.token("author@example.com")
    body = api.user_call(token, "post_project", title="P", email_user_from=api.owner_email)
    assert body["data"]["user_from"]["email"] == "author@example.com"


def test_post_project_records_a_post_event_with_the_given_fields(api: Api) -> None:
    api.add_user("kate@example.com", first_name="Kate", last_name="Greenway")
    data = api.ok("post_project", title="Prototyping", email_manager="kate@example.com", dateend="2021-07-01")
    (kind, new, old), = project_events(api, int(data["id"]))
    assert kind == "post" and old is None
    assert new == {"title": "Prototyping", "user_to": data["user_to"], "date_end": "2021-07-01"}


def test_readers_and_guests_cannot_create_projects(api: Api) -> None:
    api.add_user("reader@example.com", role="reader")
    api.add_user("guest@example.com", role="guest")
    before = count_projects(api)
    for email in ("reader@example.com", "guest@example.com"):
        body = api.user_call(api.token(email), "post_project", title="P")
        assert (body["status"], body["status_code"]) == ("error", 20)
        body = api.user_call(api.token(email), "add_project_group", title="F")
        assert body["status_code"] == 20
    assert count_projects(api) == before


def test_a_token_without_projects_write_cannot_create(api: Api) -> None:
    body = api.user_call(api.token(scopes=["projects_read"]), "post_project", title="P")
    assert (body["status_code"], body["message_details"]) == (20, "projects_write")


# -- get_projects / get_project -------------------------------------------------------------------------

def test_get_projects_filters_by_state_and_accepts_archived(api: Api) -> None:
    active = make_project(api, "A")
    pending = make_project(api, "P", status="pending")
    archived = make_project(api, "Z", status="archive")
    ids = {f: [int(p["id"]) for p in api.ok("get_projects", filter=f)] for f in ("active", "pending", "archive",
                                                                                "archived")}
    assert ids == {"active": [active], "pending": [pending], "archive": [archived], "archived": [archived]}
    assert [int(p["id"]) for p in api.ok("get_projects")] == [active, pending, archived]
    assert api.error("get_projects", filter="done")["status_code"] == 11


def test_get_projects_is_always_a_data_list_even_when_empty(api: Api) -> None:
    assert api.call("get_projects") == {"status": "ok", "data": []}


def test_extras_add_text_html_options_and_users_only_when_asked(api: Api) -> None:
    pid = make_project(api, "P", text="a < b\r\nnext", members=[api.owner_id])
    plain = api.ok("get_project", id_project=pid)
    assert not {"text", "options", "users"} & set(plain)
    assert api.ok("get_project", id_project=pid, extra="text")["text"] == "a < b\r\nnext"
    assert api.ok("get_project", id_project=pid, extra="html")["text"] == "a &lt; b<br>next"
    full = api.ok("get_project", id_project=pid, extra=["options", "users"])
    assert full["users"] == [full["user_from"]] and list(full["options"]) == OPTION_KEYS
    assert api.ok("get_project", id_project=make_project(api, "E"), extra="text,users")["text"] == ""


def test_get_project_of_an_unknown_project_is_invalid(api: Api) -> None:
    assert api.error("get_project", id_project=999999999) == {"status": "error", "status_code": 4,
                                                              "message": "Project is invalid"}
    assert api.error("get_project", id_project="abc")["status_code"] == 4
    assert api.error("get_project")["status_code"] == 10


def test_a_token_user_sees_only_the_projects_they_belong_to(api: Api) -> None:
    user = api.add_user("member@example.com")
    mine = make_project(api, "Mine", members=[int(user["id"])])
    managed = make_project(api, "Managed", manager_id=int(user["id"]))
    hidden = make_project(api, "Not mine")
    token = api.token("member@example.com")
    body = api.user_call(token, "get_projects")
    assert sorted(int(p["id"]) for p in body["data"]) == sorted([mine, managed])
    assert api.user_call(token, "get_project", id_project=hidden)["status_code"] == 4
    assert api.user_call(token, "update_project", id_project=hidden, title="X")["status_code"] == 4
    assert project_row(api, hidden).name == "Not mine"


def test_get_projects_uses_a_bounded_number_of_queries(api: Api) -> None:
    users = [int(api.add_user(f"u{i}@example.com")["id"]) for i in range(3)]
    tag_ids = project_tags(api, "one", "two")

    def add(n: int) -> None:
        for i in range(n):
            pid = make_project(api, f"P{i}", members=users, manager_id=users[i % 3])
            with api.state.db.session() as s:
                from localsection.models import ProjectTag

                s.add_all([ProjectTag(project_id=pid, tag_id=t) for t in tag_ids])

    add(2)
    with counted_statements(api) as few:
        api.ok("get_projects", extra="text,options,users,custom_fields")
    add(25)
    with counted_statements(api) as many:
        data = api.ok("get_projects", extra="text,options,users,custom_fields")
    assert len(data) == 27 and all(len(p["users"]) == 3 and len(p["tags"]) == 2 for p in data)
    assert len(many) == len(few)


# -- update_project -------------------------------------------------------------------------------------

def test_update_project_changes_fields_and_records_old_and_new(api: Api) -> None:
    api.add_user("kate@example.com", first_name="Kate", last_name="Greenway")
    pid = int(api.ok("post_project", title="Brand launch", datestart="01.02.2021")["id"])
    data = api.ok("update_project", id_project=pid, title="Owl brand launch", email_manager="kate@example.com",
                  dateend="2021-03-01", max_time="10", text="About")
    assert data["name"] == "Owl brand launch" and data["user_to"]["email"] == "kate@example.com"
    assert (data["date_start"], data["date_end"], data["max_time"]) == ("2021-02-01", "2021-03-01", 10)
    kind, new, old = project_events(api, pid)[-1]
    assert kind == "update"
    assert set(new) == {"title", "user_to", "date_end", "max_time", "text", "users"}
    assert old["title"] == "Brand launch" and new["title"] == "Owl brand launch"
    assert old["user_to"]["email"] == "NOONE" and new["user_to"]["email"] == "kate@example.com"
    assert (old["date_end"], old["max_time"], old["text"]) == ("", "", "")


def test_update_project_without_extras_has_the_postman_keys(api: Api) -> None:
    pid = make_project(api, "P")
    data = api.ok("update_project", id_project=pid, title="Owl")
    assert list(data) == ["id", "name", "page", "status", "company", "user_from", "user_to", "date_added"]


def test_an_unchanged_update_records_no_event(api: Api) -> None:
    pid = int(api.ok("post_project", title="Same")["id"])
    api.ok("update_project", id_project=pid, title="Same")
    assert [e[0] for e in project_events(api, pid)] == ["post"]


def test_manager_noone_unassigns_the_manager(api: Api) -> None:
    api.add_user("kate@example.com")
    pid = int(api.ok("post_project", title="P", email_manager="kate@example.com")["id"])
    assert api.ok("update_project", id_project=pid, email_manager="NOONE")["user_to"]["id"] == "0"


def test_members_and_tags_replace_their_sets_on_update(api: Api) -> None:
    for e in ("a@example.com", "b@example.com", "c@example.com"):
        api.add_user(e)
    ids = project_tags(api, "one", "two", "three")
    pid = int(api.ok("post_project", title="P", members="a@example.com,b@example.com", tags="one,two")["id"])
    data = api.ok("update_project", id_project=pid, members="c@example.com", tags="three", extra="users")
    assert [u["email"] for u in data["users"]] == ["c@example.com"]
    assert data["tags"] == {str(ids[2]): "three"}
    kind, new, old = project_events(api, pid)[-1]
    assert kind == "update"
    assert new["tags"] == {str(ids[2]): "three"} and old["tags"] == {str(ids[0]): "one", str(ids[1]): "two"}
    assert [u["email"] for u in new["users"]] == ["c@example.com"]


def test_update_options_merge_and_keep_the_one_of_rule(api: Api) -> None:
    pid = int(api.ok("post_project", title="P", **{"options.timer_only": 1, "options.allow_give": 1})["id"])
    body = raw_post(api, f"action=update_project&id_project={pid}&options.time_require=1&options.time_today=1"
                         "&options.timer_only=1")
    assert body == {"status": "error", "status_code": 11, "message": ONE_OF}
    assert api.error("update_project", id_project=pid, **{"options.time_today": 1})["message"] == ONE_OF
    data = api.ok("update_project", id_project=pid, extra="options",
                  **{"options.time_today": 1, "options.timer_only": 0})
    assert (data["options"]["time_today"], data["options"]["timer_only"], data["options"]["allow_give"]) == (1, 0, 1)


def test_update_errors_leave_the_project_unchanged(api: Api) -> None:
    pid = int(api.ok("post_project", title="Keep")["id"])
    assert api.error("update_project", id_project=pid, title="New", email_manager="x@example.com")["status_code"] == 11
    assert api.error("update_project", id_project=pid, title="New", members="x@example.com")["status_code"] == 11
    assert api.error("update_project", id_project=pid, title="New", datestart="99.99.2021")["status_code"] == 11
    assert api.error("update_project", id_project=pid, title="New", tags="missing")["status_code"] == 16
    assert api.error("update_project", id_project=999999999, title="New")["status_code"] == 4
    assert project_row(api, pid).name == "Keep"
    assert len(project_events(api, pid)) == 1


def test_a_reader_member_cannot_update(api: Api) -> None:
    reader = api.add_user("reader@example.com", role="reader")
    pid = make_project(api, "P", members=[int(reader["id"])])
    token = api.token("reader@example.com")
    assert api.user_call(token, "get_project", id_project=pid)["status"] == "ok"
    assert api.user_call(token, "update_project", id_project=pid, title="X")["status_code"] == 20
    assert api.user_call(token, "close_project", id_project=pid)["status_code"] == 20
    assert project_row(api, pid).status == "active"


# -- close / activate ------------------------------------------------------------------------------------

def test_close_archives_with_a_date_and_refuses_twice(api: Api) -> None:
    pid = make_project(api, "P")
    started = clock.now().replace(second=0)
    assert api.call("close_project", id_project=pid) == {"status": "ok"}
    data = api.ok("get_project", id_project=pid)
    assert data["status"] == "archive"
    closed = dt.datetime.strptime(data["date_closed"], "%Y-%m-%d %H:%M")
    assert started <= closed <= clock.now()
    assert api.error("close_project", id_project=pid) == {"status": "error", "status_code": 12,
                                                          "message": "Project is already closed"}
    kind, new, old = project_events(api, pid)[-1]
    assert kind == "update" and new["status"] == "archive" and old == {"status": "active", "date_closed": ""}


def test_activate_brings_back_archived_and_pending_projects(api: Api) -> None:
    pid = make_project(api, "P")
    api.ok("close_project", id_project=pid)
    closed_at = api.ok("get_project", id_project=pid)["date_closed"]
    assert api.call("activate_project", id_project=pid) == {"status": "ok"}
    data = api.ok("get_project", id_project=pid)
    assert data["status"] == "active" and data["date_closed"] == closed_at
    assert api.error("activate_project", id_project=pid) == {"status": "error", "status_code": 12,
                                                             "message": "Project is already active"}
    sleeping = make_project(api, "S", status="pending")
    api.ok("activate_project", id_project=sleeping)
    assert api.ok("get_project", id_project=sleeping)["status"] == "active"
    assert project_events(api, sleeping)[-1][1:] == ({"status": "active"}, {"status": "pending"})


def test_close_and_activate_of_unknown_projects_are_invalid(api: Api) -> None:
    for name in ("close_project", "activate_project"):
        assert api.error(name, id_project=999999999)["status_code"] == 4
        assert api.error(name)["status_code"] == 10


# -- members -------------------------------------------------------------------------------------------

def test_members_are_added_and_removed_by_email(api: Api) -> None:
    api.add_user("frank@example.com")
    api.add_user("kate@example.com")
    pid = make_project(api, "P")
    body = raw_post(api, f"action=add_project_members&id_project={pid}"
                         "&members=frank@example.com,%20kate@example.com")
    assert body == {"status": "ok"}
    assert sorted(member_emails(api, pid)) == ["frank@example.com", "kate@example.com"]
    assert api.call("delete_project_members", id_project=pid, members=["kate@example.com"]) == {"status": "ok"}
    assert member_emails(api, pid) == ["frank@example.com"]
    assert api.call("delete_project_members", id_project=pid, members="kate@example.com") == {"status": "ok"}
    assert api.call("add_project_members", id_project=pid, members="frank@example.com") == {"status": "ok"}
    assert member_emails(api, pid) == ["frank@example.com"]
    kinds = [(e[0], [u["email"] for u in e[1]["users"]]) for e in project_events(api, pid)]
    assert kinds == [("update", ["frank@example.com", "kate@example.com"]), ("update", ["frank@example.com"])]


def test_member_changes_refuse_contacts_and_unknown_emails(api: Api) -> None:
    api.ok("add_contact", email="brian.dragonfly@gmail.com", name="Brian Dragonfly")
    api.add_user("frank@example.com")
    pid = make_project(api, "P")
    for name in ("add_project_members", "delete_project_members"):
        body = api.error(name, id_project=pid, members="frank@example.com, brian.dragonfly@gmail.com")
        assert body == {"status": "error", "status_code": 11, "message": "Invalid email",
                        "message_details": "brian.dragonfly@gmail.com"}
        assert api.error(name, id_project=pid)["message_details"] == "members"
        assert api.error(name, id_project=999999999, members="frank@example.com")["status_code"] == 4
    assert member_emails(api, pid) == []


# -- groups --------------------------------------------------------------------------------------------

def test_project_groups_list_folders_and_teams(api: Api) -> None:
    api.ok("add_user_group", title="Singing bird", client=1)
    folder = api.ok("add_project_group", title="Design")
    assert folder == {"id": folder["id"], "title": "Design", "type": "folder"}
    groups = api.ok("get_project_groups")
    assert groups[0] == folder
    teams = [g for g in groups if g["type"] == "company"]
    assert {"id", "title", "type", "client"} == set(teams[0])
    assert {g["title"]: g["client"] for g in teams} == {api.account.capitalize(): 0, "Singing bird": 1}


def test_add_project_group_returns_an_existing_folder_and_has_a_plural_alias(api: Api) -> None:
    first = api.ok("add_project_group", title="Outsource")
    assert api.ok("add_project_groups", title=" Outsource ") == first
    with api.state.db.session(write=False) as s:
        assert len(s.scalars(select(ProjectFolder).where(ProjectFolder.account_id == api.account_id)).all()) == 1
    assert api.error("add_project_group", title="") == {"status": "error", "status_code": 10,
                                                        "message": "Field is required", "message_details": "title"}


# -- isolation and legacy input -----------------------------------------------------------------------

def test_another_accounts_projects_are_invalid_and_untouched(api: Api, other: Api) -> None:
    theirs = make_project(other, "Theirs", status="pending")
    api.add_user("x@example.com")
    for name, extra in (("get_project", {}), ("update_project", {"title": "Mine"}), ("close_project", {}),
                        ("activate_project", {}), ("add_project_members", {"members": "x@example.com"}),
                        ("delete_project_members", {"members": "x@example.com"})):
        assert api.error(name, id_project=theirs, **extra)["status_code"] == 4, name
    assert theirs not in [int(p["id"]) for p in api.ok("get_projects")]
    row = project_row(other, theirs)
    assert (row.name, row.status) == ("Theirs", "pending")
    with other.state.db.session(write=False) as s:
        assert s.scalars(select(ProjectMember).where(ProjectMember.project_id == theirs)).all() == []
    assert project_events(other, theirs) == []


def test_other_accounts_groups_are_not_listed(api: Api, other: Api) -> None:
    other.ok("add_project_group", title="Secret folder")
    assert "Secret folder" not in [g["title"] for g in api.ok("get_project_groups")]
    assert api.ok("post_project", title="P", company="Secret folder")["company"] == "Secret folder"
    assert len([g for g in other.ok("get_project_groups") if g["title"] == "Secret folder"]) == 1


def test_a_legacy_page_parameter_selects_the_project(api: Api) -> None:
    pid = make_project(api, "Legacy")
    body = api.md5_get(f"action=get_project&page=/project/{pid}/")
    assert body["data"]["name"] == "Legacy"


def test_a_folder_created_concurrently_under_the_same_title_is_returned_not_an_error(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from localsection.domain import projects

    first = api.ok("add_project_group", title="Race")
    real = projects._find_folder
    calls: list[str] = []

    def missed_once(ctx: Any, title: str) -> ProjectFolder | None:
        calls.append(title)
        return None if len(calls) == 1 else real(ctx, title)  # the first look misses the other writer's row

    monkeypatch.setattr(projects, "_find_folder", missed_once)
    assert api.ok("add_project_group", title="Race") == first
    assert len(calls) == 2


def test_malformed_options_are_refused(api: Api) -> None:
    for value in ("{not json", "[1, 2]"):
        body = raw_post(api, f"action=post_project&title=P&options={urllib.parse.quote(value)}")
        assert (body["status_code"], body["message_details"]) == (11, "options")
    unknown = api.ok("post_project", title="P", extra="options", options={"no_such_flag": 1})
    assert sum(unknown["options"].values()) == 0


def test_project_changes_show_up_in_get_events(api: Api) -> None:
    pid = api.ok("post_project", title="Prototyping")["id"]
    api.ok("update_project", id_project=pid, title="Prototype")
    mine = [e for e in api.ok("get_events", period="1h", id_project=pid) if e["object"]["type"] == "project"]
    assert [(e["action"], e["new"]["title"]) for e in mine] == [("post", "Prototyping"), ("update", "Prototype")]
    assert mine[1]["old"] == {"title": "Prototyping"}
    assert mine[0]["object"] == {"type": "project", "id": pid, "page": f"/project/{pid}/"}


def test_custom_field_values_come_with_extra_custom_fields(api: Api) -> None:
    from localsection.models import CustomField, CustomFieldValue

    pid = make_project(api, "P")
    with api.state.db.session() as s:
        f = CustomField(account_id=api.account_id, applies_to="project", name="Budget code", type="text",
                        descr="", options=[])
        s.add(f)
        s.flush()
        s.add(CustomFieldValue(field_id=f.id, object_id=pid, value="BX-7"))
        field_id = f.id
    data = api.ok("get_project", id_project=pid, extra="custom_fields")
    assert data["custom_fields"] == [{"id": str(field_id), "type": "text", "name": "Budget code", "value": "BX-7"}]
    assert "custom_fields" not in api.ok("get_project", id_project=pid)
