"""Projects: list, read, create, change, archive, members and project folders (PROTOCOL.md §4.2, §8).

No function deletes a project (§9.1). Every change records one `project` event whose `new`/`old` hold the
changed fields in the get_events format; creating one records a `post` event with the fields given.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from localsection import access, errors, events, render, tagging
from localsection.ctx import Ctx
from localsection.domain import UNSET, Unset
from localsection.models import Project, ProjectFolder, ProjectMember, Tag, Task, Team, User
from localsection.render import projects as rp
from localsection.render.members import user_ref

Status = Literal["active", "pending", "archive"]
NAME_MAX = 500
GROUP_TITLE_MAX = 255
OPTION_KEYS = rp.OPTION_KEYS  # the 14 restriction flags
EXCLUSIVE_OPTIONS = rp.EXCLUSIVE_OPTIONS  # at most one of these may be on


class Anyone(enum.Enum):
    """The default executive "anyone" (Worksection's ANY)."""

    ANYONE = "ANY"


ANYONE = Anyone.ANYONE


@dataclass(frozen=True)
class ProjectChanges:
    """What to set on a new or existing project; UNSET fields are left as they are (and are not "given").

    `members` and `tags` replace the whole sets (an empty list changes nothing); `company` names a project
    folder or a team (an unknown title becomes a new folder; blank changes nothing); `manager` and
    `executive` are account users' e-mails (None: nobody; ANYONE: any member takes the project's new tasks).
    """

    title: str | Unset = UNSET
    manager: str | Unset | None = UNSET
    executive: str | Anyone | Unset | None = UNSET
    options: Mapping[str, int] | Unset = UNSET
    members: Sequence[str] | Unset = UNSET
    tags: Sequence[str] | Unset = UNSET
    date_start: dt.date | Unset | None = UNSET
    date_end: dt.date | Unset | None = UNSET
    max_time: Decimal | Unset | None = UNSET
    max_money: Decimal | Unset | None = UNSET
    text: str | Unset = UNSET
    company: str | Unset = UNSET


# -- checking ----------------------------------------------------------------------------------------

def check_title(value: str | None, *, required: bool) -> str | None:
    """A project name: trimmed; blank is "not given" (10 when required); over 500 characters is 11."""
    title = (value or "").strip()
    if not title:
        if required:
            raise errors.required("title")
        return None
    if len(title) > NAME_MAX:
        raise errors.title_too_long("title")
    return title


def check_estimate(value: Decimal | None, name: str) -> Decimal | None:
    """`max_time` / `max_money`: not negative (11 Invalid number)."""
    if value is not None and value < 0:
        raise errors.invalid_value("Invalid number", name)
    return value


def _check_exclusive(options: Mapping[str, Any]) -> None:
    """At most one of time_require / time_today / timer_only may be on (PM message, code 11)."""
    if sum(1 for key in EXCLUSIVE_OPTIONS if options.get(key)) > 1:
        raise errors.invalid_value("Only one parameter (options.time_require or options.time_today or "
                                   "options.timer_only) can be set as 1.")


@dataclass
class _Executive:
    user_id: int | None = None
    any: bool = False


@dataclass
class _Checked:
    """Changes with every user and tag resolved (all checks done before anything is written)."""

    title: str | None
    manager_given: bool
    manager: User | None
    executive: _Executive | None
    options: dict[str, int] | None
    members: list[User] | None
    tags: list[Tag] | None
    company: str | None
    values: dict[str, Any] = field(default_factory=dict)


def _known_options(options: Mapping[str, int] | Unset) -> dict[str, int] | None:
    """The known flags given, in their fixed order; None when none (nothing to change)."""
    if isinstance(options, Unset):
        return None
    known = {key: options[key] for key in OPTION_KEYS if key in options}
    return known or None


def _check(ctx: Ctx, ch: ProjectChanges) -> _Checked:
    manager_given = not isinstance(ch.manager, Unset)
    manager = access.user_by_email(ctx, ch.manager) if isinstance(ch.manager, str) else None
    executive: _Executive | None = None
    if ch.executive is ANYONE:
        executive = _Executive(any=True)
    elif ch.executive is None:
        executive = _Executive()
    elif isinstance(ch.executive, str):
        executive = _Executive(user_id=access.user_by_email(ctx, ch.executive).id)
    emails = [] if isinstance(ch.members, Unset) else list(ch.members)
    refs = [] if isinstance(ch.tags, Unset) else list(ch.tags)
    checked = _Checked(None if isinstance(ch.title, Unset) else ch.title, manager_given, manager, executive,
                       _known_options(ch.options),
                       access.users_by_emails(ctx, emails) if emails else None,
                       tagging.resolve(ctx, "project", refs) if refs else None,
                       None if isinstance(ch.company, Unset) else ch.company)
    for column in ("date_start", "date_end", "max_time", "max_money", "text"):
        value = getattr(ch, column)
        if not isinstance(value, Unset):
            checked.values[column] = value
    return checked


# -- members, folders and the event snapshot ------------------------------------------------------------

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


def _apply(ctx: Ctx, row: Project, ch: _Checked) -> None:
    """Write checked changes onto a project row (members and tags replace their sets)."""
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
    if ch.company is not None and ch.company.strip():
        row.folder_id, row.team_id = _company(ctx, ch.company)
    ctx.db.flush()
    if ch.members is not None:
        extra = {ch.manager.id} if ch.manager else set()
        _set_members(ctx, row.id, {u.id for u in ch.members} | extra, replace=True)
    elif ch.manager is not None:
        _set_members(ctx, row.id, {ch.manager.id})
    if ch.tags is not None:
        tagging.change(ctx, "project", row.id, ch.tags, [], replace=True)


# -- reads -------------------------------------------------------------------------------------------

def list_projects(ctx: Ctx, *, status: Status | None = None) -> list[Project]:
    """The projects the caller can see, by id, optionally of one state."""
    query = select(Project).where(access.project_filter(ctx)).order_by(Project.id)
    if status is not None:
        query = query.where(Project.status == status)
    return list(ctx.db.scalars(query))


def get_project(ctx: Ctx, *, project_id: int) -> Project:
    """One project; 4 when unknown or not visible to the caller."""
    return access.project(ctx, project_id)


def check_writable_project(ctx: Ctx, *, project_id: int) -> Project:
    """A project the caller may change (4 / 20 otherwise), row-locked (PostgreSQL) until commit."""
    row = access.project(ctx, project_id, write=True)
    # Serialises concurrent member/tag changes of one project; SQLite already holds the write lock.
    ctx.db.execute(select(Project.id).where(Project.id == row.id).with_for_update())
    return row


# -- create and change ---------------------------------------------------------------------------------

# Event fields of the `post` event, in order, for the changes given at creation.
_GIVEN_FIELDS = (("manager", "user_to"), ("text", "text"), ("company", "company"), ("date_start", "date_start"),
                 ("date_end", "date_end"), ("max_time", "max_time"), ("max_money", "max_money"), ("tags", "tags"),
                 ("members", "users"), ("options", "options"))


def create_project(ctx: Ctx, *, changes: ProjectChanges, author_email: str | None = None) -> Project:
    """Create an active project (`changes.title` is required); the author and the manager join its team.

    `author_email` names the author for the admin key (else the caller is the author). Records a `post` event
    with the title and the non-empty fields given.
    """
    access.require_write(ctx)
    title = check_title(None if isinstance(changes.title, Unset) else changes.title, required=True)
    ch = _check(ctx, changes)
    ch.title = title
    _check_exclusive(ch.options or {})
    user_from = access.author(ctx, author_email)
    row = Project(account_id=ctx.account_id, name=title, status="active", user_from_id=user_from.id,
                  team_id=user_from.team_id, options=rp.options_map(None), date_added=ctx.now())
    ctx.db.add(row)
    ctx.db.flush()
    _apply(ctx, row, ch)
    _set_members(ctx, row.id, {user_from.id})
    snap = _snapshot(ctx, row)
    given = [name for attr, name in _GIVEN_FIELDS if not isinstance(getattr(changes, attr), Unset)]
    new = {"title": snap["title"], **{key: snap[key] for key in given if snap[key] not in ("", {}, [])}}
    events.record(ctx, "post", "project", row.id, render.project_page(row.id), row.id, new=new,
                  actor_id=user_from.id)
    return row


def do_update_project(ctx: Ctx, *, project: Project, changes: ProjectChanges) -> Project:
    """Change a project from `check_writable_project`; `members` and `tags` replace their whole sets."""
    if not isinstance(changes.title, Unset):
        check_title(changes.title, required=False)
    ch = _check(ctx, changes)
    if ch.options is not None:
        _check_exclusive({**rp.options_map(project.options), **ch.options})
    before = _snapshot(ctx, project)
    _apply(ctx, project, ch)
    _record_changes(ctx, project, before)
    return project


def update_project(ctx: Ctx, *, project_id: int, changes: ProjectChanges) -> Project:
    """Change a project the caller may change (see `do_update_project`)."""
    return do_update_project(ctx, project=check_writable_project(ctx, project_id=project_id), changes=changes)


# -- state ---------------------------------------------------------------------------------------------

def close_project(ctx: Ctx, *, project_id: int) -> Project:
    """Archive a project (status archive, date_closed now); 12 when already archived."""
    row = check_writable_project(ctx, project_id=project_id)
    if row.status == "archive":
        raise errors.project_already_closed()
    before = _snapshot(ctx, row)
    row.status, row.date_closed = "archive", ctx.now()
    _record_changes(ctx, row, before)
    return row


def activate_project(ctx: Ctx, *, project_id: int) -> Project:
    """Make an archived or pending project active (date_closed keeps the last archive date); 12 if active."""
    row = check_writable_project(ctx, project_id=project_id)
    if row.status == "active":
        raise errors.project_already_active()
    before = _snapshot(ctx, row)
    row.status = "active"
    _record_changes(ctx, row, before)
    return row


# -- members -------------------------------------------------------------------------------------------

def _change_members(ctx: Ctx, project_id: int, emails: Sequence[str], *, adding: bool) -> Project:
    row = check_writable_project(ctx, project_id=project_id)
    if not any(e.strip() for e in emails):
        raise errors.required("members")
    users = access.users_by_emails(ctx, list(emails))
    before = _snapshot(ctx, row)
    ids = {u.id for u in users}
    _set_members(ctx, row.id, ids if adding else set(), None if adding else ids)
    _record_changes(ctx, row, before)
    return row


def add_project_members(ctx: Ctx, *, project_id: int, emails: Sequence[str]) -> Project:
    """Add account users (by e-mail; a contact or unknown e-mail is 11) to the team; members stay."""
    return _change_members(ctx, project_id, emails, adding=True)


def remove_project_members(ctx: Ctx, *, project_id: int, emails: Sequence[str]) -> Project:
    """Remove users from the team; a user who is not a member is fine."""
    return _change_members(ctx, project_id, emails, adding=False)


# -- project folders --------------------------------------------------------------------------------

def list_project_groups(ctx: Ctx) -> tuple[list[ProjectFolder], list[Team]]:
    """Project folders, then teams (companies), each by title."""
    folders = ctx.db.scalars(select(ProjectFolder).where(ProjectFolder.account_id == ctx.account_id)
                             .order_by(ProjectFolder.title, ProjectFolder.id))
    teams = ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id).order_by(Team.title, Team.id))
    return list(folders), list(teams)


def add_project_folder(ctx: Ctx, *, title: str) -> ProjectFolder:
    """A project folder by title: an existing one is returned as it is, else it is created."""
    access.require_write(ctx)
    title = title.strip()
    if not title:
        raise errors.required("title")
    if len(title) > GROUP_TITLE_MAX:
        raise errors.title_too_long("title")
    return _folder(ctx, title)


# -- counts for project lists (the web app) -------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    open_tasks: int = 0
    tasks: int = 0
    members: int = 0


def list_counts(ctx: Ctx, project_ids: Sequence[int]) -> dict[int, Counts]:
    """Open/all top-level tasks the caller can see, and members, per project: two grouped queries per chunk."""
    tasks: dict[int, tuple[int, int]] = {}
    members: dict[int, int] = {}
    for part in rp.chunks(list(project_ids)):
        open_count = func.count().filter(Task.status == "active")
        for pid, n_open, n_all in ctx.db.execute(
                select(Task.project_id, open_count, func.count())
                .where(Task.project_id.in_(part), Task.parent_id.is_(None), access.task_filter(ctx))
                .group_by(Task.project_id)).all():
            tasks[pid] = (int(n_open), int(n_all))
        for pid, n in ctx.db.execute(select(ProjectMember.project_id, func.count())
                                     .where(ProjectMember.project_id.in_(part))
                                     .group_by(ProjectMember.project_id)).all():
            members[pid] = int(n)
    return {pid: Counts(*tasks.get(pid, (0, 0)), members.get(pid, 0)) for pid in project_ids}
