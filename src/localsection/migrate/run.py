"""One migration from start (or from where an earlier run stopped) to its report.

Phases, in order — each made of units that are written and then recorded in the state file:

1. members: users, teams, contacts and contact folders (the account is created here, its owner the source's);
2. tags: task and project tag groups with their tags;
3. projects: project folders, then every project (active, pending, archived) with members and tags;
4. tasks: per project, its tasks and subtasks (`get_tasks`; a project at the cap is read by date ranges);
5. comments: per task that has any (`get_comments` with files);
6. project files: per project, the files not attached to a task or a comment (`get_files`);
7. costs: the whole list, split by project and date ranges at the cap, written in chunks;
8. files: every file's bytes (`download`), one unit per file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from localsection.migrate import splitter
from localsection.migrate.source import FileGone, Source, SourceError, Unreachable
from localsection.migrate.state import State, save
from localsection.migrate.writer import Row, Writer

TASK_EXTRA = "text,files,subtasks,subscribers,comments"
SEARCH_EXTRA = "text,files"
COST_CHUNK = 1000
KINDS = ("user", "team", "contact", "contact_folder", "task_tag_group", "project_tag_group", "tag",
         "project_folder", "project", "task", "comment", "cost", "file")


class Progress:
    """What a front end hears about: phases with a size, steps within them. This one stays quiet."""

    def phase(self, name: str, total: int | None) -> None:
        """A phase starts; `total` units (None: unknown)."""

    def advance(self, steps: int = 1) -> None:
        """Units of the current phase are done."""


class Migration:
    """Copy one Worksection account (`source`) into a new account of this server (`writer`)."""

    def __init__(self, source: Source, writer: Writer, state: State, state_path: Path, *,
                 cap: int = splitter.CAP, progress: Progress | None = None,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.src, self.out, self.state, self.path = source, writer, state, state_path
        self.cap, self.progress, self.today = cap, progress or Progress(), today
        self._base_requests = state.requests

    def run(self) -> None:
        """Every phase not done yet; the state file is saved after each unit and when anything stops the run."""
        try:
            self._members()
            self._tags()
            self._projects()
            self._each("tasks", self.state.plan.get("projects", []), self._tasks_of)
            self._each("comments", self.state.plan.get("comments", []), self._comments_of)
            self._each("project files", self.state.plan.get("projects", []), self._project_files)
            self._costs()
            self._each("files", list(self.state.files), self._file)
        finally:
            self.checkpoint(with_ids=True)

    # -- bookkeeping ---------------------------------------------------------------------------------

    def checkpoint(self, *, with_ids: bool = False) -> None:
        self.state.requests = self._base_requests + self.src.stats.total
        if with_ids:
            self.state.ids = {k: dict(v) for k, v in self.out.ids.items()}
        save(self.path, self.state)

    def _once(self, key: str, work: Callable[[], None]) -> None:
        if key in self.state.done:
            return
        self.progress.phase(key, 1)
        work()
        self.state.done.add(key)
        self.progress.advance()
        self.checkpoint(with_ids=True)

    def _each(self, key: str, items: list[str], work: Callable[[str], None]) -> None:
        """Work through a plan list from its cursor, saving the cursor after each item."""
        start = self.state.cursor.get(key, 0)
        self.progress.phase(key, len(items))
        self.progress.advance(start)
        for index in range(start, len(items)):
            work(items[index])
            self.state.cursor[key] = index + 1
            self.progress.advance()
            self.checkpoint()
        self.checkpoint(with_ids=True)

    # -- phases --------------------------------------------------------------------------------------

    def _members(self) -> None:
        def work() -> None:
            users = self.src.rows("get_users")
            teams = self.src.rows("get_user_groups")
            contacts = self.src.rows("get_contacts")
            folders = self.src.rows("get_contact_groups")
            self.out.members(users, teams, contacts, folders)
        self._once("members", work)

    def _tags(self) -> None:
        def work() -> None:
            for applies_to in ("task", "project"):
                groups = self.src.rows(f"get_{applies_to}_tag_groups")
                tags = self.src.rows(f"get_{applies_to}_tags")
                self.out.tags(applies_to, groups, tags)
        self._once("tags", work)

    def _projects(self) -> None:
        def work() -> None:
            self.out.project_folders(self.src.rows("get_project_groups"))
            projects = self.src.rows("get_projects", extra="text,options,users")
            self.out.projects(projects)
            for p in projects:
                self.state.planned("projects", str(p.get("id")))
        self._once("projects", work)

    def _tasks_of(self, project: str) -> None:
        try:
            rows = self._read_tasks(project)
        except splitter.Unsplittable as exc:
            self.state.failed("tasks", project, "", f"the project's tasks cannot be listed below the cap: {exc}")
            return
        except SourceError as exc:
            if isinstance(exc, Unreachable):
                raise
            self.state.failed("tasks", project, "", str(exc))
            return
        ordered, orphans = parents_first(rows)
        for row in orphans:
            self.state.failed("task", str(row.get("id")), str(row.get("name", "")), "its parent task is not listed")
        self.out.tasks(project, ordered)
        for row in ordered:
            task = str(row.get("id"))
            if row.get("has_comments", 1) not in (0, "0"):
                self.state.planned("comments", task)
            self._plan_files(row.get("files"), "task", task)

    def _read_tasks(self, project: str) -> list[Row]:
        rows = splitter.below_cap(lambda: self.src.rows("get_tasks", id_project=project, extra=TASK_EXTRA),
                                  self.cap)
        if rows is not None:
            return list(flatten(rows))
        self.state.failed("subscribers", project, "", "not copied: the project holds 10,000 tasks or more, read "
                          "with search_tasks, which does not list subscribers")

        def by_dates(low: dt.date, high: dt.date) -> list[Row]:
            query = (f"dateadd >= '{splitter.wire_date(low)}' and dateadd <= '{splitter.wire_date(high)}'")
            return self.src.rows("search_tasks", id_project=project, filter=query, extra=SEARCH_EXTRA)
        found = splitter.by_dates(by_dates, splitter.EARLIEST, self.today() + dt.timedelta(days=366), self.cap)
        for row in found:
            parent = row.get("parent")
            row["_parent"] = str(parent.get("id")) if isinstance(parent, dict) else None
        return found

    def _comments_of(self, task: str) -> None:
        try:
            rows = self.src.rows("get_comments", id_task=task, extra="files")
        except Unreachable:
            raise
        except SourceError as exc:
            self.state.failed("comments", task, "", str(exc))
            return
        self.out.comments(task, rows)
        for row in rows:
            self._plan_files(row.get("files"), "comment", str(row.get("id")))

    def _project_files(self, project: str) -> None:
        try:
            rows = self.src.rows("get_files", id_project=project)
        except Unreachable:
            raise
        except SourceError as exc:
            self.state.failed("project files", project, "", str(exc))
            return
        self._plan_files(rows, "project", project)

    def _costs(self) -> None:
        if "costs" in self.state.done:
            return
        self.progress.phase("costs", None)
        splitter.by_projects(
            lambda: self.src.rows("get_costs"),
            lambda p: self.src.rows("get_costs", id_project=p),
            lambda p, a, b: self.src.rows("get_costs", id_project=p, datestart=splitter.wire_date(a),
                                          dateend=splitter.wire_date(b)),
            self.state.plan.get("projects", []), self.cap, self.today(), self._write_costs)
        self.state.done.add("costs")
        self.checkpoint(with_ids=True)

    def _write_costs(self, rows: list[Row]) -> None:
        """One piece of the cost list, in chunks of COST_CHUNK rows (a transaction and a checkpoint each)."""
        for start in range(0, len(rows), COST_CHUNK):
            chunk = rows[start:start + COST_CHUNK]
            for orphan in self.out.costs(chunk):
                self.state.failed("cost", str(orphan.get("id")), str(orphan.get("comment", "")),
                                  f"its task {(orphan.get('task') or {}).get('id')} was not copied")
            self.progress.advance(len(chunk))
            self.checkpoint()

    def _file(self, file_id: str) -> None:
        if self.out.done("file", file_id):
            return
        entry = self.state.files[file_id]
        try:
            blob = self.src.download(file_id, self.out.db.settings.max_file_bytes)
        except Unreachable:
            raise
        except (FileGone, SourceError) as exc:
            self.state.failed("file", file_id, str(entry.get("name", "")), str(exc).removeprefix("download: "))
            return
        try:
            if not self.out.file(file_id, entry, blob):
                self.state.failed("file", file_id, str(entry.get("name", "")),
                                  f"its {entry['owner']} {entry['owner_id']} was not copied")
        finally:
            blob.unlink(missing_ok=True)

    def _plan_files(self, items: Any, owner: str, owner_id: str) -> None:
        for f in items or []:
            if not isinstance(f, dict) or not f.get("id"):
                continue
            fid = str(f["id"])
            if fid in self.state.files or self.out.done("file", fid):
                continue
            self.state.files[fid] = {"owner": owner, "owner_id": owner_id, "name": f.get("name", ""),
                                     "date_added": f.get("date_added"), "user_from": f.get("user_from")}

    # -- report --------------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """What was copied (per kind), what was not (per object, with the reason), and what it cost."""
        copied = {kind: len(self.out.ids.get(kind, {})) for kind in KINDS}
        return {"source": self.state.source, "account": self.state.account,
                "complete": self.complete(), "copied": copied, "not_copied": list(self.state.failures),
                "requests": self.state.requests, "throttled": self.src.stats.throttled,
                "retries": self.src.stats.retries}

    def complete(self) -> bool:
        st = self.state
        lists = {"tasks": "projects", "comments": "comments", "project files": "projects"}
        return ({"members", "tags", "projects", "costs"} <= st.done
                and all(st.cursor.get(k, 0) >= len(st.plan.get(v, [])) for k, v in lists.items())
                and st.cursor.get("files", 0) >= len(st.files))


def flatten(rows: Iterable[Row], parent: str | None = None) -> Iterable[Row]:
    """get_tasks rows with their `child` lists unrolled, each marked with its parent's source id."""
    for row in rows:
        children = row.pop("child", None) or []
        row["_parent"] = parent
        yield row
        yield from flatten(children, str(row.get("id")))


def parents_first(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """Rows ordered so that every parent comes before its subtasks; rows whose parent is missing apart."""
    ordered: list[Row] = []
    placed: set[str] = set()
    for level in range(3):
        for row in rows:
            rid, parent = str(row.get("id")), row.get("_parent")
            if rid in placed:
                continue
            if (level == 0 and not parent) or (parent and parent in placed):
                ordered.append(row)
                placed.add(rid)
    return ordered, [r for r in rows if str(r.get("id")) not in placed]
