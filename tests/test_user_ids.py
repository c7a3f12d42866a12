"""Real users never share an id with the pseudo users NOONE ("0", "1") and ANY ("2") (PROTOCOL.md §3.3).

New databases and new accounts give users ids from 1001 up; migration 0002 moves the users of an older database
out of the reserved range and rewrites every reference to them, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from starlette.testclient import TestClient

from localsection import accounts, bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.dev import temporary_postgres_database
from localsection.models import FIRST_USER_ID
from localsection.state import AppState
from tests.conftest import BACKENDS, PG_URL
from tests.factories import make_project, make_task
from tests.helpers import Api

NOONE = {"id": "1", "email": "NOONE", "name": "Executive isn't assigned"}
ANY = {"id": "2", "email": "ANY", "name": "Anyone"}
NOW = dt.datetime(2026, 11, 30, 9, 0)
API_KEY = "k" * 32


# -- new databases and new accounts ------------------------------------------------------------------------------

def test_a_new_accounts_owner_and_users_have_ids_above_the_reserved_range(api: Api) -> None:
    assert api.owner_id >= FIRST_USER_ID
    added = api.add_user("frank@example.com")
    assert int(added["id"]) > api.owner_id


def test_a_task_by_the_owner_assigned_to_nobody_or_anyone_tells_the_author_from_the_pseudo_users(api: Api) -> None:
    pid = make_project(api)
    nobody = api.ok("post_task", id_project=pid, title="Unassigned")
    anyone = api.ok("post_task", id_project=pid, title="Anyone's", email_user_to="ANY")
    assert nobody["user_from"]["id"] == anyone["user_from"]["id"] == str(api.owner_id)
    assert (nobody["user_to"], anyone["user_to"]) == (NOONE, ANY)
    assert {u["id"] for u in api.ok("get_users")}.isdisjoint({"0", "1", "2"})


def test_the_first_user_of_an_empty_database_gets_the_first_id(blank_db: Database) -> None:
    bootstrap.upgrade(blank_db)
    with blank_db.session() as s:
        first = accounts.create_account(s, "first", "owner@first.example.com", "pw-123456").owner.id
        second = accounts.create_account(s, "second", "owner@second.example.com", "pw-123456").owner.id
    assert (first, second) == (FIRST_USER_ID, FIRST_USER_ID + 1)


# -- migrating a database made by revision 0001 ------------------------------------------------------------------

@pytest.fixture(params=BACKENDS)
def blank_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database (no tables) on each backend."""
    if request.param == "postgres":
        with temporary_postgres_database(PG_URL, "ls_ids") as url:
            assert url is not None
            db = Database(Settings(data_dir=tmp_path, database_url=url, durability="normal"))
            yield db
            db.dispose()
    else:
        db = Database(Settings(data_dir=tmp_path, durability="normal"))
        yield db
        db.dispose()


def upgrade_to(db: Database, revision: str) -> None:
    cfg = bootstrap.alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _filler(column: sa.Column[Any]) -> Any:
    """A value for a NOT NULL column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return []
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return NOW
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.Integer | sa.Numeric):
        return 0
    return ""


def insert(conn: sa.Connection, table_name: str, /, **values: Any) -> None:
    """One row into the table as revision 0001 made it (reflected), required columns filled in."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    row = {c.name: _filler(c) for c in table.columns if not c.nullable and c.name not in values and c.name != "id"}
    conn.execute(table.insert().values(**{**row, **values}))


@dataclass
class OldWorld:
    """Ids of the rows made under revision 0001 (users 1 and 2 in the reserved range, 3 above it)."""

    owner: int = 1
    second: int = 2
    third: int = 3
    project: int = 10
    task: int = 20
    anyone_task: int = 21
    comment: int = 30
    event: int = 40


def seed_revision_0001(db: Database) -> OldWorld:
    """An account whose owner has id 1, and a reference to users 1 and 2 in every place that holds user ids."""
    w = OldWorld()
    owner_ref = {"id": "1", "email": "owner@old.example.com", "name": "Owner Old"}
    with db.engine.begin() as conn:
        insert(conn, "accounts", id=1, name="old", api_key=API_KEY, owner_id=w.owner, timezone="UTC",
               created_at=NOW)
        insert(conn, "teams", id=1, account_id=1, title="Old")
        for uid, email, first, role in ((w.owner, "owner@old.example.com", "Owner", "owner"),
                                        (w.second, "second@old.example.com", "Second", "user"),
                                        (w.third, "third@old.example.com", "Third", "user")):
            insert(conn, "users", id=uid, account_id=1, email=email, first_name=first, last_name="Old",
                   team_id=1, role=role, password_hash=None, is_active=True, created_at=NOW)
        insert(conn, "projects", id=w.project, account_id=1, name="Legacy", status="active",
               user_from_id=w.owner, manager_id=w.second, executive_id=w.owner, options={}, date_added=NOW)
        for uid in (w.owner, w.second, w.third):
            insert(conn, "project_members", project_id=w.project, user_id=uid)
        insert(conn, "tasks", id=w.task, account_id=1, project_id=w.project, name="Unassigned", status="active",
               priority=1, user_from_id=w.owner, user_to_id=None, user_to_any=False, hidden=True,
               text="Ask @second", mentions=[w.second, w.third], date_added=NOW)
        insert(conn, "tasks", id=w.anyone_task, account_id=1, project_id=w.project, name="Anyone's",
               status="active", priority=1, user_from_id=w.second, user_to_id=None, user_to_any=True,
               mentions=[str(w.owner)], date_added=NOW)
        for table in ("task_visibility", "task_subscribers"):
            insert(conn, table, task_id=w.task, user_id=w.owner)
            insert(conn, table, task_id=w.task, user_id=w.second)
        insert(conn, "comments", id=w.comment, account_id=1, task_id=w.task, text="Done?", user_from_id=w.second,
               mentions=[w.owner], hidden=True, date_added=NOW)
        insert(conn, "comment_visibility", comment_id=w.comment, user_id=w.owner)
        insert(conn, "costs", id=50, account_id=1, project_id=w.project, task_id=w.task, top_task_id=w.task,
               user_id=w.owner, minutes=90, money_cents=0, date=NOW.date(), created_at=NOW)
        insert(conn, "timers", id=51, account_id=1, user_id=w.second, task_id=w.task, started_at=NOW)
        insert(conn, "schedule_days", id=52, account_id=1, user_id=w.owner, day=NOW.date(), kind="vacation")
        insert(conn, "files", id=53, account_id=1, sha256="0" * 64, size=1, name="a.txt", task_id=w.task,
               user_from_id=w.second, date_added=NOW)
        insert(conn, "custom_fields", id=54, account_id=1, applies_to="task", name="Reviewer", type="user",
               options=[])
        insert(conn, "custom_field_values", field_id=54, object_id=w.task, value=w.second)
        insert(conn, "events", id=w.event, account_id=1, project_id=w.project, action="update",
               object_type="task", object_id=w.task, page=f"/project/{w.project}/{w.task}/", user_id=w.owner,
               new={"user_to": owner_ref, "users": [owner_ref, ANY]}, old={"user_to": NOONE}, date_added=NOW)
        insert(conn, "webhooks", id=55, account_id=1, url="http://127.0.0.1:9/hook", events="post_task",
               user_id=w.second, created_at=NOW)
        insert(conn, "oauth_apps", id=56, account_id=1, client_id="c" * 32, secret_hash="x", name="App",
               redirect_uris=[], created_at=NOW)
        insert(conn, "oauth_codes", id=57, code_hash="h" * 64, app_id=56, user_id=w.owner, scopes=[],
               redirect_uri="http://x/cb", expires_at=NOW)
        insert(conn, "oauth_refresh_tokens", id=58, token_hash="r" * 64, family="f", app_id=56,
               user_id=w.second, scopes=[], expires_at=NOW)
        _continue_sequences_after_explicit_ids(conn)
    return w


def _continue_sequences_after_explicit_ids(conn: sa.Connection) -> None:
    """PostgreSQL: rows inserted with explicit ids leave the sequences behind; move them on, as rows made by the
    server would have. Not the users sequence: the migration must cope with it lagging behind."""
    if conn.dialect.name != "postgresql":
        return
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        if table != "users" and "id" in {c["name"] for c in inspector.get_columns(table)}:
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))


def scalar(db: Database, sql: str) -> Any:
    with db.engine.connect() as conn:
        return conn.scalar(sa.text(sql))


def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def column(db: Database, sql: str) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.scalars(sa.text(sql)))


def test_upgrading_a_0001_database_moves_reserved_user_ids_and_every_reference(blank_db: Database) -> None:
    db = blank_db
    upgrade_to(db, "0001")
    w = seed_revision_0001(db)
    bootstrap.upgrade(db)

    users = {email: uid for uid, email in rows(db, "SELECT id, email FROM users")}
    owner, second = users["owner@old.example.com"], users["second@old.example.com"]
    assert min(users.values()) > 2 and len(users) == 3
    assert (owner, second, users["third@old.example.com"]) == (FIRST_USER_ID, FIRST_USER_ID + 1, w.third)
    assert scalar(db, "SELECT owner_id FROM accounts") == owner
    assert rows(db, "SELECT user_from_id, manager_id, executive_id FROM projects") == [(owner, second, owner)]
    assert sorted(column(db, "SELECT user_id FROM project_members")) == [w.third, owner, second]
    assert column(db, "SELECT user_from_id FROM tasks ORDER BY id") == [owner, second]
    assert column(db, "SELECT user_to_id FROM tasks ORDER BY id") == [None, None]
    for table in ("task_visibility", "task_subscribers"):
        assert sorted(column(db, f"SELECT user_id FROM {table}")) == [owner, second]
    assert column(db, "SELECT user_from_id FROM comments") == [second]
    assert column(db, "SELECT user_id FROM comment_visibility") == [owner]
    for table in ("costs", "schedule_days", "events", "oauth_codes"):
        assert column(db, f"SELECT user_id FROM {table}") == [owner], table
    for table in ("timers", "webhooks", "oauth_refresh_tokens"):
        assert column(db, f"SELECT user_id FROM {table}") == [second], table
    assert column(db, "SELECT user_from_id FROM files") == [second]

    with db.session(write=False) as s:
        from localsection.models import Comment, CustomFieldValue, Event, Task

        assert [t.mentions for t in s.scalars(sa.select(Task).order_by(Task.id))] == [
            [second, w.third], [str(owner)]]
        assert s.scalars(sa.select(Comment.mentions)).one() == [owner]
        assert s.scalars(sa.select(CustomFieldValue.value)).one() == second
        event = s.scalars(sa.select(Event)).one()
        moved_ref = {"id": str(owner), "email": "owner@old.example.com", "name": "Owner Old"}
        assert event.new == {"user_to": moved_ref, "users": [moved_ref, ANY]}
        assert event.old == {"user_to": NOONE}  # the pseudo user keeps its id


def test_after_the_upgrade_the_api_shows_the_moved_users_and_new_users_continue_above_them(
        blank_db: Database) -> None:
    upgrade_to(blank_db, "0001")
    w = seed_revision_0001(blank_db)
    settings = blank_db.settings.with_(allow_private_webhooks=True, run_webhook_worker=False)
    state = AppState(settings, blank_db)
    bootstrap.upgrade(blank_db)
    with TestClient(create_app(state=state), base_url="http://testserver") as client:
        api = Api(state, client, "old", 1, API_KEY, FIRST_USER_ID, "owner@old.example.com", "")
        task = api.ok("get_task", id_task=w.task, extra="text")
        assert task["user_from"] == {"id": str(FIRST_USER_ID), "email": "owner@old.example.com",
                                     "name": "Owner Old"}
        assert task["user_to"] == NOONE
        assert api.ok("get_task", id_task=w.anyone_task)["user_to"] == ANY
        assert api.ok("get_project", id_project=w.project)["user_to"]["id"] == str(FIRST_USER_ID + 1)  # manager
        assert {u["id"] for u in api.ok("get_users")} == {str(FIRST_USER_ID), str(FIRST_USER_ID + 1), "3"}
        added = api.add_user("fourth@old.example.com")
        assert int(added["id"]) == FIRST_USER_ID + 2
        with state.db.session() as s:
            new_owner = accounts.create_account(s, "fresh", "owner@fresh.example.com", "pw-123456").owner.id
        assert new_owner == FIRST_USER_ID + 3
        pid = make_project(api)
        assert api.ok("get_task", id_task=make_task(api, pid))["user_from"]["id"] == str(FIRST_USER_ID)


def test_upgrading_a_0001_database_without_users_in_the_reserved_range_changes_no_ids(
        blank_db: Database) -> None:
    upgrade_to(blank_db, "0001")
    with blank_db.engine.begin() as conn:
        insert(conn, "accounts", id=1, name="later", api_key=API_KEY, owner_id=7, timezone="UTC", created_at=NOW)
        insert(conn, "users", id=7, account_id=1, email="owner@later.example.com", role="owner",
               is_active=True, created_at=NOW)
        _continue_sequences_after_explicit_ids(conn)
    bootstrap.upgrade(blank_db)
    assert column(blank_db, "SELECT id FROM users") == [7]
    with blank_db.session() as s:
        assert accounts.create_account(s, "next", "owner@next.example.com", "pw-123456").owner.id == FIRST_USER_ID
