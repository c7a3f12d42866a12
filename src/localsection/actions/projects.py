"""Projects: list, read, create, change, archive, members and project folders (PROTOCOL.md §4.2, §8): the API
adapters of domain.projects.

No action deletes a project (§9.1).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from localsection import access, errors, files, render
from localsection.actions.files import attachments
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import UNSET, Unset, projects
from localsection.domain.projects import ANYONE, Anyone, ProjectChanges, Status
from localsection.formats import truthy
from localsection.models import Project, User
from localsection.render import members as rm
from localsection.render import projects as rp

STATUS_FILTERS: dict[str, Status] = {"active": "active", "pending": "pending", "archive": "archive",
                                     "archived": "archive"}


# -- reading parameters ---------------------------------------------------------------------------

def _flag_value(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    return 1 if truthy(value) else 0


def _options(p: Params) -> dict[str, int] | None:
    """The `options.*` flags given (dotted, underscored, bracketed, JSON object or JSON string); None if none."""
    raw = p.raw("options")
    if raw is None or raw == "" or raw == {}:
        return None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise errors.invalid_value("Invalid options", "options") from None
    if not isinstance(raw, dict):
        raise errors.invalid_value("Invalid options", "options")
    given = {key: _flag_value(raw[key]) for key in rp.OPTION_KEYS if key in raw and raw[key] not in (None, "")}
    return given or None


def _manager(p: Params) -> str | Unset | None:
    email = p.text("email_manager")
    if email is None:
        return UNSET
    return None if email.strip().upper() == "NOONE" else email


def _executive(p: Params) -> str | Anyone | Unset | None:
    email = p.text("email_user_to")
    if email is None:
        return UNSET
    word = email.strip().upper()
    return ANYONE if word == "ANY" else None if word == "NOONE" else email


def _estimate(p: Params, name: str) -> Decimal | Unset | None:
    return projects.check_estimate(p.decimal(name), name) if p.has(name) else UNSET


def _changes(p: Params, *, creating: bool) -> ProjectChanges:
    """The changes given (codes 10/11 of their formats); users and tags are resolved by the domain."""
    title = projects.check_title(p.text("title"), required=creating)
    options = _options(p)
    return ProjectChanges(
        title=UNSET if title is None else title, manager=_manager(p), executive=_executive(p),
        options=options if options is not None else ({} if p.has("options") else UNSET),
        members=p.csv("members") if p.has("members") else UNSET, tags=p.csv("tags") if p.has("tags") else UNSET,
        date_start=p.date("datestart") if p.has("datestart") else UNSET,
        date_end=p.date("dateend") if p.has("dateend") else UNSET,
        max_time=_estimate(p, "max_time"), max_money=_estimate(p, "max_money"),
        text=(p.text("text") or "") if p.has("text") else UNSET,
        company=(p.text("company") or "") if p.has("company") else UNSET)


def _project_id(p: Params) -> int:
    return p.req_id("id_project", invalid=errors.project_invalid())


def _respond(ctx: Ctx, row: Project, p: Params) -> dict[str, Any]:
    ctx.db.flush()
    return render.ok_data(rp.render_project(ctx, row, p.extra()))


# -- reads -------------------------------------------------------------------------------------------

@action("get_projects", scope="projects_read")
def get_projects(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Projects the caller can see, optionally of one state (archive and archived are the same)."""
    wanted = p.text("filter")
    status = None if wanted is None else STATUS_FILTERS.get(wanted.strip().lower())
    if wanted is not None and status is None:
        raise errors.invalid_value("Filter is invalid", "filter")
    return render.ok_data(rp.render_projects(ctx, projects.list_projects(ctx, status=status), p.extra()))


@action("get_project", scope="projects_read")
def get_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """One project; 4 when unknown or not visible to the caller."""
    return _respond(ctx, projects.get_project(ctx, project_id=_project_id(p)), p)


# -- create and change ---------------------------------------------------------------------------------

@action("post_project", scope="projects_write", uploads=True)
def post_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create an active project; the author and the manager join its team."""
    access.require_write(ctx)  # a guest or reader is refused before their parameters are read
    row = projects.create_project(ctx, changes=_changes(p, creating=True), author_email=p.text("email_user_from"))
    found = attachments(p)
    if found.parts or found.upload_ids:
        files.attach(ctx, found, author=ctx.db.get(User, row.user_from_id) or ctx.user, project_id=row.id)
    return _respond(ctx, row, p)


@action("update_project", scope="projects_write")
def update_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Change a project; `members` and `tags` replace their whole sets."""
    row = projects.check_writable_project(ctx, project_id=_project_id(p))
    return _respond(ctx, projects.do_update_project(ctx, project=row, changes=_changes(p, creating=False)), p)


# -- state ---------------------------------------------------------------------------------------------

@action("close_project", scope="projects_write")
def close_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Archive a project (status archive, date_closed now); 12 when already archived."""
    projects.close_project(ctx, project_id=_project_id(p))
    return render.ok()


@action("activate_project", scope="projects_write")
def activate_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Make an archived or pending project active (date_closed keeps the last archive date); 12 if active."""
    projects.activate_project(ctx, project_id=_project_id(p))
    return render.ok()


# -- members -------------------------------------------------------------------------------------------

@action("add_project_members", scope="projects_write")
def add_project_members(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add account users to the team (comma e-mails or JSON array); existing members are kept."""
    projects.add_project_members(ctx, project_id=_project_id(p), emails=p.csv("members"))
    return render.ok()


@action("delete_project_members", scope="projects_write")
def delete_project_members(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Remove users from the team; a user who is not a member is fine."""
    projects.remove_project_members(ctx, project_id=_project_id(p), emails=p.csv("members"))
    return render.ok()


# -- groups --------------------------------------------------------------------------------------------

@action("get_project_groups", scope="projects_read")
def get_project_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Project folders, then teams (companies), each by title."""
    folders, teams = projects.list_project_groups(ctx)
    return render.ok_data([rp.folder(f) for f in folders] + [rm.team(t) for t in teams])


@action("add_project_group", scope="projects_write", aliases=("add_project_groups",))
def add_project_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a project folder; an existing folder with this title is returned as it is."""
    return render.ok_data(rp.folder(projects.add_project_folder(ctx, title=p.text("title") or "")))
