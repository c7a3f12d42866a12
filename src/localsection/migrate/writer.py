"""Writing what was read from the source into the target account, row by row through the models.

This is an import of history, not a sequence of new actions: the rows keep their original dates and authors
(created dates, comment authors, cost dates), which the domain functions would set to "now" and "the caller".
So, like an import, the writer builds model rows itself, keeping the invariants the domain keeps (`account_id` on
every row, `top_id`/`depth` of subtasks, folded names for search, costs in minutes and cents) and recording no
events: migrated history fires no webhook and sends no e-mail, and the new account's events log starts empty.

Every unit of work is one transaction that also records the source -> target ids (`migrated_ids`), so a unit
either exists completely, with its ids, or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from localsection import accounts, clock, files
from localsection.db import Database
from localsection.models import (
    Account,
    Comment,
    Contact,
    ContactFolder,
    Cost,
    MigratedId,
    Project,
    ProjectFolder,
    ProjectMember,
    ProjectTag,
    StoredFile,
    Tag,
    TagGroup,
    Task,
    TaskSubscriber,
    TaskTag,
    Team,
    User,
    new_user_id,
)

ROLES = {"owner", "account admin", "team admin", "department admin", "user", "guest", "reader"}
PRESET_FOLDERS = {"USERS", "DEFAULT", "TEAM_ONLY", "HIDDEN"}
ANY_ID, NOONE_ID = "2", "1"  # the pseudo executives of PROTOCOL.md §3.3
CHECKLIST = "\r\n• "


class TargetError(ValueError):
    """The target account cannot receive this migration (exists with other data, bad name)."""


Row = dict[str, Any]


class Unit:
    """One transaction of the writer and the ids it maps (merged into the writer's map once committed)."""

    def __init__(self, db: Session, account: Account, writer: Writer) -> None:
        self.db, self.account, self.writer = db, account, writer
        self.mapped: dict[tuple[str, str], int] = {}

    def target(self, kind: str, source_id: Any) -> int | None:
        sid = str(source_id)
        found = self.mapped.get((kind, sid))
        return found if found is not None else self.writer.ids.get(kind, {}).get(sid)

    def map(self, kind: str, source_id: Any, target_id: int) -> None:
        self.db.add(MigratedId(account_id=self.account.id, kind=kind, source_id=str(source_id),
                               target_id=target_id))
        self.mapped[(kind, str(source_id))] = target_id


class Writer:
    """The target side of one migration: account `name` in `db`, source timestamps read in `timezone`."""

    def __init__(self, db: Database, name: str, timezone: str = "UTC") -> None:
        self.db, self.name = db, name.strip().lower()
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.ids: dict[str, dict[str, int]] = {}
        self.account_id: int | None = None
        self.owner_id = 0
        self._emails: dict[str, int] = {}

    # -- the account ---------------------------------------------------------------------------------

    def check_target(self) -> bool:
        """True when the account exists with this migration's ids (a resume); TargetError when it exists with
        other data; False when it is new (or an empty account made for it)."""
        if not accounts.valid_account_name(self.name):
            raise TargetError("--account must be a DNS label: a-z, 0-9 and '-', at most 63 characters")
        with self.db.session(write=False) as s:
            acc = s.scalars(select(Account).where(Account.name == self.name)).first()
            if acc is None:
                return False
            self.account_id, self.owner_id = acc.id, acc.owner_id or 0
            if s.scalar(select(exists().where(MigratedId.account_id == acc.id))):
                self._load(s, acc)
                return True
            users = s.scalar(select(func.count()).select_from(User).where(User.account_id == acc.id)) or 0
            busy = users > 1 or any(s.scalar(select(exists().where(m.account_id == acc.id)))
                                    for m in (Project, Contact, TagGroup, ProjectFolder, ContactFolder))
            if busy:
                raise TargetError(f"account {self.name} already exists and is not empty; migrate into a new "
                                  "account (choose another --account)")
            return False

    def _load(self, s: Session, acc: Account) -> None:
        self.ids = {}
        for kind, source, target in s.execute(select(MigratedId.kind, MigratedId.source_id, MigratedId.target_id)
                                              .where(MigratedId.account_id == acc.id)):
            self.ids.setdefault(kind, {})[source] = target
        self._emails = {e: i for e, i in s.execute(select(User.email, User.id).where(User.account_id == acc.id))}

    @contextmanager
    def unit(self, create: Callable[[Session], Account] | None = None) -> Iterator[Unit]:
        """One transaction in the target account (made first by `create` when it does not exist yet); its ids
        join the map once it has committed."""
        with self.db.session() as s:
            if self.account_id is None and create is not None:
                acc: Account | None = create(s)
            else:
                acc = s.get(Account, self.account_id) if self.account_id else None
            if acc is None:
                raise TargetError(f"account {self.name} does not exist yet")
            u = Unit(s, acc, self)
            yield u
        self.account_id = acc.id
        for (kind, source), target in u.mapped.items():
            self.ids.setdefault(kind, {})[source] = target

    def done(self, kind: str, source_id: Any) -> bool:
        return str(source_id) in self.ids.get(kind, {})

    # -- members -------------------------------------------------------------------------------------

    def members(self, users: list[Row], teams: list[Row], contacts: list[Row], folders: list[Row]) -> None:
        """The account (created with the source owner as owner when new), teams, users, contact folders and
        contacts: one transaction."""
        owner = _pick_owner(users)
        created_team: int | None = None

        def create(s: Session) -> Account:
            nonlocal created_team
            try:
                made = accounts.create_account(s, self.name, str(owner.get("email", "")).strip().lower(),
                                               timezone=self.timezone)
            except accounts.AccountError as exc:
                raise TargetError(f"cannot create account {self.name}: {exc}") from None
            self.owner_id, created_team = made.owner.id, made.owner.team_id
            return made.account

        with self.unit(create) as u:  # the account, its owner and the members: all or nothing
            s = u.db
            for team in teams:
                if not u.target("team", team.get("id")):
                    u.map("team", team.get("id"), self._team(u, str(team.get("title", "")), bool(team.get("client"))))
            for user in users:
                if u.target("user", user.get("id")) is None:
                    u.map("user", user.get("id"), self._user(u, user, user is owner))
            for folder in folders:
                if folder.get("type") == "folder" and u.target("contact_folder", folder.get("id")) is None:
                    title = str(folder.get("title", ""))
                    row = s.scalars(select(ContactFolder).where(ContactFolder.account_id == u.account.id,
                                                                ContactFolder.title == title)).first()
                    if row is None:
                        row = ContactFolder(account_id=u.account.id, title=title)
                        s.add(row)
                        s.flush()
                    u.map("contact_folder", folder.get("id"), row.id)
            for contact in contacts:
                if u.target("contact", contact.get("id")) is None:
                    u.map("contact", contact.get("id"), self._contact(u, contact))
            if created_team is not None:
                s.flush()
                used = s.scalar(select(exists().where(User.team_id == created_team))) or any(
                    t == created_team for (k, _), t in u.mapped.items() if k == "team")
                if not used:
                    s.execute(delete(Team).where(Team.id == created_team))
        with self.db.session(write=False) as s:
            acc = s.get(Account, self.account_id)
            assert acc is not None
            self._load(s, acc)

    def _team(self, u: Unit, title: str, client: bool = False) -> int:
        row = u.db.scalars(select(Team).where(Team.account_id == u.account.id, Team.title == title)).first()
        if row is None:
            row = Team(account_id=u.account.id, title=title, client=client)
            u.db.add(row)
            u.db.flush()
        return row.id

    def _user(self, u: Unit, src: Row, is_owner: bool) -> int:
        s = u.db
        email = str(src.get("email", "")).strip().lower()
        group = str(src.get("group") or "")
        values: dict[str, Any] = {
            "first_name": str(src.get("first_name") or ""), "last_name": str(src.get("last_name") or ""),
            "title": str(src.get("title") or ""), "department": str(src.get("department") or ""),
            "rate": _decimal(src.get("rate")) or Decimal("0"), "team_id": self._team(u, group) if group else None,
        }
        for key in ("phone", "phone2", "phone3", "phone4", "address", "address2"):
            values[key] = str(src.get(key) or "")
        if is_owner:
            row = s.get(User, self.owner_id)
            assert row is not None
        else:
            row = s.scalars(select(User).where(User.account_id == u.account.id, User.email == email)).first()
            if row is None:
                role = str(src.get("role") or "user").lower()
                row = User(id=new_user_id(s), account_id=u.account.id, email=email,
                           role=role if role in ROLES - {"owner"} else "user", password_hash=None,
                           created_at=clock.now())
                s.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        s.flush()
        self._emails[email] = row.id
        return row.id

    def _contact(self, u: Unit, src: Row) -> int:
        group = str(src.get("group") or "DEFAULT")
        folder_id = None
        if group not in PRESET_FOLDERS:
            folder = u.db.scalars(select(ContactFolder).where(ContactFolder.account_id == u.account.id,
                                                              ContactFolder.title == group)).first()
            if folder is None:
                folder = ContactFolder(account_id=u.account.id, title=group)
                u.db.add(folder)
                u.db.flush()
            folder_id = folder.id
        row = Contact(account_id=u.account.id, email=str(src.get("email") or ""),
                      first_name=str(src.get("first_name") or ""), last_name=str(src.get("last_name") or ""),
                      title=str(src.get("title") or ""), preset_folder=group if folder_id is None else None,
                      folder_id=folder_id, created_at=clock.now(),
                      **{k: str(src.get(k) or "") for k in ("phone", "phone2", "phone3", "phone4", "address",
                                                             "address2")})
        u.db.add(row)
        u.db.flush()
        return row.id

    def user_id(self, ref: Any) -> int | None:
        """The target user of a source user reference {id, email, name}, or None when unknown here."""
        if not isinstance(ref, dict):
            return None
        found = self.ids.get("user", {}).get(str(ref.get("id")))
        return found if found is not None else self._emails.get(str(ref.get("email", "")).lower())

    def author(self, ref: Any) -> int:
        """The target user of a reference; a user the source no longer lists counts as the owner."""
        return self.user_id(ref) or self.owner_id

    # -- tags and folders ----------------------------------------------------------------------------

    def tags(self, applies_to: str, groups: list[Row], tags: list[Row]) -> None:
        """Tag groups and their tags of tasks or projects: one transaction."""
        with self.unit() as u:
            for g in groups + [t["group"] for t in tags if isinstance(t.get("group"), dict)]:
                kind = f"{applies_to}_tag_group"
                if u.target(kind, g.get("id")) is not None:
                    continue
                title = str(g.get("title", ""))
                row = u.db.scalars(select(TagGroup).where(TagGroup.account_id == u.account.id,
                                                          TagGroup.applies_to == applies_to,
                                                          TagGroup.title == title)).first()
                if row is None:
                    row = TagGroup(account_id=u.account.id, applies_to=applies_to, title=title,
                                   type=str(g.get("type") or ("label" if applies_to == "task" else "")),
                                   access=str(g.get("access") or "public"))
                    u.db.add(row)
                    u.db.flush()
                u.map(kind, g.get("id"), row.id)
            for t in tags:
                group = u.target(f"{applies_to}_tag_group", (t.get("group") or {}).get("id"))
                if group is None or u.target("tag", t.get("id")) is not None:
                    continue
                title = str(t.get("title", ""))
                tag = u.db.scalars(select(Tag).where(Tag.group_id == group, Tag.title == title)).first()
                if tag is None:
                    tag = Tag(account_id=u.account.id, group_id=group, title=title)
                    u.db.add(tag)
                    u.db.flush()
                u.map("tag", t.get("id"), tag.id)

    def project_folders(self, groups: list[Row]) -> None:
        with self.unit() as u:
            for g in groups:
                if g.get("type") != "folder" or u.target("project_folder", g.get("id")) is not None:
                    continue
                title = str(g.get("title", ""))
                row = u.db.scalars(select(ProjectFolder).where(ProjectFolder.account_id == u.account.id,
                                                               ProjectFolder.title == title)).first()
                if row is None:
                    row = ProjectFolder(account_id=u.account.id, title=title)
                    u.db.add(row)
                    u.db.flush()
                u.map("project_folder", g.get("id"), row.id)

    # -- projects ------------------------------------------------------------------------------------

    def projects(self, rows: list[Row]) -> None:
        """Projects (any status) with their members and tags: one transaction."""
        with self.unit() as u:
            s = u.db
            folders = dict(s.execute(select(ProjectFolder.title, ProjectFolder.id)
                                     .where(ProjectFolder.account_id == u.account.id)).tuples().all())
            teams = dict(s.execute(select(Team.title, Team.id).where(Team.account_id == u.account.id)).tuples().all())
            for src in rows:
                if u.target("project", src.get("id")) is not None:
                    continue
                company = str(src.get("company") or "")
                folder_id, team_id = folders.get(company), None
                if company and folder_id is None:
                    team_id = teams.get(company)
                    if team_id is None:
                        folder = ProjectFolder(account_id=u.account.id, title=company)
                        s.add(folder)
                        s.flush()
                        folder_id = folders[company] = folder.id
                status = str(src.get("status") or "active")
                options = _dict(src.get("options"))
                p = Project(account_id=u.account.id, name=str(src.get("name") or ""), text=str(src.get("text") or ""),
                            status=status if status in ("active", "pending", "archive") else "active",
                            user_from_id=self.author(src.get("user_from")),
                            manager_id=self.user_id(src.get("user_to")), executive_id=None, executive_any=False,
                            folder_id=folder_id, team_id=team_id,
                            options={k: 1 for k, v in options.items() if str(v) == "1"},
                            date_added=self.when(src.get("date_added")) or clock.now(),
                            date_start=_day(src.get("date_start")), date_end=_day(src.get("date_end")),
                            date_closed=self.when(src.get("date_closed")),
                            max_time=_decimal(src.get("max_time")), max_money=_decimal(src.get("max_money")))
                s.add(p)
                s.flush()
                members = _known(self.user_id(m) for m in src.get("users") or [])
                s.add_all(ProjectMember(project_id=p.id, user_id=m) for m in members)
                s.add_all(ProjectTag(project_id=p.id, tag_id=t) for t in _known(u.target("tag", t) for t in
                                                                                   _dict(src.get("tags"))))
                u.map("project", src.get("id"), p.id)

    # -- tasks ---------------------------------------------------------------------------------------

    def tasks(self, project_source_id: str, rows: list[Row]) -> list[Row]:
        """One project's tasks and subtasks (flat rows with `_parent`, parents first): one transaction.

        Returns the rows written (their files and comments are fetched next)."""
        project_id = self.ids.get("project", {}).get(str(project_source_id))
        if project_id is None:
            return []
        written: list[Row] = []
        with self.unit() as u:
            s = u.db
            for src in rows:
                if u.target("task", src.get("id")) is not None:
                    continue
                parent = u.target("task", src["_parent"]) if src.get("_parent") else None
                parent_row = s.get(Task, parent) if parent else None
                text, todo = split_checklist(str(src.get("text") or ""))
                name = str(src.get("name") or "")
                status = "done" if src.get("status") == "done" else "active"
                user_to = _dict(src.get("user_to"))
                t = Task(account_id=u.account.id, project_id=project_id,
                         parent_id=parent_row.id if parent_row else None,
                         top_id=(parent_row.top_id or parent_row.id) if parent_row else None,
                         depth=min(parent_row.depth + 1, 2) if parent_row else 0,
                         name=name, name_folded=name.casefold(), text=text, todo=todo, mentions=[],
                         status=status, priority=_priority(src.get("priority")),
                         user_from_id=self.author(src.get("user_from")),
                         user_to_id=None if str(user_to.get("id")) in (ANY_ID, NOONE_ID) else self.user_id(user_to),
                         user_to_any=str(user_to.get("id")) == ANY_ID and user_to.get("email") == "ANY",
                         date_added=self.when(src.get("date_added")) or clock.now(),
                         date_start=_day(src.get("date_start")), date_end=_day(src.get("date_end")),
                         time_start=_clock(src.get("time_start")), time_end=_clock(src.get("time_end")),
                         date_closed=self.when(src.get("date_closed")) if status == "done" else None,
                         max_time=_decimal(src.get("max_time")), max_money=_decimal(src.get("max_money")))
                s.add(t)
                s.flush()
                subs = _known(self.user_id(x) for x in src.get("subscribers") or [])
                s.add_all(TaskSubscriber(task_id=t.id, user_id=x) for x in subs)
                s.add_all(TaskTag(task_id=t.id, tag_id=x) for x in _known(u.target("tag", x) for x in
                                                                           _dict(src.get("tags"))))
                u.map("task", src.get("id"), t.id)
                written.append(src)
        return written

    def comments(self, task_source_id: str, rows: list[Row]) -> None:
        """The comments of one task, oldest first (the source lists newest first): one transaction."""
        task_id = self.ids.get("task", {}).get(str(task_source_id))
        if task_id is None:
            return
        with self.unit() as u:
            for src in sorted(rows, key=lambda c: (str(c.get("date_added") or ""), _int(c.get("id")))):
                if u.target("comment", src.get("id")) is not None:
                    continue
                text, todo = split_checklist(str(src.get("text") or ""))
                c = Comment(account_id=u.account.id, task_id=task_id, text=text, todo=todo, mentions=[],
                            user_from_id=self.author(src.get("user_from")),
                            date_added=self.when(src.get("date_added")) or clock.now())
                u.db.add(c)
                u.db.flush()
                u.map("comment", src.get("id"), c.id)

    # -- costs ---------------------------------------------------------------------------------------

    def costs(self, rows: list[Row]) -> list[Row]:
        """Cost rows whose task was copied: one transaction. Returns the rows that could not be placed."""
        orphans: list[Row] = []
        with self.unit() as u:
            tasks: dict[int, Task] = {}
            for src in rows:
                if u.target("cost", src.get("id")) is not None:
                    continue
                task_src = (src.get("task") or {}).get("id")
                task_id = u.target("task", task_src)
                if task_id is None:
                    orphans.append(src)
                    continue
                task = tasks.get(task_id) or u.db.get(Task, task_id)
                assert task is not None
                tasks[task_id] = task
                comment = str(src.get("comment") or "")
                c = Cost(account_id=u.account.id, project_id=task.project_id, task_id=task.id,
                         top_task_id=task.top_id or task.id, user_id=self.author(src.get("user_from")),
                         minutes=_minutes(src.get("time")), money_cents=_cents(src.get("money")),
                         comment=comment, comment_folded=comment.casefold(),
                         date=_day(src.get("date")) or clock.now().date(), is_timer=src.get("is_timer") is True,
                         created_at=clock.now())
                u.db.add(c)
                u.db.flush()
                u.map("cost", src.get("id"), c.id)
        return orphans

    # -- files ---------------------------------------------------------------------------------------

    def file(self, file_id: str, entry: Row, blob: Path) -> bool:
        """One downloaded file, stored and attached to its project, task or comment: one transaction.

        False when what it belongs to was not copied."""
        with self.unit() as u:
            if u.target("file", file_id) is not None:
                return True
            kind, owner = str(entry["owner"]), str(entry["owner_id"])
            project_id = task_id = comment_id = None
            when, author = self.when(entry.get("date_added")), self.user_id(entry.get("user_from"))
            if kind == "comment":
                comment_id = u.target("comment", owner)
                c = u.db.get(Comment, comment_id) if comment_id else None
                if c is None:
                    return False
                task_id, when, author = c.task_id, when or c.date_added, author or c.user_from_id
            elif kind == "task":
                task_id = u.target("task", owner)
                t = u.db.get(Task, task_id) if task_id else None
                if t is None:
                    return False
                when, author = when or t.date_added, author or t.user_from_id
            if task_id is not None:
                project_id = u.db.scalar(select(Task.project_id).where(Task.id == task_id))
            else:
                project_id = u.target("project", owner)
                if project_id is None:
                    return False
            files.install_hooks(u.db.connection().engine)
            with blob.open("rb") as fh:
                stored = files.write_blob(self.db.settings, fh, u.db.connection())
            row = StoredFile(account_id=u.account.id, sha256=stored.sha256, size=stored.size,
                             name=files.safe_name(str(entry.get("name") or "file")), project_id=project_id,
                             task_id=task_id, comment_id=comment_id, user_from_id=author or self.owner_id,
                             date_added=when or clock.now())
            u.db.add(row)
            u.db.flush()
            u.map("file", file_id, row.id)
        return True

    # -- values --------------------------------------------------------------------------------------

    def when(self, value: Any) -> dt.datetime | None:
        """A source `YYYY-MM-DD HH:MM` (in the source account's zone) as stored here: naive UTC."""
        if not value:
            return None
        try:
            local = dt.datetime.strptime(str(value)[:16], "%Y-%m-%d %H:%M")
        except ValueError:
            return None
        return local.replace(tzinfo=self.tz).astimezone(dt.UTC).replace(tzinfo=None)


def _pick_owner(users: list[Row]) -> Row:
    """The source user who becomes the owner: role owner, else the first account admin, else the first user."""
    for role in ("owner", "account admin"):
        for user in users:
            if str(user.get("role", "")).lower() == role:
                return user
    if not users:
        raise TargetError("the source lists no users")
    return users[0]


def split_checklist(text: str) -> tuple[str, list[str]]:
    """A rendered description back into text and checklist lines ("text\\r\\n• a\\r\\n• b"): it renders the same."""
    if text.startswith("• "):
        head, items = "", text[2:].split(CHECKLIST)
    else:
        head, *items = text.split(CHECKLIST)
    return head, items


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _known(ids: Iterable[int | None]) -> list[int]:
    """The ids that were found, once each, in order."""
    return sorted({i for i in ids if i})


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _clock(value: Any) -> str | None:
    text = str(value or "")
    return text[:5] if len(text) >= 5 and text[2] == ":" else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _priority(value: Any) -> int:
    return max(0, min(10, _int(value)))


def _minutes(value: Any) -> int:
    """`H:MM` cost time -> minutes."""
    hours, _, minutes = str(value or "0:00").partition(":")
    return _int(hours) * 60 + _int(minutes)


def _cents(value: Any) -> int:
    amount = _decimal(value) or Decimal("0")
    return int((amount * 100).to_integral_value())
