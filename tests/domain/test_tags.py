"""domain.tags called directly (no HTTP): groups, tags, plus/minus with events, private groups hidden."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from localsection.domain import projects, tags
from localsection.domain.projects import ProjectChanges
from localsection.errors import ApiError
from localsection.models import Event
from tests.helpers import Api


def test_groups_and_tags_are_created_once_by_title(api: Api) -> None:
    with api.ctx() as ctx:
        [stage] = tags.add_groups(ctx, applies_to="task", titles=["Stage", "stage"], type_="status",
                                  visibility=None)
        assert (stage.type, stage.access) == ("status", "public")  # status groups are public
        created = tags.add_tags(ctx, applies_to="task", group="stage", titles=["Open", " Done ", "open"])
        assert [t.title for t in created] == ["Open", "Done"]
        again = tags.add_tags(ctx, applies_to="task", group=str(stage.id), titles=["OPEN"])
        assert [t.id for t in again] == [created[0].id]
        listed = tags.list_tags(ctx, applies_to="task", group="Stage")
        assert [(t.title, g.title) for t, g in listed] == [("Open", "Stage"), ("Done", "Stage")]
        assert tags.list_tags(ctx, applies_to="project") == []


def test_validation_errors(api: Api) -> None:
    with api.ctx() as ctx:
        for call, code, details in (
                (lambda: tags.add_groups(ctx, applies_to="task", titles=["L"], type_="label", visibility=None),
                 10, "access"),
                (lambda: tags.add_groups(ctx, applies_to="task", titles=[" "], type_="label", visibility="public"),
                 10, "title"),
                (lambda: tags.add_tags(ctx, applies_to="task", group="", titles=["x"]), 10, "group (id or title)"),
                (lambda: tags.add_tags(ctx, applies_to="task", group="Nope", titles=["x"]), 16, "Nope"),
                (lambda: tags.check_titles(["x" * 256]), 11, "x" * 255)):
            with pytest.raises(ApiError) as bad:
                call()
            assert (bad.value.code, bad.value.details) == (code, details)


def test_update_project_tags_records_an_event_and_a_status_replaces_its_sibling(api: Api) -> None:
    with api.ctx() as ctx:
        tags.add_groups(ctx, applies_to="project", titles=["Phase"], type_="status", visibility=None)
        tags.add_groups(ctx, applies_to="project", titles=["Topics"], type_="", visibility="public")
        plan, build = tags.add_tags(ctx, applies_to="project", group="Phase", titles=["Plan", "Build"])
        [web] = tags.add_tags(ctx, applies_to="project", group="Topics", titles=["Web"])
        pid = projects.create_project(ctx, changes=ProjectChanges(title="P")).id
        assert tags.update_project_tags(ctx, project_id=pid, plus=["plan", str(web.id)]) == {
            str(plan.id): "Plan", str(web.id): "Web"}
        assert tags.update_project_tags(ctx, project_id=pid, plus=["Build"], minus=["Web"]) == {
            str(build.id): "Build"}
        assert tags.update_project_tags(ctx, project_id=pid, minus=["Web"]) == {str(build.id): "Build"}
        mine = select(Event).where(Event.account_id == api.account_id, Event.object_type == "project")
        updates = ctx.db.scalars(mine.where(Event.object_id == pid, Event.action == "update").order_by(Event.id))
        assert [(e.old, e.new) for e in updates] == [
            ({"tags": {}}, {"tags": {str(plan.id): "Plan", str(web.id): "Web"}}),
            ({"tags": {str(plan.id): "Plan", str(web.id): "Web"}}, {"tags": {str(build.id): "Build"}})]
        with pytest.raises(ApiError) as unknown:
            tags.update_project_tags(ctx, project_id=pid, plus=["Nope"])
        assert (unknown.value.code, unknown.value.message, unknown.value.details) == (16, "Tag is invalid", "Nope")


def test_private_groups_do_not_exist_for_guests_and_readers_change_nothing(api: Api) -> None:
    api.add_user("guest@x.com", role="guest")
    api.add_user("reader@x.com", role="reader")
    with api.ctx() as ctx:
        tags.add_groups(ctx, applies_to="task", titles=["Internal"], type_="label", visibility="private")
        tags.add_groups(ctx, applies_to="task", titles=["Public"], type_="label", visibility="public")
        tags.add_tags(ctx, applies_to="task", group="Internal", titles=["secret"])
        tags.add_tags(ctx, applies_to="task", group="Public", titles=["bug"])
    with api.ctx("guest@x.com") as ctx:
        assert [g.title for g in tags.list_groups(ctx, applies_to="task")] == ["Public"]
        assert [t.title for t, _ in tags.list_tags(ctx, applies_to="task")] == ["bug"]
        with pytest.raises(ApiError) as hidden:
            tags.find_group(ctx, applies_to="task", ref="Internal")
        assert hidden.value.code == 16
    with api.ctx("reader@x.com") as ctx:
        assert [t.title for t, _ in tags.list_tags(ctx, applies_to="task", visibility="private")] == ["secret"]
        with pytest.raises(ApiError) as refused:
            tags.add_tags(ctx, applies_to="task", group="Public", titles=["more"])
        assert refused.value.code == 20
