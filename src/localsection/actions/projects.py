"""Projects: list, read, create, change, archive, members and project folders (PROTOCOL.md §4.2, §8).

No action deletes a project (§9.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from localsection import access, errors, events, files, render, tagging
from localsection.actions.files import attachments
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.models import Project, ProjectFolder, ProjectMember, Tag, Team, User
from localsection.render import members as rm
from localsection.render import projects as rp
from localsection.render.members import user_ref

STATUS_FILTERS = {"active": "active", "pending": "pending", "archive": "archive", "archived": "archive"}
NAME_MAX = 500
GROUP_TITLE_MAX = 255


# -- reading parameters ---------------------------------------------------------------------------

def _title(p: Params, *, required: bool) -> str | None:
    """The project name: trimmed; blank is "not given" (10 when required); too long is 11."""
    value = (p.text("title") or "").strip()
    if not value:
        if required:
            raise errors.required("title")
        return None
    if len(value) > NAME_MAX:
        raise errors.invalid_value("Title is too long", "title")
    return value


def _flag_value(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    return 1 if str(value).strip().lower() in ("1", "true", "yes", "on") else 0


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


def _check_exclusive(options: dict[str, Any]) -> None:
    """At most one of time_require / time_today / timer_only may be on (PM message, code 11)."""
    if sum(1 for key in rp.EXCLUSIVE_OPTIONS if options.get(key)) > 1:
        raise errors.invalid_value("Only one parameter (options.time_require or options.time_today or "
                                   "options.timer_only) can be set as 1.")


def _manager(ctx: Ctx, p: Params) -> tuple[bool, User | None]:
    """(given, manager) from `email_manager`; NOONE means no manager."""
    email = p.text("email_manager")
    if email is None:
        return False, None
    if email.strip().upper() == "NOONE":
        return True, None
    return True, access.user_by_email(ctx, email)


@dataclass
class Executive:
    """Default executive of the project's new tasks: a user, ANY or NOONE."""

    user_id: int | None = None
    any: bool = False


def _executive(ctx: Ctx, p: Params) -> Executive | None:
    email = p.text("email_user_to")
    if email is None:
        return None
    word = email.strip().upper()
    if word == "ANY":
        return Executive(any=True)
    if word == "NOONE":
        return Executive()
    return Executive(user_id=access.user_by_email(ctx, email).id)


def _estimate(p: Params, name: str) -> Decimal | None:
    value = p.decimal(name)
    if value is not None and value < 0:
        raise errors.invalid_value("Invalid number", name)
    return value


def _company(ctx: Ctx, name: str) -> tuple[int | None, int | None]:
    """(folder_id, team_id) for a folder or team title; an unknown title becomes a new project folder."""
    title = name.strip()
    if len(title) > GROUP_TITLE_MAX:
        raise errors.invalid_value("Company is too long", "company")
    found = _find_folder(ctx, title)
    if found is not None:
        return found.id, None
    team = ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id, Team.title == title)).first()
    if team is not None:
        return None, team.id
    return _folder(ctx, title).id, None


def _find_folder(ctx: Ctx, title: str) -> ProjectFolder | None:
    return ctx.db.scalars(select(ProjectFolder).where(ProjectFolder.account_id == ctx.account_id,
                                                      ProjectFolder.title == title)).first()


def _folder(ctx: Ctx, title: str) -> ProjectFolder:
    """The project folder with this title, created when there is none."""
    row = _find_folder(ctx, title)
    if row is not None:
        return row
    try:
        with ctx.db.begin_nested():  # a concurrent request may create the same title first
            row = ProjectFolder(account_id=ctx.account_id, title=title)
            ctx.db.add(row)
    except IntegrityError:
        row = _find_folder(ctx, title)
        assert row is not None
    return row


def _members(ctx: Ctx, p: Params) -> list[User] | None:
    """Users named by `members` (account users only: a contact or unknown e-mail is 11); None if not given."""
    emails = p.csv("members")
    return access.users_by_emails(ctx, emails) if emails else None


# -- members, tags and the event snapshot -----------------------------------------------------------

def _member_ids(ctx: Ctx, project_id: int) -> list[int]:
    return list(ctx.db.scalars(select(ProjectMember.user_id).where(ProjectMember.project_id == project_id)
                               .order_by(ProjectMember.user_id)))


def _set_members(ctx: Ctx, project_id: int, add: set[int], remove: set[int] | None = None,
                 replace: bool = False) -> None:
    """Add/remove members (or replace the whole team) with set-based statements."""
    current = set(_member_ids(ctx, project_id))
    wanted = set(add) if replace else (current | add) - (remove or set())
    gone = current - wanted
    if gone:
        ctx.db.execute(delete(ProjectMember).where(ProjectMember.project_id == project_id,
                                                   ProjectMember.user_id.in_(gone)))
    new = wanted - current
    if new:
        ctx.db.execute(insert(ProjectMember), [{"project_id": project_id, "user_id": uid} for uid in sorted(new)])


def _snapshot(ctx: Ctx, row: Project) -> dict[str, Any]:
    """The project's event-visible fields, formatted as in get_events `new`/`old` (§8)."""
    ctx.db.flush()
    rel = rp.load_related(ctx, [row], {"users"})
    return {
        "title": row.name,
        "user_to": rp.manager_ref(row, rel.users),
        "text": row.text or "",
        "company": rp.company(row, rel),
        "date_start": render.date(row.date_start) if row.date_start else "",
        "date_end": render.date(row.date_end) if row.date_end else "",
        "max_time": render.number(row.max_time) if row.max_time is not None else "",
        "max_money": render.number(row.max_money) if row.max_money is not None else "",
        "options": rp.options_map(row.options),
        "tags": dict(rel.tags.get(row.id, {})),
        "users": [user_ref(rel.users[uid]) for uid in rel.members.get(row.id, []) if uid in rel.users],
        "status": row.status,
        "date_closed": render.datetime_min(ctx.local(row.date_closed)) if row.date_closed else "",
    }


def _record_changes(ctx: Ctx, row: Project, before: dict[str, Any]) -> None:
    """One update/project event with the changed fields; nothing when nothing changed."""
    after = _snapshot(ctx, row)
    changed = [key for key in after if after[key] != before[key]]
    if changed:
        events.record(ctx, "update", "project", row.id, render.project_page(row.id), row.id,
                      new={k: after[k] for k in changed}, old={k: before[k] for k in changed})


def _writable(ctx: Ctx, p: Params) -> Project:
    """The project named by id_project, checked for writing and row-locked (PostgreSQL) until commit."""
    row = access.project(ctx, p.req_id("id_project", invalid=errors.project_invalid()), write=True)
    # Serialises concurrent member/tag changes of one project; SQLite already holds the write lock.
    ctx.db.execute(select(Project.id).where(Project.id == row.id).with_for_update())
    return row


def _respond(ctx: Ctx, row: Project, p: Params) -> dict[str, Any]:
    ctx.db.flush()
    return render.ok_data(rp.render_project(ctx, row, p.extra()))


# -- reads -------------------------------------------------------------------------------------------

@action("get_projects", scope="projects_read")
def get_projects(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Projects the caller can see, optionally of one state (archive and archived are the same)."""
    query = select(Project).where(access.project_filter(ctx)).order_by(Project.id)
    wanted = p.text("filter")
    if wanted is not None:
        status = STATUS_FILTERS.get(wanted.strip().lower())
        if status is None:
            raise errors.invalid_value("Filter is invalid", "filter")
        query = query.where(Project.status == status)
    rows = list(ctx.db.scalars(query))
    return render.ok_data(rp.render_projects(ctx, rows, p.extra()))


@action("get_project", scope="projects_read")
def get_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """One project; 4 when unknown or not visible to the caller."""
    row = access.project(ctx, p.req_id("id_project", invalid=errors.project_invalid()))
    return _respond(ctx, row, p)


# -- create and change ---------------------------------------------------------------------------------

@dataclass
class Changes:
    """Validated input of post_project / update_project (all checks done before anything is written)."""

    title: str | None
    manager_given: bool
    manager: User | None
    executive: Executive | None
    options: dict[str, int] | None
    members: list[User] | None
    tags: list[Tag] | None
    values: dict[str, Any] = field(default_factory=dict)


def _read_changes(ctx: Ctx, p: Params, *, creating: bool) -> Changes:
    title = _title(p, required=creating)
    manager_given, manager = _manager(ctx, p)
    refs = p.csv("tags")
    changes = Changes(title, manager_given, manager, _executive(ctx, p), _options(p), _members(ctx, p),
                      tagging.resolve(ctx, "project", refs) if refs else None)
    for param, column in (("datestart", "date_start"), ("dateend", "date_end")):
        if p.has(param):
            changes.values[column] = p.date(param)
    for name in ("max_time", "max_money"):
        if p.has(name):
            changes.values[name] = _estimate(p, name)
    if p.has("text"):
        changes.values["text"] = p.text("text") or ""
    return changes


def _apply(ctx: Ctx, row: Project, ch: Changes, p: Params) -> None:
    """Write validated changes onto a project row (members and tags replace their sets)."""
    if ch.title is not None:
        row.name = ch.title
    if ch.manager_given:
        row.manager_id = ch.manager.id if ch.manager else None
    if ch.executive is not None:
        row.executive_id, row.executive_any = ch.executive.user_id, ch.executive.any
    if ch.options is not None:
        row.options = {**rp.options_map(row.options), **ch.options}
    for column, value in ch.values.items():
        setattr(row, column, value)
    company = p.text("company")
    if company is not None and company.strip():
        row.folder_id, row.team_id = _company(ctx, company)
    ctx.db.flush()
    if ch.members is not None:
        extra = {ch.manager.id} if ch.manager else set()
        _set_members(ctx, row.id, {u.id for u in ch.members} | extra, replace=True)
    elif ch.manager is not None:
        _set_members(ctx, row.id, {ch.manager.id})
    if ch.tags is not None:
        tagging.change(ctx, "project", row.id, ch.tags, [], replace=True)


@action("post_project", scope="projects_write", uploads=True)
def post_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create an active project; the author and the manager join its team."""
    access.require_write(ctx)
    ch = _read_changes(ctx, p, creating=True)
    _check_exclusive(ch.options or {})
    user_from = access.author(ctx, p.text("email_user_from"))
    row = Project(account_id=ctx.account_id, name=ch.title, status="active", user_from_id=user_from.id,
                  team_id=user_from.team_id, options=rp.options_map(None), date_added=ctx.now())
    ctx.db.add(row)
    ctx.db.flush()
    _apply(ctx, row, ch, p)
    _set_members(ctx, row.id, {user_from.id})
    files.attach(ctx, attachments(p), author=user_from, project_id=row.id)
    snap = _snapshot(ctx, row)
    new = {"title": snap["title"], **{key: snap[key] for key in _given_fields(p) if snap[key] not in ("", {}, [])}}
    events.record(ctx, "post", "project", row.id, render.project_page(row.id), row.id, new=new,
                  actor_id=user_from.id)
    return _respond(ctx, row, p)


def _given_fields(p: Params) -> list[str]:
    """The event fields that correspond to the parameters given at creation."""
    names = {"email_manager": "user_to", "text": "text", "company": "company", "datestart": "date_start",
             "dateend": "date_end", "max_time": "max_time", "max_money": "max_money", "tags": "tags",
             "members": "users", "options": "options"}
    return [event_field for param, event_field in names.items() if p.has(param)]


@action("update_project", scope="projects_write")
def update_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Change a project; `members` and `tags` replace their whole sets."""
    row = _writable(ctx, p)
    ch = _read_changes(ctx, p, creating=False)
    if ch.options is not None:
        _check_exclusive({**rp.options_map(row.options), **ch.options})
    before = _snapshot(ctx, row)
    _apply(ctx, row, ch, p)
    _record_changes(ctx, row, before)
    return _respond(ctx, row, p)


# -- state ---------------------------------------------------------------------------------------------

@action("close_project", scope="projects_write")
def close_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Archive a project (status archive, date_closed now); 12 when already archived."""
    row = _writable(ctx, p)
    if row.status == "archive":
        raise errors.ApiError(12, "Project is already closed")
    before = _snapshot(ctx, row)
    row.status, row.date_closed = "archive", ctx.now()
    _record_changes(ctx, row, before)
    return render.ok()


@action("activate_project", scope="projects_write")
def activate_project(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Make an archived or pending project active (date_closed keeps the last archive date); 12 if active."""
    row = _writable(ctx, p)
    if row.status == "active":
        raise errors.ApiError(12, "Project is already active")
    before = _snapshot(ctx, row)
    row.status = "active"
    _record_changes(ctx, row, before)
    return render.ok()


# -- members -------------------------------------------------------------------------------------------

def _change_members(ctx: Ctx, p: Params, *, adding: bool) -> dict[str, Any]:
    row = _writable(ctx, p)
    users = _members(ctx, p)
    if users is None:
        raise errors.required("members")
    before = _snapshot(ctx, row)
    ids = {u.id for u in users}
    _set_members(ctx, row.id, ids if adding else set(), None if adding else ids)
    _record_changes(ctx, row, before)
    return render.ok()


@action("add_project_members", scope="projects_write")
def add_project_members(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add account users to the team (comma e-mails or JSON array); existing members are kept."""
    return _change_members(ctx, p, adding=True)


@action("delete_project_members", scope="projects_write")
def delete_project_members(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Remove users from the team; a user who is not a member is fine."""
    return _change_members(ctx, p, adding=False)


# -- groups --------------------------------------------------------------------------------------------

@action("get_project_groups", scope="projects_read")
def get_project_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Project folders, then teams (companies), each by title."""
    folders = ctx.db.scalars(select(ProjectFolder).where(ProjectFolder.account_id == ctx.account_id)
                             .order_by(ProjectFolder.title, ProjectFolder.id))
    teams = ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id).order_by(Team.title, Team.id))
    data: list[dict[str, Any]] = [rp.folder(f) for f in folders]
    data += [rm.team(t) for t in teams]
    return render.ok_data(data)


@action("add_project_group", scope="projects_write", aliases=("add_project_groups",))
def add_project_group(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a project folder; an existing folder with this title is returned as it is."""
    access.require_write(ctx)
    title = (p.text("title") or "").strip()
    if not title:
        raise errors.required("title")
    if len(title) > GROUP_TITLE_MAX:
        raise errors.invalid_value("Title is too long", "title")
    return render.ok_data(rp.folder(_folder(ctx, title)))
