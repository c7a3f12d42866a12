"""The project object and project groups (PROTOCOL.md §3.3, §4.2), rendered in bulk (no query per project)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.models import (
    Project,
    ProjectFolder,
    ProjectMember,
    Team,
    User,
)
from localsection.read.tags import object_tags
from localsection.render import date, datetime_min, number, project_page, put, sid
from localsection.render.comments import compose_html
from localsection.render.custom_fields import custom_field_values
from localsection.render.members import NOONE_MANAGER, user_ref

# The 14 restriction flags of post_project / update_project, in the order of the PM examples.
OPTION_KEYS = (
    "allow_close", "allow_give", "allow_term", "allow_limit",
    "require_term", "require_tag", "require_limit", "require_hidden",
    "deny_comments_edit", "deny_task_edit", "deny_task_delete",
    "time_require", "time_today", "timer_only",
)
# At most one of these may be 1 (PM error example).
EXCLUSIVE_OPTIONS = ("time_require", "time_today", "timer_only")

_CHUNK = 900  # ids per IN list: well below SQLite's bound-parameter limit


def chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """Split an id list for IN queries (bounded number of queries, never one per row)."""
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def options_map(stored: dict[str, Any] | None) -> dict[str, int]:
    """All 14 flags as integers 0/1, in their fixed order."""
    stored = stored or {}
    return {key: 1 if stored.get(key) else 0 for key in OPTION_KEYS}


@dataclass
class Related:
    """Everything a list of projects refers to, loaded with one IN query per kind."""

    users: dict[int, User] = field(default_factory=dict)
    folders: dict[int, ProjectFolder] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    tags: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    custom: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def load_related(ctx: Ctx, rows: Sequence[Project], extra: set[str]) -> Related:
    """Authors, managers, folders, teams, tags (and members / custom fields when asked) of `rows`."""
    rel = Related()
    ids = [r.id for r in rows]
    user_ids = {r.user_from_id for r in rows} | {r.manager_id for r in rows if r.manager_id}
    if "users" in extra:
        for part in chunks(ids):
            pairs = ctx.db.execute(select(ProjectMember.project_id, ProjectMember.user_id)
                                   .where(ProjectMember.project_id.in_(part))
                                   .order_by(ProjectMember.user_id)).all()
            for project_id, user_id in pairs:
                rel.members[project_id].append(user_id)
                user_ids.add(user_id)
    for part in chunks(sorted(user_ids)):
        rel.users.update(access.users_by_id(ctx.db, ctx.account_id, set(part)))
    folder_ids = {r.folder_id for r in rows if r.folder_id}
    if folder_ids:
        rel.folders = {f.id: f for f in ctx.db.scalars(select(ProjectFolder).where(
            ProjectFolder.account_id == ctx.account_id, ProjectFolder.id.in_(folder_ids)))}
    team_ids = {r.team_id for r in rows if r.team_id}
    if team_ids:
        rel.teams = {t.id: t for t in ctx.db.scalars(select(Team).where(
            Team.account_id == ctx.account_id, Team.id.in_(team_ids)))}
    for project_id, tags in object_tags(ctx, "project", ids).items():
        rel.tags[project_id] = tags
    if "custom_fields" in extra:
        _load_custom(ctx, ids, rel)
    return rel


def _load_custom(ctx: Ctx, ids: list[int], rel: Related) -> None:
    for part in chunks(ids):
        rel.custom.update(custom_field_values(ctx, "project", part))


def company(row: Project, rel: Related) -> str:
    """The folder or team the project sits in ("" when neither)."""
    if row.folder_id and row.folder_id in rel.folders:
        return rel.folders[row.folder_id].title
    if row.team_id and row.team_id in rel.teams:
        return rel.teams[row.team_id].title
    return ""


def manager_ref(row: Project, users: dict[int, User]) -> dict[str, str]:
    """`user_to` of a project: its manager, or the "Manager isn't assigned" pseudo user."""
    user = users.get(row.manager_id) if row.manager_id else None
    return user_ref(user) if user else dict(NOONE_MANAGER)


def project(ctx: Ctx, row: Project, rel: Related, extra: set[str]) -> dict[str, Any]:
    """One project object, keys in the order of PROTOCOL.md §3.3; optional fields omitted when empty."""
    author = rel.users.get(row.user_from_id)
    out: dict[str, Any] = {
        "id": sid(row.id),
        "name": row.name,
        "page": project_page(row.id),
        "status": row.status,
        "company": company(row, rel),
        "user_from": user_ref(author) if author else dict(NOONE_MANAGER),
        "user_to": manager_ref(row, rel.users),
    }
    if "html" in extra:
        out["text"] = compose_html(row.text or "", [], [])
    elif "text" in extra:
        out["text"] = row.text or ""
    out["date_added"] = datetime_min(ctx.local(row.date_added))
    put(out, "date_start", date(row.date_start) if row.date_start else None)
    put(out, "date_end", date(row.date_end) if row.date_end else None)
    put(out, "date_closed", datetime_min(ctx.local(row.date_closed)) if row.date_closed else None)
    if "options" in extra:
        out["options"] = options_map(row.options)
    put(out, "max_time", number(row.max_time))
    put(out, "max_money", number(row.max_money))
    put(out, "tags", dict(rel.tags.get(row.id, {})))
    if "users" in extra:
        out["users"] = [user_ref(rel.users[uid]) for uid in rel.members.get(row.id, []) if uid in rel.users]
    if "custom_fields" in extra:
        out["custom_fields"] = list(rel.custom.get(row.id, []))
    return out


def render_projects(ctx: Ctx, rows: Sequence[Project], extra: set[str]) -> list[dict[str, Any]]:
    """Project objects for `rows` with a bounded number of queries, whatever the number of projects."""
    rel = load_related(ctx, rows, extra)
    return [project(ctx, row, rel, extra) for row in rows]


def render_project(ctx: Ctx, row: Project, extra: set[str]) -> dict[str, Any]:
    return render_projects(ctx, [row], extra)[0]


def folder(f: ProjectFolder) -> dict[str, Any]:
    return {"id": sid(f.id), "title": f.title, "type": "folder"}
