"""Who hears about a recorded event, by e-mail: derived from the event in the change's own transaction.

| event          | who                                             | kind                        |
|----------------|-------------------------------------------------|-----------------------------|
| post task      | the executive; mentioned users                  | assigned; mentioned         |
| update task    | the new executive (when the executive changed)  | assigned                    |
| post comment   | mentioned users; the task's subscribers         | mentioned; comment          |
| close task     | subscribers, the author and the executive       | completed                   |

Never: the user who acted, pseudo users (ANY / NOONE are no user row), inactive users, users of another account,
users who may not see the task or comment (access.event_viewers: the same rules as get_events and webhook
payloads), users who switched the kind off, and nobody while a task's delayed publication is pending. A user
named for several reasons gets one e-mail, of the most specific kind they have on (notify.kinds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, exists, or_, select

from localsection import access
from localsection.ctx import Ctx
from localsection.db import Prepared, core
from localsection.models import Comment, Event, MailPreference, Project, Task, TaskSubscriber, User
from localsection.notify.kinds import ASSIGNED, COMMENT, COMPLETED, KINDS, MENTIONED
from localsection.notify.messages import compose
from localsection.notify.outbox import queue

_TASK_COLUMNS = (Task.id, Task.name, Task.project_id, Task.user_from_id, Task.user_to_id, Task.mentions,
                 Task.publish_at, Project.name)
_TASK = Prepared(select(*_TASK_COLUMNS).join(Project, Project.id == Task.project_id).where(
    Task.id == bindparam("id"), Task.account_id == bindparam("account")))
_COMMENT = Prepared(select(*_TASK_COLUMNS, Comment.mentions).join(Task, Task.id == Comment.task_id)
                    .join(Project, Project.id == Task.project_id)
                    .where(Comment.id == bindparam("id"), Comment.account_id == bindparam("account")))
# The web app may add users.language; until then everyone reads English.
_LANGUAGE: Any = getattr(User, "language", None)


@dataclass
class _About:
    """The task an event concerns (and the comment, for a comment event)."""

    task_id: int
    title: str
    project_id: int
    author_id: int
    executive_id: int | None
    task_mentions: list[Any]
    publish_at: dt.datetime | None
    project: str | None  # None: not read yet (read only when an e-mail is written)
    comment_id: int | None = None
    comment_mentions: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class _Person:
    id: int
    email: str
    name: str
    language: str | None
    on: frozenset[str]  # the kinds they receive
    subscribed: bool


_PROJECT_NAME = Prepared(select(Project.name).where(Project.id == bindparam("id"),
                                                     Project.account_id == bindparam("account")))


def _about(ctx: Ctx, event: Event, task: Any = None, comment_mentions: Sequence[Any] | None = None) -> _About | None:
    """The task (and comment) the event concerns. A comment's writer passes the task (a snapshot read in this
    transaction) and the comment's mentions, which saves the statement that would read them again."""
    if task is not None and event.object_type == "comment" and comment_mentions is not None:
        return _About(task_id=task.id, title=task.name, project_id=task.project_id, author_id=task.user_from_id,
                      executive_id=task.user_to_id, task_mentions=list(task.mentions or []),
                      publish_at=task.publish_at, project=None, comment_id=event.object_id,
                      comment_mentions=list(comment_mentions))
    params = {"id": event.object_id, "account": ctx.account_id}
    is_comment = event.object_type == "comment"
    row = (_COMMENT if is_comment else _TASK).first(ctx.db, params)
    if row is None:
        return None
    about = _About(task_id=row[0], title=row[1], project_id=row[2], author_id=row[3], executive_id=row[4],
                   task_mentions=list(row[5] or []), publish_at=row[6], project=row[7])
    if is_comment:
        about.comment_id, about.comment_mentions = event.object_id, list(row[8] or [])
    return about


def _ids(values: Sequence[Any]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def _wanted(event: Event, about: _About) -> tuple[dict[int, set[str]], bool]:
    """User id -> the kinds the event gives them (before preferences and visibility); whether subscribers count."""
    wanted: dict[int, set[str]] = {}

    def add(user_ids: Sequence[int | None], kind: str) -> None:
        for uid in user_ids:
            if uid is not None:
                wanted.setdefault(uid, set()).add(kind)

    key = (event.action, event.object_type)
    if key == ("post", "task"):
        add([about.executive_id], ASSIGNED)
        add(_ids(about.task_mentions), MENTIONED)
    elif key == ("update", "task"):
        add([about.executive_id], ASSIGNED)
    elif key == ("post", "comment"):
        add(_ids(about.comment_mentions), MENTIONED)
        return wanted, True
    elif key == ("close", "task"):
        add([about.author_id, about.executive_id], COMPLETED)
        return wanted, True
    return wanted, False


def _people_query() -> Select[Any]:
    """The active users of an account among `ids` or subscribed to `task` (NULL: none), with preferences."""
    subscribed = exists().where(TaskSubscriber.task_id == bindparam("task"), TaskSubscriber.user_id == User.id)
    columns: list[Any] = [User.id, User.email, User.first_name, User.last_name, MailPreference.enabled,
                          MailPreference.off_kinds, subscribed.label("subscribed")]
    if _LANGUAGE is not None:
        columns.append(_LANGUAGE)
    return (select(*columns).outerjoin(MailPreference, MailPreference.user_id == User.id)
            .where(User.account_id == bindparam("account"), User.is_active.is_(True),
                   or_(User.id.in_(bindparam("ids", expanding=True)), subscribed)))


# Built once (statement construction cost more than the query; this runs for most comments and completions).
_PEOPLE = _people_query()


def _people(ctx: Ctx, ids: set[int], subscribers_of: int | None) -> dict[int, _Person]:
    """The active users of this account among `ids` (or subscribed to the task), with their preferences."""
    params = {"account": ctx.account_id, "ids": sorted(ids), "task": subscribers_of}
    out: dict[int, _Person] = {}
    for row in core(ctx.db).execute(_PEOPLE, params):
        enabled = True if row[4] is None else bool(row[4])
        on = frozenset(k for k in KINDS if k not in (row[5] or ())) if enabled else frozenset()
        name = f"{row[2]} {row[3]}".strip() or row[1]
        out[row[0]] = _Person(row[0], row[1], name, row[7] if len(row) > 7 else None, on, bool(row[6]))
    return out


def _actor_name(ctx: Ctx, actor_id: int) -> str:
    if actor_id == ctx.user.id and ctx.user.email:
        return f"{ctx.user.first_name} {ctx.user.last_name}".strip() or ctx.user.email
    row = core(ctx.db).execute(select(User.first_name, User.last_name, User.email).where(
        User.id == actor_id, User.account_id == ctx.account_id)).first()
    return (f"{row[0]} {row[1]}".strip() or row[2]) if row else ""


def base_url(ctx: Ctx) -> str:
    """The origin links point at: the request's (ctx.base_url), else LOCALSECTION_PUBLIC_URL, else
    http://<account>.<domain>:<port> (the default account at the bare host)."""
    if ctx.base_url:
        return ctx.base_url.rstrip("/")
    s = ctx.settings
    if s.public_url:
        return s.public_url.replace("{account}", ctx.account.name).rstrip("/")
    host = s.host if s.host not in ("0.0.0.0", "::") else "127.0.0.1"
    if not ctx.account.is_default and ctx.account.name != s.default_account:
        host = f"{ctx.account.name}.{s.domain}"
    return f"http://{host}:{s.port}"


def on_event(ctx: Ctx, event: Event, *, task: Any = None, comment_mentions: Sequence[Any] | None = None,
             subscribed: bool | None = None) -> None:
    """Queue the notification e-mails of one just-recorded event (in its transaction); `task` and
    `comment_mentions`: what the writer of a comment event already read (see _about); `subscribed`: whether
    that task has any subscriber (None: unknown)."""
    if event.object_type not in ("task", "comment") or event.action not in ("post", "update", "close"):
        return
    if event.action == "update" and (event.object_type != "task" or "user_to" not in (event.new or {})):
        return
    about = _about(ctx, event, task, comment_mentions)
    if about is None or (about.publish_at is not None and about.publish_at > ctx.now()):
        return
    wanted, with_subscribers = _wanted(event, about)
    wanted.pop(event.user_id, None)
    if subscribed is False:
        with_subscribers = False  # nobody subscribed: the recipients are the wanted users alone
    if not wanted and not with_subscribers:
        return
    people = _people(ctx, set(wanted), about.task_id if with_subscribers else None)
    choice: dict[int, str] = {}
    for person in people.values():
        kinds = set(wanted.get(person.id, ()))
        if person.subscribed:
            kinds.add(COMMENT if event.object_type == "comment" else COMPLETED)
        kind = next((k for k in KINDS if k in kinds and k in person.on), None)
        if kind is not None and person.id != event.user_id:
            choice[person.id] = kind
    if not choice:
        return
    viewers = access.event_viewers(ctx, event, set(choice))
    if not viewers:
        return
    if about.project is None:
        row = _PROJECT_NAME.first(ctx.db, {"id": about.project_id, "account": ctx.account_id})
        about.project = row[0] if row else ""
    actor = _actor_name(ctx, event.user_id)
    link = base_url(ctx) + event.page + (f"#com{about.comment_id}" if about.comment_id else "")
    excerpt = str((event.new or {}).get("text") or "") if event.action == "post" else ""
    rows = []
    for uid in sorted(viewers):
        person, kind = people[uid], choice[uid]
        mail = compose(kind, person.language, actor=actor, task=about.title, project=about.project, link=link,
                       excerpt=excerpt)
        rows.append({"account_id": ctx.account_id, "user_id": uid, "recipient": person.email,
                     "subject": mail.subject, "text_body": mail.text, "html_body": mail.html, "kind": kind,
                     "task_id": about.task_id, "comment_id": about.comment_id})
    queue(ctx.db, rows)
