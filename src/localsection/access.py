"""The ONLY home of object permissions: fetch + visibility check in one call, and the SQL filters
that lists use, so a list and a get can never disagree about what a caller may see.

Rules (PROTOCOL.md §9.2 #5): the admin key, owners and account admins see and change everything;
team/department admins see their team's projects as well as their own; everyone else sees the
projects they are members of (or manage, or created). Hidden tasks (and their subtasks) and hidden
comments are visible to the listed users, their author and admins; internal comments and private tag
groups do not exist for guests and client-team users. Guests and readers never write. Events follow the
same rules, for the caller (get_events) and for the creator of a webhook (its payloads).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from localsection import errors
from localsection.ctx import Ctx
from localsection.db import Prepared, Snapshot, core
from localsection.errors import ApiError
from localsection.models import (
    Comment,
    CommentVisibility,
    Cost,
    Event,
    Project,
    ProjectMember,
    StoredFile,
    Tag,
    TagGroup,
    Task,
    TaskVisibility,
    Team,
    User,
    Webhook,
)

ADMIN_ROLES = frozenset({"owner", "account admin"})
TEAM_ADMIN_ROLES = frozenset({"team admin", "department admin"})
READ_ONLY_ROLES = frozenset({"guest", "reader"})


# -- who the caller is --------------------------------------------------------------------------

def is_admin(ctx: Ctx) -> bool:
    """Sees everything in the account: the admin key, owners and account admins."""
    return ctx.via_admin_key or ctx.user.role in ADMIN_ROLES


def in_client_team(ctx: Ctx) -> bool:
    """Users of client teams and guests never see private tag groups or internal comments."""
    if is_admin(ctx):
        return False
    if ctx.user.role == "guest":
        return True
    if ctx.memo.client_team is None:
        team = ctx.db.get(Team, ctx.user.team_id) if ctx.user.team_id else None
        ctx.memo.client_team = bool(team and team.client)
    return ctx.memo.client_team


def require_write(ctx: Ctx) -> None:
    """Guests and readers may not change anything."""
    if not ctx.via_admin_key and ctx.user.role in READ_ONLY_ROLES:
        raise errors.access_denied("role")


def require_admin(ctx: Ctx) -> None:
    """Account-wide administration (timers of others, webhooks, ...): the admin key, owners and account admins."""
    if not is_admin(ctx):
        raise errors.access_denied("role")


# -- the rules, as SQL over a user (a literal for the caller, the users table for webhook creators) --------

def _project_rule(uid: Any, team_cond: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """Project is one the user is a member of, manages or created (or of their team, for team admins)."""
    # Explicit correlation: with the users table as `uid`, the outer query's row must be used at any depth.
    member = exists().where(ProjectMember.project_id == Project.id,
                            ProjectMember.user_id == uid).correlate_except(ProjectMember)
    mine = or_(member, Project.manager_id == uid, Project.user_from_id == uid)
    return mine if team_cond is None else or_(mine, team_cond)


def _not_hidden(t: Any, uid: Any) -> ColumnElement[bool]:
    """Task (or an alias of it) is not hidden, or the user wrote it or is on its list."""
    allowed = exists().where(TaskVisibility.task_id == t.id, TaskVisibility.user_id == uid).correlate_except(
        TaskVisibility)
    return or_(t.hidden.is_(False), t.user_from_id == uid, allowed)


def _task_rule(uid: Any) -> ColumnElement[bool]:
    """Task is not hidden from the user, nor is its parent or top task (subtasks inherit hiding)."""
    conds = [_not_hidden(Task, uid)]
    for column in (Task.parent_id, Task.top_id):
        anc = aliased(Task)
        conds.append(~exists().where(anc.id == column, anc.hidden.is_(True), ~_not_hidden(anc, uid))
                     .correlate_except(anc))
    return and_(*conds)


def _comment_rule(uid: Any, client: bool | ColumnElement[bool]) -> ColumnElement[bool]:
    """Comment is not hidden from the user; internal comments are hidden from client teams and guests."""
    allowed = exists().where(CommentVisibility.comment_id == Comment.id,
                             CommentVisibility.user_id == uid).correlate_except(CommentVisibility)
    cond = or_(Comment.hidden.is_(False), Comment.user_from_id == uid, allowed)
    if client is False:
        return cond
    if client is True:
        return and_(cond, Comment.internal.is_(False))
    return and_(cond, or_(Comment.internal.is_(False), ~client))


# -- SQL visibility filters (used by every list) ------------------------------------------------

def project_filter(ctx: Ctx) -> ColumnElement[bool]:
    """Condition on Project: in this account and visible to the caller."""
    cond = Project.account_id == ctx.account_id
    if is_admin(ctx):
        return cond
    team = None
    if ctx.user.role in TEAM_ADMIN_ROLES and ctx.user.team_id:
        team = Project.team_id == ctx.user.team_id
    return and_(cond, _project_rule(ctx.user.id, team))


def task_filter(ctx: Ctx) -> ColumnElement[bool]:
    """Condition on Task: account, published, and not hidden from the caller (project checked apart)."""
    cond = and_(Task.account_id == ctx.account_id,
                or_(Task.publish_at.is_(None), Task.publish_at <= ctx.now()))
    if is_admin(ctx):
        return cond
    return and_(cond, _task_rule(ctx.user.id))


def visible_task_filter(ctx: Ctx) -> ColumnElement[bool]:
    """task_filter plus: the task's project is visible to the caller."""
    if is_admin(ctx):
        return task_filter(ctx)
    project_ok = exists().where(Project.id == Task.project_id, project_filter(ctx))
    return and_(task_filter(ctx), project_ok)


def comment_filter(ctx: Ctx) -> ColumnElement[bool]:
    """Condition on Comment: not hidden from the caller."""
    if is_admin(ctx):
        return true()
    return _comment_rule(ctx.user.id, in_client_team(ctx))


def _object_hidden(object_type: Any, object_id: Any, uid: Any,
                   client: bool | ColumnElement[bool]) -> ColumnElement[bool]:
    """The task or comment an event is about exists and is hidden from the user (deleted objects are not)."""
    task_hidden = exists().where(Task.id == object_id, ~_task_rule(uid))
    comment_hidden = exists().where(Comment.id == object_id, Task.id == Comment.task_id,
                                    ~and_(_comment_rule(uid, client), _task_rule(uid)))
    return or_(and_(object_type == "task", task_hidden), and_(object_type == "comment", comment_hidden))


def event_filter(ctx: Ctx) -> ColumnElement[bool]:
    """Condition on Event: in this account, of a visible project, and about an object the caller may see."""
    cond = Event.account_id == ctx.account_id
    if is_admin(ctx):
        return cond
    project_ok = Event.project_id.in_(select(Project.id).where(project_filter(ctx)))
    return and_(cond, project_ok, ~_object_hidden(Event.object_type, Event.object_id, ctx.user.id,
                                                  in_client_team(ctx)))


def webhook_filter(ctx: Ctx) -> ColumnElement[bool]:
    """Condition on Webhook: admins manage every webhook of the account, other users only their own."""
    cond = Webhook.account_id == ctx.account_id
    if is_admin(ctx):
        return cond
    return and_(cond, Webhook.user_id == ctx.user.id)


def webhook_creator(ctx: Ctx) -> int | None:
    """The user a new webhook belongs to: None (sees everything) for the admin key."""
    return None if ctx.via_admin_key else ctx.user.id


def _event_viewers_query() -> Select[Any]:
    """event_viewers' statement, with the event and the users as parameters."""
    team_cond = and_(User.role.in_(TEAM_ADMIN_ROLES), User.team_id.is_not(None), Project.team_id == User.team_id)
    # A NULL project matches no project row: only admins see an event without one.
    project_ok = exists().where(Project.id == bindparam("project"), Project.account_id == bindparam("account"),
                                _project_rule(User.id, team_cond))
    client_team = exists().where(Team.id == User.team_id, Team.client.is_(True)).correlate_except(Team)
    client = or_(User.role == "guest", client_team)
    object_ok = ~_object_hidden(bindparam("object_type", type_=String), bindparam("object_id"), User.id, client)
    return select(User.id).where(User.account_id == bindparam("account"),
                                 User.id.in_(bindparam("users", expanding=True)), User.is_active.is_(True),
                                 or_(User.role.in_(ADMIN_ROLES), and_(project_ok, object_ok)))


# Built once: building it (aliases, correlations) cost ~10 ms, far more than running it. Mail notifications run it
# for most comments and completions.
_EVENT_VIEWERS = _event_viewers_query()


def event_viewers(ctx: Ctx, event: Event, user_ids: set[int]) -> set[int]:
    """Which of these users (webhook creators, notification recipients) may see the event: one query for all."""
    if not user_ids:
        return set()
    params = {"account": ctx.account_id, "project": event.project_id, "object_type": event.object_type,
              "object_id": event.object_id, "users": sorted(user_ids)}
    return set(ctx.db.scalars(_EVENT_VIEWERS, params))


def hidden_tag_ids(ctx: Ctx) -> frozenset[str]:
    """Ids (as strings) of the tags the caller must not see: those of private groups, for client teams."""
    if not in_client_team(ctx):
        return frozenset()
    if ctx.memo.hidden_tag_ids is None:
        q = (select(Tag.id).join(TagGroup, TagGroup.id == Tag.group_id)
             .where(Tag.account_id == ctx.account_id, TagGroup.access == "private"))
        ctx.memo.hidden_tag_ids = frozenset(str(i) for i in ctx.db.scalars(q))
    return ctx.memo.hidden_tag_ids


# -- fetch one object, checked -------------------------------------------------------------------

def project(ctx: Ctx, project_id: int | None, *, write: bool = False) -> Project:
    """The project if the caller may see it (and write to it); else 4 Project is invalid."""
    if project_id is None:
        raise errors.required("id_project")
    if write:
        require_write(ctx)
    if is_admin(ctx):
        row = ctx.db.scalars(_ADMIN_PROJECT, {"id": project_id, "account": ctx.account_id}).first()
    else:
        row = ctx.db.scalars(select(Project).where(Project.id == project_id, project_filter(ctx))).first()
    if row is None:
        raise errors.project_invalid()
    return row


def project_snapshot(ctx: Ctx, project_id: int | None) -> Project:
    """project(), as a read-only snapshot (db.Snapshot) for reads that only need its columns (task lists)."""
    if project_id is None:
        raise errors.required("id_project")
    if is_admin(ctx):
        row = _ADMIN_PROJECT_SNAPSHOT.first(ctx.db, {"id": project_id, "account": ctx.account_id})
    else:
        row = core(ctx.db).execute(select(*_PROJECTS.columns).where(Project.id == project_id,
                                                                    project_filter(ctx))).first()
    if row is None:
        raise errors.project_invalid()
    return _PROJECTS.build(row)


def admin_tasks_where() -> tuple[ColumnElement[bool], ...]:
    """The conditions of the tasks the admin sees (parameters `account`, `now`): task_filter for a caller who sees
    the whole account, for prebuilt statements (read.tasks)."""
    return (Task.account_id == bindparam("account"),
            or_(Task.publish_at.is_(None), Task.publish_at <= bindparam("now")))


def admin_task_where() -> tuple[ColumnElement[bool], ...]:
    """The conditions of a task the admin sees (parameters `id`, `account`, `now`), for prebuilt statements that
    read a task, alone or together with other rows (read.tasks.task_with_refs)."""
    return (Task.id == bindparam("id"), *admin_tasks_where())


# Built once for callers who see the whole account (the statement costs more to build than to run); other
# roles get the per-caller filter of visible_task_filter.
_ADMIN_TASK = select(Task).where(*admin_task_where())
_TASKS = Snapshot(Task)
_ADMIN_TASK_SNAPSHOT = Prepared(select(*_TASKS.columns).where(*admin_task_where()))
_ADMIN_PROJECT = select(Project).where(Project.id == bindparam("id"), Project.account_id == bindparam("account"))
_PROJECTS = Snapshot(Project)
_ADMIN_PROJECT_SNAPSHOT = Prepared(select(*_PROJECTS.columns).where(Project.id == bindparam("id"),
                                                                    Project.account_id == bindparam("account")))


def task(ctx: Ctx, task_id: int | None, *, write: bool = False) -> Task:
    """The task or subtask if the caller may see it (and write to it); else 5 Task is invalid."""
    _check_task_call(ctx, task_id, write)
    if is_admin(ctx):
        row = ctx.db.scalars(_ADMIN_TASK, {"id": task_id, "account": ctx.account_id, "now": ctx.now()}).first()
    else:
        row = ctx.db.scalars(select(Task).where(Task.id == task_id, visible_task_filter(ctx))).first()
    if row is None:
        raise errors.task_invalid()
    return row


def task_snapshot(ctx: Ctx, task_id: int | None, *, write: bool = False) -> Task:
    """task(), as a read-only snapshot (db.Snapshot) for actions that read the task and never change it."""
    _check_task_call(ctx, task_id, write)
    if is_admin(ctx):
        row = _ADMIN_TASK_SNAPSHOT.first(ctx.db, {"id": task_id, "account": ctx.account_id, "now": ctx.now()})
    else:
        row = core(ctx.db).execute(select(*_TASKS.columns).where(Task.id == task_id, visible_task_filter(ctx))).first()
    if row is None:
        raise errors.task_invalid()
    return _TASKS.build(row)


def _check_task_call(ctx: Ctx, task_id: int | None, write: bool) -> None:
    if task_id is None:
        raise errors.required("id_task")
    if write:
        require_write(ctx)


def cost_filter(ctx: Ctx) -> ColumnElement[bool]:
    """Condition on Cost: in this account and on a task the caller may see."""
    cond = Cost.account_id == ctx.account_id
    if is_admin(ctx):
        return cond
    return and_(cond, exists().where(Task.id == Cost.task_id, visible_task_filter(ctx)))


def cost(ctx: Ctx, cost_id: int | None, *, write: bool = False) -> Cost:
    """A cost row on a visible task (4 Costs not found); changing it takes an admin or the row's author."""
    if cost_id is None:
        raise errors.required("id_costs")
    if write:
        require_write(ctx)
    q = select(Cost).where(Cost.id == cost_id, cost_filter(ctx))
    row = ctx.db.scalars(q.with_for_update(of=Cost) if write else q).first()
    if row is None:
        raise errors.costs_not_found()
    if write and not is_admin(ctx) and row.user_id != ctx.user.id:
        raise errors.access_denied("author")
    return row


def visible_file(ctx: Ctx, file_id: int | None) -> StoredFile:
    """The attached file if the caller may see its project / task / comment; else 4 File not found."""
    if file_id is None:
        raise errors.required("id_file")
    row = ctx.db.scalars(select(StoredFile).where(StoredFile.id == file_id,
                                                  StoredFile.account_id == ctx.account_id)).first()
    if row is None or row.project_id is None or row.upload_token is not None:
        raise errors.file_not_found()
    try:
        if row.task_id is not None:
            task(ctx, row.task_id)
        else:
            project(ctx, row.project_id)
    except ApiError:
        raise errors.file_not_found() from None
    if row.comment_id is not None:
        ok = ctx.db.scalars(select(Comment.id).where(Comment.id == row.comment_id, comment_filter(ctx))).first()
        if ok is None:
            raise errors.file_not_found()
    return row


# -- users by e-mail -----------------------------------------------------------------------------

def users_by_id(db: Session, account_id: int, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = db.scalars(select(User).where(User.account_id == account_id, User.id.in_(ids)))
    return {u.id: u for u in rows}


_USERS = Snapshot(User)
_USER_BY_EMAIL = Prepared(select(*_USERS.columns).where(User.account_id == bindparam("account"),
                                                        User.email == bindparam("email"), User.is_active.is_(True)))


def user_by_email(ctx: Ctx, email: str, *, invalid: ApiError | None = None) -> User:
    """An active account user by e-mail (a read-only snapshot); anything else (contact, unknown, a list) is 11
    Invalid email."""
    value = email.strip()
    if not value or "," in value:
        raise invalid or errors.invalid_email(email)
    own = ctx.user
    if ctx.via_admin_key and own.email == value.lower() and own.is_active and own.account_id == ctx.account_id:
        return own  # the admin key's owner: a snapshot read with the account, the very row the lookup would read
    row = _USER_BY_EMAIL.first(ctx.db, {"account": ctx.account_id, "email": value.lower()})
    if row is None:
        raise invalid or errors.invalid_email(email)
    return _USERS.build(row)


def users_by_emails(ctx: Ctx, emails: list[str]) -> list[User]:
    """Every e-mail must be an account user (read-only snapshots); the first that is not gives 11 with it."""
    wanted = [e.strip().lower() for e in emails if e.strip()]
    if not wanted:
        return []
    rows = core(ctx.db).execute(select(*_USERS.columns).where(User.account_id == ctx.account_id,
                                                               User.email.in_(wanted), User.is_active.is_(True)))
    found = {u.email: u for u in map(_USERS.build, rows)}
    for original, key in zip([e.strip() for e in emails if e.strip()], wanted, strict=True):
        if key not in found:
            raise errors.invalid_email(original)
    return list(dict.fromkeys(found[k] for k in wanted))


def author(ctx: Ctx, email: str | None) -> User:
    """The author of a new object: `email_user_from` for the admin key, else the token's user."""
    if ctx.via_admin_key and email:
        return user_by_email(ctx, email)
    return ctx.user
