"""get_task_custom_fields / get_project_custom_fields: the API adapters of domain.custom_fields."""

from __future__ import annotations

from typing import Any

from localsection import render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import custom_fields
from localsection.render import custom_fields as rcf


@action("get_task_custom_fields", scope="tasks_read")
def get_task_custom_fields(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Custom field definitions of tasks."""
    return render.ok_data([rcf.definition(f) for f in custom_fields.definitions(ctx, applies_to="task")])


@action("get_project_custom_fields", scope="projects_read")
def get_project_custom_fields(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Custom field definitions of projects."""
    return render.ok_data([rcf.definition(f) for f in custom_fields.definitions(ctx, applies_to="project")])
