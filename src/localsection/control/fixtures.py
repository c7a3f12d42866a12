"""`POST /_localsection/fixtures`: a declarative document of an account's data, created in one transaction.

The document (JSON, or YAML with `Content-Type: application/yaml`) lists users, teams, contacts, projects, tag
groups with their tags, tasks with subtasks, comments, costs, timers, files and webhooks. Each object has a
`key` chosen by the client; objects refer to each other by key (`"project": "p1"`). The key `owner` is the
account's owner. Everything is created through the domain functions (the same rules, events and webhook
deliveries as the API) inside ONE write transaction: on any error nothing is written and the answer is a 400
naming the place in the document (`data.tasks[2].executive: unknown key "u9"`). The answer maps keys to ids.
Webhook URLs are probed (as add_webhook does) before the transaction starts. docs/control-api.md has the
complete schema and an example.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection import accounts, errors, files
from localsection.control.common import MAX_BODY_BYTES, ControlError, describe, handler, read_body
from localsection.ctx import Ctx
from localsection.domain import UNSET, comments, costs, members, projects, tags, tasks, timers, webhooks
from localsection.models import Account, StoredFile, User
from localsection.passwords import hash_password
from localsection.state import AppState

MAX_OBJECTS = 10_000  # objects of all kinds in one document
OWNER_KEY = "owner"

Key = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
Text = Annotated[str, Field(max_length=100_000)]
Name = Annotated[str, Field(min_length=1, max_length=500)]
Day = Annotated[dt.date, Field(strict=False)]  # "2026-12-31" in JSON; YAML gives a date already
Amount = Annotated[Decimal, Field(strict=False, ge=0, lt=Decimal("1e12"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TeamIn(Strict):
    key: Key
    title: Name
    client: bool = False


class UserIn(Strict):
    key: Key
    email: Annotated[str, Field(min_length=3, max_length=255)]
    first_name: Annotated[str, Field(max_length=255)] = ""
    last_name: Annotated[str, Field(max_length=255)] = ""
    title: Annotated[str, Field(max_length=255)] = ""
    department: Annotated[str, Field(max_length=255)] = ""
    role: members.Role = "user"
    team: Key | None = None  # a team's key
    password: Annotated[str, Field(min_length=8, max_length=200)] | None = None  # to sign in on the OAuth pages


class ContactIn(Strict):
    key: Key
    email: Annotated[str, Field(min_length=3, max_length=255)]
    name: Name
    folder: Annotated[str, Field(min_length=1, max_length=255)] = "DEFAULT"
    title: Annotated[str, Field(max_length=255)] = ""
    phone: Annotated[str, Field(max_length=64)] = ""


class TagIn(Strict):
    key: Key
    title: Annotated[str, Field(min_length=1, max_length=255)]


class TagGroupIn(Strict):
    key: Key
    title: Annotated[str, Field(min_length=1, max_length=255)]
    applies_to: Literal["task", "project"] = "task"
    type: Literal["status", "label"] = "label"
    access: Literal["public", "private"] = "public"
    tags: list[TagIn] = Field(default_factory=list, max_length=1000)


class ProjectIn(Strict):
    key: Key
    title: Name
    folder: Annotated[str, Field(min_length=1, max_length=255)] | None = None  # a project folder's title
    manager: Key | None = None  # a user's key
    members: list[Key] = Field(default_factory=list, max_length=1000)
    options: dict[str, Literal[0, 1]] = Field(default_factory=dict)
    text: Text = ""
    date_start: Day | None = None
    date_end: Day | None = None
    max_time: Amount | None = None
    max_money: Amount | None = None
    tags: list[Key] = Field(default_factory=list, max_length=100)  # project tags' keys
    archived: bool = False


class FileIn(Strict):
    key: Key
    name: Annotated[str, Field(min_length=1, max_length=200)]
    text: str | None = None  # the content as UTF-8 text
    base64: str | None = None  # or as base64

    @model_validator(mode="after")
    def _one_content(self) -> FileIn:
        if (self.text is None) == (self.base64 is None):
            raise ValueError("give the content as exactly one of text or base64")
        return self

    def content(self) -> bytes:
        if self.text is not None:
            return self.text.encode("utf-8")
        try:
            return base64.b64decode(self.base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("base64: not valid base64") from None


class SubSubtaskIn(Strict):
    key: Key
    title: Name
    text: Text = ""
    author: Key | None = None
    executive: Key | None = None
    priority: Annotated[int, Field(ge=0, le=10)] | None = None
    date_start: Day | None = None
    date_end: Day | None = None
    max_time: Amount | None = None
    max_money: Amount | None = None
    todo: list[Annotated[str, Field(max_length=10_000)]] = Field(default_factory=list, max_length=1000)
    tags: list[Key] = Field(default_factory=list, max_length=100)
    subscribers: list[Key] = Field(default_factory=list, max_length=1000)
    files: list[FileIn] = Field(default_factory=list, max_length=100)
    done: bool = False


class SubtaskIn(SubSubtaskIn):
    subtasks: list[SubSubtaskIn] = Field(default_factory=list, max_length=1000)


class TaskIn(SubtaskIn):
    project: Key
    subtasks: list[SubtaskIn] = Field(default_factory=list, max_length=1000)  # type: ignore[assignment]


class CommentIn(Strict):
    key: Key
    task: Key
    text: Text
    author: Key | None = None
    files: list[FileIn] = Field(default_factory=list, max_length=100)


class CostIn(Strict):
    key: Key
    task: Key
    author: Key = OWNER_KEY
    time: Annotated[str, Field(min_length=1, max_length=20)] | None = None  # "1:30" or decimal hours "1.5"
    money: Annotated[str, Field(min_length=1, max_length=20)] | None = None  # "12.50"
    date: Day | None = None  # default: today
    comment: Annotated[str, Field(max_length=10_000)] = ""


class TimerIn(Strict):
    key: Key
    user: Key
    task: Key


class WebhookIn(Strict):
    key: Key
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    events: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=20)
    projects: list[Key] = Field(default_factory=list, max_length=1000)
    http_user: Annotated[str, Field(max_length=255)] = ""
    http_pass: Annotated[str, Field(max_length=255)] = ""


class Document(Strict):
    """Everything a fixture may create; every list is optional."""

    teams: list[TeamIn] = Field(default_factory=list)
    users: list[UserIn] = Field(default_factory=list)
    contacts: list[ContactIn] = Field(default_factory=list)
    tag_groups: list[TagGroupIn] = Field(default_factory=list)
    projects: list[ProjectIn] = Field(default_factory=list)
    tasks: list[TaskIn] = Field(default_factory=list)
    comments: list[CommentIn] = Field(default_factory=list)
    costs: list[CostIn] = Field(default_factory=list)
    timers: list[TimerIn] = Field(default_factory=list)
    webhooks: list[WebhookIn] = Field(default_factory=list)


class FixtureRequest(Strict):
    account: Annotated[str, Field(min_length=1, max_length=63)]
    data: Document


# -- keys and references ----------------------------------------------------------------------------------

Kind = Literal["user", "team", "contact", "tag group", "tag", "project", "task", "comment", "cost", "timer",
               "file", "webhook"]


@dataclass
class Keys:
    """Every key of the document: its kind and path; after creation, its id."""

    kinds: dict[str, tuple[Kind, str]] = field(default_factory=lambda: {OWNER_KEY: ("user", "owner")})
    ids: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)  # user key -> e-mail
    tag_kinds: dict[str, str] = field(default_factory=dict)  # tag key -> "task" | "project"

    def declare(self, key: str, kind: Kind, path: str) -> None:
        if key in self.kinds:
            first = self.kinds[key][1]
            raise ControlError(f"{path}.key: duplicate key \"{key}\"" + (f" (first at {first})"
                                                                         if key != OWNER_KEY else " (reserved)"))
        self.kinds[key] = (kind, path)

    def check(self, key: str | None, kind: Kind, path: str) -> None:
        if key is None:
            return
        found = self.kinds.get(key)
        if found is None:
            raise ControlError(f"{path}: unknown key \"{key}\"")
        if found[0] != kind:
            raise ControlError(f"{path}: key \"{key}\" is a {found[0]} ({found[1]}), not a {kind}")

    def id(self, key: str) -> int:
        return self.ids[key]

    def email(self, key: str | None) -> str | None:
        return None if key is None else self.emails[key]


def _walk_tasks(doc: Document) -> Iterator[tuple[SubSubtaskIn, str, SubSubtaskIn | None, str]]:
    """Every task and subtask with its path, its parent and its project key, parents first."""
    for i, task in enumerate(doc.tasks):
        path = f"data.tasks[{i}]"
        yield task, path, None, task.project
        for j, sub in enumerate(task.subtasks):
            sub_path = f"{path}.subtasks[{j}]"
            yield sub, sub_path, task, task.project
            for k, subsub in enumerate(sub.subtasks):
                yield subsub, f"{sub_path}.subtasks[{k}]", sub, task.project


def check_references(doc: Document) -> Keys:
    """Declare every key (unique in the document) and check that every reference names an object of its kind."""
    keys = Keys()
    count = 0
    for name in Document.model_fields:
        count += len(getattr(doc, name))
    count += sum(len(g.tags) for g in doc.tag_groups) + sum(1 for _ in _walk_tasks(doc))
    if count > MAX_OBJECTS:
        raise ControlError(f"data: more than {MAX_OBJECTS} objects in one document")
    for i, team in enumerate(doc.teams):
        keys.declare(team.key, "team", f"data.teams[{i}]")
    for i, user in enumerate(doc.users):
        keys.declare(user.key, "user", f"data.users[{i}]")
    for i, contact in enumerate(doc.contacts):
        keys.declare(contact.key, "contact", f"data.contacts[{i}]")
    for i, group in enumerate(doc.tag_groups):
        keys.declare(group.key, "tag group", f"data.tag_groups[{i}]")
        for j, tag in enumerate(group.tags):
            keys.declare(tag.key, "tag", f"data.tag_groups[{i}].tags[{j}]")
            keys.tag_kinds[tag.key] = group.applies_to
    for i, project in enumerate(doc.projects):
        keys.declare(project.key, "project", f"data.projects[{i}]")
    for task, path, _, _ in _walk_tasks(doc):
        keys.declare(task.key, "task", path)
        for j, f in enumerate(task.files):
            keys.declare(f.key, "file", f"{path}.files[{j}]")
    for i, comment in enumerate(doc.comments):
        keys.declare(comment.key, "comment", f"data.comments[{i}]")
        for j, f in enumerate(comment.files):
            keys.declare(f.key, "file", f"data.comments[{i}].files[{j}]")
    for i, cost in enumerate(doc.costs):
        keys.declare(cost.key, "cost", f"data.costs[{i}]")
    for i, timer in enumerate(doc.timers):
        keys.declare(timer.key, "timer", f"data.timers[{i}]")
    for i, hook in enumerate(doc.webhooks):
        keys.declare(hook.key, "webhook", f"data.webhooks[{i}]")
    # References.
    for i, user in enumerate(doc.users):
        keys.check(user.team, "team", f"data.users[{i}].team")
    for i, project in enumerate(doc.projects):
        path = f"data.projects[{i}]"
        keys.check(project.manager, "user", f"{path}.manager")
        for j, member in enumerate(project.members):
            keys.check(member, "user", f"{path}.members[{j}]")
        _check_tags(keys, project.tags, "project", f"{path}.tags")
    for task, path, _, project_key in _walk_tasks(doc):
        if isinstance(task, TaskIn):
            keys.check(project_key, "project", f"{path}.project")
        keys.check(task.author, "user", f"{path}.author")
        keys.check(task.executive, "user", f"{path}.executive")
        for j, sub in enumerate(task.subscribers):
            keys.check(sub, "user", f"{path}.subscribers[{j}]")
        _check_tags(keys, task.tags, "task", f"{path}.tags")
    for i, comment in enumerate(doc.comments):
        keys.check(comment.task, "task", f"data.comments[{i}].task")
        keys.check(comment.author, "user", f"data.comments[{i}].author")
    for i, cost in enumerate(doc.costs):
        keys.check(cost.task, "task", f"data.costs[{i}].task")
        keys.check(cost.author, "user", f"data.costs[{i}].author")
        if cost.time is None and cost.money is None:
            raise ControlError(f"data.costs[{i}]: give time, money or both")
    seen_timer_users: dict[str, int] = {}
    for i, timer in enumerate(doc.timers):
        keys.check(timer.user, "user", f"data.timers[{i}].user")
        keys.check(timer.task, "task", f"data.timers[{i}].task")
        if timer.user in seen_timer_users:
            raise ControlError(f"data.timers[{i}].user: \"{timer.user}\" already has a running timer "
                               f"(data.timers[{seen_timer_users[timer.user]}]); a user runs one timer at a time")
        seen_timer_users[timer.user] = i
    for i, hook in enumerate(doc.webhooks):
        for j, project_key in enumerate(hook.projects):
            keys.check(project_key, "project", f"data.webhooks[{i}].projects[{j}]")
    return keys


def _check_tags(keys: Keys, refs: list[str], applies_to: str, path: str) -> None:
    for j, ref in enumerate(refs):
        keys.check(ref, "tag", f"{path}[{j}]")
        if keys.tag_kinds[ref] != applies_to:
            raise ControlError(f"{path}[{j}]: tag \"{ref}\" belongs to a {keys.tag_kinds[ref]} tag group, "
                               f"not a {applies_to} one")


# -- creation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A file's content in the shape files.attach takes (files.FilePart)."""

    filename: str
    file: io.BytesIO
    size: int


def _attachments(items: list[FileIn], path: str) -> files.Attachments:
    parts = []
    for j, item in enumerate(items):
        try:
            content = item.content()
        except ValueError as exc:
            raise ControlError(f"{path}.files[{j}].{exc}") from None
        parts.append(_Part(item.name, io.BytesIO(content), len(content)))
    return files.Attachments(parts=parts)


class _Builder:
    """Creates a checked document's objects in order, through the domain functions, on one admin-key context."""

    def __init__(self, ctx: Ctx, doc: Document, keys: Keys) -> None:
        self.ctx = ctx
        self.doc = doc
        self.keys = keys
        self.path = "data"
        self.done: list[tuple[int, str]] = []  # (task id, path) to complete, children first

    def run(self) -> None:
        ctx, keys = self.ctx, self.keys
        keys.ids[OWNER_KEY] = ctx.user.id
        keys.emails[OWNER_KEY] = ctx.user.email
        for i, team in enumerate(self.doc.teams):
            self.path = f"data.teams[{i}]"
            keys.ids[team.key] = members.add_team(ctx, title=team.title, client=team.client).id
        titles = {t.key: t.title for t in self.doc.teams}
        for i, user in enumerate(self.doc.users):
            self.path = f"data.users[{i}]"
            self._user(user, titles)
        for i, contact in enumerate(self.doc.contacts):
            self.path = f"data.contacts[{i}]"
            keys.ids[contact.key] = members.add_contact(ctx, new=members.NewContact(
                email=contact.email, name=contact.name, folder=contact.folder, title=contact.title,
                phone=contact.phone)).id
        for i, group in enumerate(self.doc.tag_groups):
            self.path = f"data.tag_groups[{i}]"
            self._tag_group(group)
        for i, project in enumerate(self.doc.projects):
            self.path = f"data.projects[{i}]"
            self._project(project)
        for task, path, parent, project_key in _walk_tasks(self.doc):
            self.path = path
            self._task(task, path, parent, project_key)
        for i, comment in enumerate(self.doc.comments):
            self.path = f"data.comments[{i}]"
            self._comment(comment)
        for i, cost in enumerate(self.doc.costs):
            self.path = f"data.costs[{i}]"
            self._cost(cost)
        for i, timer in enumerate(self.doc.timers):
            self.path = f"data.timers[{i}]"
            self._timer(timer)
        for i, hook in enumerate(self.doc.webhooks):
            self.path = f"data.webhooks[{i}]"
            keys.ids[hook.key] = webhooks.register_webhook(
                ctx, url=hook.url, events=hook.events, projects=[str(keys.id(p)) for p in hook.projects],
                http_user=hook.http_user, http_pass=hook.http_pass).id
        for task_id, path in reversed(self.done):  # subtasks were listed after their parents
            self.path = path + ".done"
            tasks.complete_task(ctx, task_id=task_id)
        for i, project in enumerate(self.doc.projects):
            if project.archived:
                self.path = f"data.projects[{i}].archived"
                projects.close_project(ctx, project_id=keys.id(project.key))

    def _user(self, user: UserIn, team_titles: dict[str, str]) -> None:
        ctx = self.ctx
        email = user.email.strip().lower()
        if self.ctx.db.scalars(select(User.id).where(User.account_id == ctx.account_id,
                                                     User.email == email)).first() is not None:
            raise ControlError(f"{self.path}.email: {email} is already a user of the account")
        row = members.add_user(ctx, new=members.NewUser(
            email=email, role=user.role, team=team_titles[user.team] if user.team else "",
            first_name=user.first_name, last_name=user.last_name, title=user.title, department=user.department))
        if user.password is not None:
            row.password_hash = hash_password(user.password)
        self.keys.ids[user.key] = row.id
        self.keys.emails[user.key] = row.email

    def _tag_group(self, group: TagGroupIn) -> None:
        ctx = self.ctx
        made = tags.add_groups(ctx, applies_to=group.applies_to, titles=[group.title], type_=group.type,
                               visibility=group.access)[0]
        self.keys.ids[group.key] = made.id
        if group.tags:
            created = tags.add_tags(ctx, applies_to=group.applies_to, group=str(made.id),
                                    titles=[t.title for t in group.tags])
            by_title = {t.title.casefold(): t.id for t in created}
            for tag in group.tags:
                self.keys.ids[tag.key] = by_title[tag.title.strip().casefold()]

    def _project(self, project: ProjectIn) -> None:
        keys = self.keys
        manager = keys.email(project.manager)
        changes = projects.ProjectChanges(
            title=project.title, manager=manager if manager is not None else UNSET,
            members=[keys.emails[m] for m in project.members] or UNSET,
            options=project.options or UNSET, text=project.text or UNSET,
            company=project.folder or UNSET,
            date_start=project.date_start or UNSET, date_end=project.date_end or UNSET,
            max_time=project.max_time if project.max_time is not None else UNSET,
            max_money=project.max_money if project.max_money is not None else UNSET,
            tags=[str(keys.id(t)) for t in project.tags] or UNSET)
        keys.ids[project.key] = projects.create_project(self.ctx, changes=changes).id

    def _task(self, task: SubSubtaskIn, path: str, parent: SubSubtaskIn | None, project_key: str) -> None:
        keys = self.keys
        row = tasks.create_task(self.ctx, tasks.NewTask(
            project_id=keys.id(project_key), title=task.title,
            parent_id=keys.id(parent.key) if parent is not None else None,
            author_email=keys.email(task.author), executive=keys.email(task.executive), text=task.text,
            todo=task.todo, priority=task.priority, date_start=task.date_start, date_end=task.date_end,
            max_time=task.max_time, max_money=task.max_money,
            subscribers=[keys.emails[s] for s in task.subscribers], tags=[str(keys.id(t)) for t in task.tags],
            attachments=_attachments(task.files, path)))
        keys.ids[task.key] = row.id
        if task.files:
            stored = self.ctx.db.scalars(select(StoredFile.id).where(StoredFile.task_id == row.id,
                                                                     StoredFile.comment_id.is_(None))
                                         .order_by(StoredFile.id))
            for item, file_id in zip(task.files, stored, strict=True):
                keys.ids[item.key] = file_id
        if task.done:
            self.done.append((row.id, path))

    def _comment(self, comment: CommentIn) -> None:
        keys = self.keys
        posted = comments.post_comment(self.ctx, comments.NewComment(
            task_id=keys.id(comment.task), text=comment.text, author_email=keys.email(comment.author),
            attachments=_attachments(comment.files, self.path)))
        keys.ids[comment.key] = posted.comment.id
        if comment.files:
            stored = self.ctx.db.scalars(select(StoredFile.id).where(StoredFile.comment_id == posted.comment.id)
                                         .order_by(StoredFile.id))
            for item, file_id in zip(comment.files, stored, strict=True):
                keys.ids[item.key] = file_id

    def _cost(self, cost: CostIn) -> None:
        minutes = costs.parse_time(cost.time) if cost.time is not None else None
        cents = costs.parse_money(cost.money) if cost.money is not None else None
        self.keys.ids[cost.key] = costs.add_cost(self.ctx, task_id=self.keys.id(cost.task),
                                                 author_email=self.keys.email(cost.author), minutes=minutes,
                                                 cents=cents, day=cost.date, comment=cost.comment)

    def _timer(self, timer: TimerIn) -> None:
        ctx = self.ctx
        user = ctx.db.get(User, self.keys.id(timer.user))
        assert user is not None
        as_user = Ctx.for_user(ctx.db, ctx.settings, ctx.account, user, base_url=ctx.base_url)
        self.keys.ids[timer.key] = timers.start_my_timer(as_user, task_id=self.keys.id(timer.task)).id


def _explain(path: str, exc: errors.ApiError) -> str:
    return f"{path}: {exc.text()}"


def load_fixtures(state: AppState, account_name: str, doc: Document, base_url: str = "") -> dict[str, int]:
    """Create the document's objects in one transaction; the map key -> id. ControlError names the path."""
    keys = check_references(doc)
    probe_ctx: Ctx | None = None
    with state.db.session(write=False) as s:
        account = s.scalars(select(Account).where(Account.name == account_name.strip().lower())).first()
        if account is None:
            raise ControlError(f"account: no account named {account_name}", 404)
        owner = s.get(User, account.owner_id) if account.owner_id else None
        if owner is None:
            raise ControlError(f"account: {account_name} has no owner")
        probe_ctx = Ctx.for_admin_key(s, state.settings, account, owner)
        for i, hook in enumerate(doc.webhooks):  # slow: before the write transaction, never holding the lock
            try:
                webhooks.check_url(probe_ctx, url=hook.url, http_user=hook.http_user, http_pass=hook.http_pass)
            except errors.ApiError as exc:
                raise ControlError(_explain(f"data.webhooks[{i}].url", exc)) from None
    with state.db.session(write=True) as s:
        account = accounts.get_account(s, account_name)
        owner = s.get(User, account.owner_id) if account.owner_id else None
        assert owner is not None
        ctx = Ctx.for_admin_key(s, state.settings, account, owner, base_url=base_url)  # no database: one txn
        builder = _Builder(ctx, doc, keys)
        try:
            builder.run()
        except errors.ApiError as exc:
            raise ControlError(_explain(builder.path, exc)) from None
        s.flush()
    return {key: keys.ids[key] for key in keys.kinds if key in keys.ids}


def fixture_routes(state: AppState) -> list[BaseRoute]:

    async def load(request: Request) -> Response:
        body = await read_body(request, yaml_ok=True, limit=MAX_BODY_BYTES)
        try:
            given = FixtureRequest.model_validate(body)
        except ValidationError as exc:
            raise ControlError(describe(exc)) from None
        origin = f"{request.url.scheme}://{request.url.netloc}/a/{given.account.lower()}"
        ids = await run_in_threadpool(load_fixtures, state, given.account, given.data, origin)
        return JSONResponse({"status": "ok", "ids": ids})

    async def schema(_: Request) -> Response:
        return JSONResponse(FixtureRequest.model_json_schema())

    return [Route("/fixtures", handler(load), methods=["POST"]),
            Route("/fixtures/schema", handler(schema), methods=["GET"])]
