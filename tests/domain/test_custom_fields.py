"""domain.custom_fields called directly: definitions made by admins, values checked by type."""

from __future__ import annotations

import pytest

from localsection import errors
from localsection.domain import custom_fields as cf
from localsection.render.custom_fields import custom_field_values
from tests.factories import make_project, make_task
from tests.helpers import Api


def test_admins_define_fields_everyone_lists_them(api: Api) -> None:
    api.add_user("kate@example.com")
    with api.ctx() as ctx:
        size = cf.create_field(ctx, applies_to="task", name=" Size ", type_="select", options=["S", "M", " S"])
        cf.create_field(ctx, applies_to="project", name="Budget", type_="number")
        cf.create_field(ctx, applies_to="task", name="Due", type_="date", descr="When")
    assert (size.name, size.options) == ("Size", ["S", "M"])
    with api.ctx("kate@example.com", write=False) as ctx:
        assert [f.name for f in cf.definitions(ctx, applies_to="task")] == ["Size", "Due"]
        assert [f.name for f in cf.definitions(ctx, applies_to="project")] == ["Budget"]
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        cf.create_field(ctx, applies_to="task", name="Mine", type_="text")
    assert (exc.value.code, exc.value.details) == (20, "role")
    with api.ctx(write=False) as ctx:
        assert [f.name for f in cf.list_fields(ctx)] == ["Size", "Due", "Budget"]


@pytest.mark.parametrize(("applies_to", "type_", "options", "message"), [
    ("user", "text", [], "--for must be one of"),
    ("task", "colour", [], "--type must be one of"),
    ("task", "select", [], "needs at least one --option"),
    ("task", "text", ["a"], "--option is only for select"),
])
def test_bad_definitions_are_refused(api: Api, applies_to: str, type_: str, options: list[str],
                                     message: str) -> None:
    with pytest.raises(cf.CustomFieldError, match=message), api.ctx() as ctx:
        cf.create_field(ctx, applies_to=applies_to, name="Field", type_=type_, options=options)
    with api.ctx(write=False) as ctx:
        assert cf.list_fields(ctx) == []


def test_values_are_stored_in_their_typed_form_and_shown(api: Api) -> None:
    task = make_task(api, make_project(api))
    with api.ctx() as ctx:
        points = cf.create_field(ctx, applies_to="task", name="Points", type_="number")
        tags = cf.create_field(ctx, applies_to="task", name="Tags", type_="multiselect", options=["a", "b"])
        assert cf.set_value(ctx, field_id=points.id, object_id=task, value="2,50") == "2.5"
        assert cf.set_value(ctx, field_id=tags.id, object_id=task, value="b, a, b") == ["b", "a"]
        with pytest.raises(cf.CustomFieldError, match="not an option"):
            cf.set_value(ctx, field_id=tags.id, object_id=task, value="c")
    with api.ctx(write=False) as ctx:
        shown = custom_field_values(ctx, "task", [task])[task]
    assert [(v["name"], v["value"]) for v in shown] == [("Points", 2.5), ("Tags", ["b", "a"])]
    with api.ctx() as ctx:
        assert cf.set_value(ctx, field_id=points.id, object_id=task, value=" ") is None
        assert [v["name"] for v in custom_field_values(ctx, "task", [task])[task]] == ["Tags"]


def test_values_only_on_objects_of_the_fields_kind_and_account(api: Api, other: Api) -> None:
    project = make_project(api)
    foreign = make_task(other, make_project(other))
    with api.ctx() as ctx:
        field = cf.create_field(ctx, applies_to="task", name="Note", type_="text")
        with pytest.raises(cf.CustomFieldError, match="no task"):
            cf.set_value(ctx, field_id=field.id, object_id=foreign, value="x")
        with pytest.raises(cf.CustomFieldError, match="no custom field"):
            cf.set_value(ctx, field_id=field.id + 10_000, object_id=project, value="x")
