"""Developer tooling: bulk data for benchmarks, wiping an account's data, per-account row counts.

seed_bulk writes with executemany (SQLite) or COPY (PostgreSQL) in one transaction and bypasses the ORM:
a million tasks must take seconds, not hours. The rows look like what the actions write (same columns,
same value formats), so every read action works on them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, Connection, Table, create_engine, delete, func, insert, or_, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from localsection import accounts, clock
from localsection.db import Database
from localsection.models import Account, Base, Cost, Project, ProjectMember, TagGroup, Task, User

CHUNK = 20_000
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
BULK_USERS = 4  # users besides the owner, so executives and cost authors vary


@dataclass
class SeedResult:
    account: str
    projects: list[int] = field(default_factory=list)
    tasks: int = 0
    costs: int = 0
    sample_task_ids: list[int] = field(default_factory=list)
    user_emails: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk_insert(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows in chunks: COPY on PostgreSQL, executemany elsewhere."""
    if conn.dialect.name == "postgresql":
        return _copy(conn, table, rows)
    count = 0
    for batch in _chunks(rows):
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _copy(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """PostgreSQL COPY FROM STDIN through the psycopg connection under this SQLAlchemy connection."""
    import orjson

    it = iter(rows)
    first = next(it, None)
    if first is None:
        return 0
    # COPY does not apply the models' Python-side defaults: send them for the columns the rows leave out.
    defaults = {c.name: cast(Any, c.default).arg for c in table.columns
                if c.name not in first and c.default is not None and getattr(c.default, "is_scalar", False)}
    names = list(first) + list(defaults)
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    cols = ", ".join(f'"{n}"' for n in names)
    raw: Any = conn.connection.driver_connection
    count = 0
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
        for row in itertools.chain([first], it):
            full = {**defaults, **row}
            copy.write_row([orjson.dumps(full[n]).decode() if n in json_cols else full[n] for n in names])
            count += 1
    return count


def _ensure_users(s: Session, account: Account) -> list[User]:
    """The owner plus BULK_USERS plain users (created once, reused by later seeds)."""
    users = list(s.scalars(select(User).where(User.account_id == account.id).order_by(User.id)))
    owner = next(u for u in users if u.id == account.owner_id)
    now = clock.now()
    for k in range(1, BULK_USERS + 1):
        email = f"bulk.user{k}@{account.name}.example.com"
        if not any(u.email == email for u in users):
            user = User(account_id=account.id, email=email, first_name="Bulk", last_name=f"User{k}",
                        team_id=owner.team_id, role="user", created_at=now)
            s.add(user)
            users.append(user)
    s.flush()
    return users


def _task_rows(account_id: int, project_ids: Sequence[int], user_ids: Sequence[int], n: int,
               start: int) -> Iterator[dict[str, Any]]:
    """Top-level tasks, spread evenly over the projects, with varied names, executives, dates and statuses."""
    now = clock.now()
    for i in range(n):
        word = WORDS[i % len(WORDS)]
        name = f"Bulk task {start + i} {word}"
        done = i % 5 == 4
        added = now - dt.timedelta(minutes=(n - i) * 7 % (730 * 24 * 60))
        yield {
            "account_id": account_id, "project_id": project_ids[i % len(project_ids)], "parent_id": None,
            "top_id": None, "depth": 0, "name": name, "name_folded": name.casefold(),
            "text": f"Description of task {start + i}", "todo": [], "mentions": [],
            "status": "done" if done else "active", "priority": i % 11, "user_from_id": user_ids[0],
            "user_to_id": user_ids[i % len(user_ids)] if i % 4 else None, "user_to_any": False,
            "hidden": False, "publish_at": None, "date_added": added,
            "date_start": added.date() if i % 2 else None,
            "date_end": (added + dt.timedelta(days=i % 30)).date() if i % 2 else None,
            "time_start": None, "time_end": None, "date_closed": added + dt.timedelta(days=1) if done else None,
            "max_time": None, "max_money": None,
        }


def folded(comment: str) -> dict[str, str]:
    """The searchable copy of a cost comment, when the schema has one."""
    return {"comment_folded": comment.casefold()} if "comment_folded" in Cost.__table__.c else {}


def _cost_rows(account_id: int, tasks: Sequence[tuple[int, int]], user_ids: Sequence[int],
               m: int) -> Iterator[dict[str, Any]]:
    """Cost rows spread over the tasks and the last year; minutes and cents vary so sums are not trivial."""
    today = clock.now().date()
    now = clock.now()
    for i in range(m):
        task_id, project_id = tasks[i % len(tasks)]
        yield {
            "account_id": account_id, "project_id": project_id, "task_id": task_id, "top_task_id": task_id,
            "user_id": user_ids[i % len(user_ids)], "minutes": 5 + i % 476, "money_cents": (i * 37) % 50_000,
            "comment": f"bulk cost {i}", **folded(f"bulk cost {i}"),
            "date": today - dt.timedelta(days=i % 365), "is_timer": i % 7 == 0,
            "created_at": now,
        }


def seed_bulk(db: Database, account_name: str, tasks: int, costs: int, projects: int | None = None) -> SeedResult:
    """Add `projects` projects holding `tasks` top-level tasks and `costs` cost rows to an existing account."""
    started = time.perf_counter()
    n_projects = projects if projects else max(1, tasks // 500)
    with db.session(write=True) as s:
        account = accounts.get_account(s, account_name)
        users = _ensure_users(s, account)
        user_ids = [u.id for u in users]
        result = SeedResult(account=account.name, user_emails=[u.email for u in users])
        now = clock.now()
        base = s.scalar(select(func.count()).select_from(Project).where(Project.account_id == account.id)) or 0
        new_projects = [Project(account_id=account.id, name=f"Bulk project {base + k + 1}", status="active",
                                user_from_id=user_ids[0], manager_id=user_ids[0], options={}, date_added=now)
                        for k in range(n_projects)]
        s.add_all(new_projects)
        s.flush()
        result.projects = [p.id for p in new_projects]
        conn = s.connection()
        _bulk_insert(conn, ProjectMember.__table__, ({"project_id": p, "user_id": u}  # type: ignore[arg-type]
                                                     for p in result.projects for u in user_ids))
        start = s.scalar(select(func.count()).select_from(Task).where(Task.account_id == account.id)) or 0
        result.tasks = _bulk_insert(conn, Task.__table__,  # type: ignore[arg-type]
                                    _task_rows(account.id, result.projects, user_ids, tasks, start + 1))
        if costs and tasks:
            pairs = [(int(r[0]), int(r[1])) for r in conn.execute(
                select(Task.id, Task.project_id).where(Task.project_id.in_(result.projects)).order_by(Task.id))]
            result.sample_task_ids = [t for t, _ in pairs[:10]]
            result.costs = _bulk_insert(conn, Cost.__table__,  # type: ignore[arg-type]
                                        _cost_rows(account.id, pairs, user_ids, costs))
        elif tasks:
            result.sample_task_ids = list(s.scalars(select(Task.id).where(Task.project_id.in_(result.projects[:1]))
                                                    .order_by(Task.id).limit(10)))
    result.seconds = round(time.perf_counter() - started, 2)
    return result


# -- per-account row filters (reset and isolation checks) ------------------------------------------

def _account_filter(table: Table, account_id: int) -> ColumnElement[bool] | None:
    """A WHERE clause selecting the table's rows that belong to the account (None: no link to an account)."""
    if "account_id" in table.c:
        return table.c.account_id == account_id
    # A link row belongs to the account when any of its parents does (e.g. a task tag: the task or the tag).
    links = [fk.parent.in_(select(fk.column).where(fk.column.table.c.account_id == account_id))
             for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name)
             if "account_id" in fk.column.table.c]
    return or_(*links) if links else None


def account_tables() -> list[Table]:
    """Every table that holds account-owned rows, parents first."""
    return [t for t in Base.metadata.sorted_tables if t.name != "accounts" and _account_filter(t, 0) is not None]


def row_counts(s: Session, account_id: int) -> dict[str, int]:
    """Rows per table that belong to the account."""
    out: dict[str, int] = {}
    for table in account_tables():
        where = _account_filter(table, account_id)
        assert where is not None
        out[table.name] = int(s.scalar(select(func.count()).select_from(table).where(where)) or 0)
    return out


def reset_account(db: Database, account_name: str) -> dict[str, int]:
    """Delete all of an account's data but the account, its owner and the owner's team, then give it back what
    creating it made: the default status group, when it had one (accounts.create_account). Returns rows deleted."""
    deleted: dict[str, int] = {}
    with db.session(write=True) as s:
        account = accounts.get_account(s, account_name)
        owner = s.get(User, account.owner_id) if account.owner_id else None
        keep = {"users": owner.id if owner else None, "teams": owner.team_id if owner else None}
        had_statuses = s.scalar(select(TagGroup.id).where(
            TagGroup.account_id == account.id, TagGroup.type == "status",
            TagGroup.title == accounts.DEFAULT_STATUS_GROUP).limit(1)) is not None
        for table in reversed(account_tables()):
            where = _account_filter(table, account.id)
            assert where is not None
            if keep.get(table.name) is not None:
                where = where & (table.c.id != keep[table.name])
            res = s.execute(delete(table).where(where))
            deleted[table.name] = int(getattr(res, "rowcount", 0) or 0)
        if had_statuses:
            accounts.add_default_statuses(s, account.id)
    return {k: v for k, v in deleted.items() if v}


def delete_account(db: Database, account_name: str) -> bool:
    """Delete an account and every row it owns, in one transaction; False when there is none of that name."""
    with db.session(write=True) as s:
        account = s.scalars(select(Account).where(Account.name == account_name.strip().lower())).first()
        if account is None:
            return False
        account.owner_id = None
        s.flush()
        for table in reversed(account_tables()):
            where = _account_filter(table, account.id)
            assert where is not None
            s.execute(delete(table).where(where))
        s.execute(delete(Account).where(Account.id == account.id))
    return True


def sqlalchemy_url(url: str) -> str:
    """postgresql://… -> postgresql+psycopg://… (psycopg 3); other URLs unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@contextmanager
def temporary_postgres_database(server_url: str, prefix: str = "ls_tmp") -> Iterator[str | None]:
    """The URL of a new, empty PostgreSQL database on that server, dropped afterwards (tests, benchmarks).

    Yields None when the server does not answer.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def create_postgres_database(url: str) -> bool:
    """Create the database a PostgreSQL URL names, connecting to the server's `postgres` database.

    Returns False when it existed already (another process may have created it a moment ago).
    """
    from sqlalchemy.engine import make_url

    target = make_url(sqlalchemy_url(url))
    name = target.database or ""
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                return False
            quoted = name.replace('"', '""')
            try:
                conn.execute(text(f'CREATE DATABASE "{quoted}"'))
            except ProgrammingError:  # created by another process in between
                return False
            return True
    finally:
        admin.dispose()
