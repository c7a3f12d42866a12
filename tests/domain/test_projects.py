"""domain.projects called directly (no HTTP): what is written, the events recorded and who is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from localsection.ctx import Ctx
from localsection.domain import projects
from localsection.domain.projects import ANYONE, ProjectChanges
from localsection.errors import ApiError
from localsection.models import Event, ProjectFolder
from localsection.render import projects as rp
from tests.helpers import Api


def project_events(ctx: Ctx, project_id: int) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    rows = ctx.db.scalars(select(Event).where(Event.object_type == "project", Event.object_id == project_id)
                          .order_by(Event.id))
    return [(e.action, e.new, e.old) for e in rows]


def member_emails(ctx: Ctx, project_id: int) -> list[str]:
    rel = rp.load_related(ctx, [projects.get_project(ctx, project_id=project_id)], {"users"})
    return sorted(rel.users[uid].email for uid in rel.members[project_id])


def test_create_project_writes_the_fields_and_records_the_given_ones(api: Api) -> None:
    api.add_user("lead@x.com")
    with api.ctx() as ctx:
        row = projects.create_project(ctx, changes=ProjectChanges(
            title="  Launch  ", manager="lead@x.com", executive=ANYONE, date_start=dt.date(2026, 1, 5),
            max_time=Decimal("12.5"), options={"allow_close": 1, "no_such_flag": 1}, company="Clients"))
        pid = row.id
    with api.ctx() as ctx:
        row = projects.get_project(ctx, project_id=pid)
        assert (row.name, row.status, row.executive_any, row.date_start) == ("Launch", "active", True,
                                                                             dt.date(2026, 1, 5))
        assert row.options["allow_close"] == 1 and "no_such_flag" not in row.options
        folder = ctx.db.get(ProjectFolder, row.folder_id)
        assert folder is not None and folder.title == "Clients"
        assert member_emails(ctx, pid) == sorted([api.owner_email, "lead@x.com"])
        [(action, new, old)] = project_events(ctx, pid)
        assert action == "post" and old is None
        assert new is not None
        assert list(new) == ["title", "user_to", "company", "date_start", "max_time", "options"]
        assert new["user_to"]["email"] == "lead@x.com" and new["company"] == "Clients"


def test_update_project_records_only_what_changed_and_nothing_for_no_change(api: Api) -> None:
    with api.ctx() as ctx:
        pid = projects.create_project(ctx, changes=ProjectChanges(title="Old", text="notes")).id
    with api.ctx() as ctx:
        projects.update_project(ctx, project_id=pid, changes=ProjectChanges(title="New", text="notes"))
        projects.update_project(ctx, project_id=pid, changes=ProjectChanges(title="New"))
    with api.ctx() as ctx:
        assert projects.get_project(ctx, project_id=pid).name == "New"
        assert project_events(ctx, pid)[1:] == [("update", {"title": "New"}, {"title": "Old"})]


def test_dates_and_estimates_are_cleared_by_none_and_kept_when_unset(api: Api) -> None:
    with api.ctx() as ctx:
        pid = projects.create_project(ctx, changes=ProjectChanges(
            title="P", date_end=dt.date(2026, 2, 1), max_money=Decimal(100))).id
        projects.update_project(ctx, project_id=pid, changes=ProjectChanges(date_end=None))
        row = projects.get_project(ctx, project_id=pid)
        assert (row.date_end, row.max_money) == (None, Decimal(100))


def test_state_changes_refuse_a_repeat_with_12(api: Api) -> None:
    with api.ctx() as ctx:
        pid = projects.create_project(ctx, changes=ProjectChanges(title="P")).id
        with pytest.raises(ApiError) as active:
            projects.activate_project(ctx, project_id=pid)
        assert (active.value.code, active.value.message) == (12, "Project is already active")
        row = projects.close_project(ctx, project_id=pid)
        assert row.status == "archive" and row.date_closed is not None
        with pytest.raises(ApiError) as closed:
            projects.close_project(ctx, project_id=pid)
        assert (closed.value.code, closed.value.message) == (12, "Project is already closed")
        assert [e[0] for e in project_events(ctx, pid)] == ["post", "update"]
        assert [p.id for p in projects.list_projects(ctx, status="archive")] == [pid]
        assert projects.list_projects(ctx, status="active") == []


def test_members_are_added_and_removed_by_email(api: Api) -> None:
    for email in ("a@x.com", "b@x.com"):
        api.add_user(email)
    with api.ctx() as ctx:
        pid = projects.create_project(ctx, changes=ProjectChanges(title="P")).id
        projects.add_project_members(ctx, project_id=pid, emails=["a@x.com", "B@x.com"])
        projects.remove_project_members(ctx, project_id=pid, emails=["a@x.com"])
        assert member_emails(ctx, pid) == sorted([api.owner_email, "b@x.com"])
        with pytest.raises(ApiError) as unknown:
            projects.add_project_members(ctx, project_id=pid, emails=["nobody@x.com"])
        assert (unknown.value.code, unknown.value.details) == (11, "nobody@x.com")
        with pytest.raises(ApiError) as none:
            projects.add_project_members(ctx, project_id=pid, emails=[])
        assert (none.value.code, none.value.details) == (10, "members")


def test_a_guest_may_not_create_and_a_user_does_not_see_other_projects(api: Api) -> None:
    api.add_user("guest@x.com", role="guest")
    api.add_user("user@x.com")
    with api.ctx() as ctx:
        hidden = projects.create_project(ctx, changes=ProjectChanges(title="Secret")).id
    with api.ctx("guest@x.com") as ctx, pytest.raises(ApiError) as refused:
        projects.create_project(ctx, changes=ProjectChanges(title="Mine"))
    assert refused.value.code == 20
    with api.ctx("user@x.com") as ctx:
        assert projects.list_projects(ctx) == []
        with pytest.raises(ApiError) as invisible:
            projects.get_project(ctx, project_id=hidden)
        assert invisible.value.code == 4
        own = projects.create_project(ctx, changes=ProjectChanges(title="Mine"))
        assert [p.id for p in projects.list_projects(ctx)] == [own.id]


def test_validation_errors(api: Api) -> None:
    with api.ctx() as ctx:
        with pytest.raises(ApiError) as untitled:
            projects.create_project(ctx, changes=ProjectChanges(title="  "))
        assert (untitled.value.code, untitled.value.details) == (10, "title")
        with pytest.raises(ApiError) as exclusive:
            projects.create_project(ctx, changes=ProjectChanges(title="P", options={"time_today": 1,
                                                                                    "timer_only": 1}))
        assert exclusive.value.code == 11
        with pytest.raises(ApiError) as manager:
            projects.create_project(ctx, changes=ProjectChanges(title="P", manager="contact@nowhere.com"))
        assert (manager.value.code, manager.value.message) == (11, "Invalid email")


def test_project_folders_are_found_by_title_or_created(api: Api) -> None:
    with api.ctx() as ctx:
        first = projects.add_project_folder(ctx, title=" Clients ")
        again = projects.add_project_folder(ctx, title="Clients")
        assert first.id == again.id and first.title == "Clients"
        folders, _teams = projects.list_project_groups(ctx)
        assert [f.title for f in folders] == ["Clients"]
        with pytest.raises(ApiError) as long:
            projects.add_project_folder(ctx, title="x" * 256)
        assert long.value.code == 11
