"""The `localsection` command line, run as `python -m localsection` in a subprocess on a fresh data directory."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from localsection.config import Settings
from localsection.db import Database
from localsection.models import Account, User
from localsection.passwords import verify_password


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
    env.update(LOCALSECTION_DATA_DIR=str(data_dir), LOCALSECTION_DURABILITY="normal")
    return subprocess.run([sys.executable, "-m", "localsection", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def run_json(data_dir: Path, *args: str) -> Any:
    out = run(data_dir, *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def db_of(data_dir: Path) -> Database:
    return Database(Settings(data_dir=data_dir))


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A data directory after `localsection init --json`, and what it printed."""
    data_dir = tmp_path_factory.mktemp("cli")
    return data_dir, run_json(data_dir, "init")


def test_init_prints_the_default_accounts_url_key_and_owner_credentials(initialised: tuple[Path, Any]) -> None:
    _, creds = initialised
    assert list(creds) == ["account", "url", "api_key", "owner"]
    assert list(creds["owner"]) == ["email", "password"]
    assert creds["url"] == "http://127.0.0.1:8000"
    assert len(creds["api_key"]) == 32
    assert creds["owner"]["password"]


def test_running_init_twice_keeps_the_same_account_and_key(initialised: tuple[Path, Any]) -> None:
    data_dir, first = initialised
    assert run_json(data_dir, "init") == first


def test_accounts_create_prints_the_same_shape_and_stores_the_owner(initialised: tuple[Path, Any]) -> None:
    data_dir, _ = initialised
    created = run_json(data_dir, "accounts", "create", "acme", "--owner-email", "Boss@Acme.com",
                       "--owner-password", "s3cret-pass")
    assert created == {"account": "acme", "url": "http://acme.localhost:8000", "api_key": created["api_key"],
                       "owner": {"email": "boss@acme.com", "password": "s3cret-pass"}}
    db = db_of(data_dir)
    with db.session(write=False) as s:
        account = s.scalars(select(Account).where(Account.name == "acme")).one()
        owner = s.get(User, account.owner_id)
        assert owner is not None
        assert (owner.role, account.api_key) == ("owner", created["api_key"])
        assert verify_password(owner.password_hash, "s3cret-pass")
    db.dispose()


@pytest.mark.parametrize(("name", "message"), [("localsection", "already exists"), ("Bad_Name!", "DNS label")])
def test_accounts_create_refuses_duplicate_and_invalid_names(initialised: tuple[Path, Any], name: str,
                                                             message: str) -> None:
    data_dir, _ = initialised
    out = run(data_dir, "accounts", "create", name, "--owner-email", "x@example.com", "--json")
    assert out.returncode != 0
    assert message in out.stderr
    assert out.stdout == ""


def test_rotate_key_prints_a_new_key_and_the_old_one_is_gone(initialised: tuple[Path, Any]) -> None:
    data_dir, creds = initialised
    rotated = run_json(data_dir, "accounts", "rotate-key", "localsection")
    assert rotated["account"] == "localsection"
    assert rotated["api_key"] != creds["api_key"]
    db = db_of(data_dir)
    with db.session(write=False) as s:
        assert s.scalars(select(Account.api_key).where(Account.name == "localsection")).one() == rotated["api_key"]
    db.dispose()


def test_users_set_password_changes_the_stored_hash(initialised: tuple[Path, Any]) -> None:
    data_dir, creds = initialised
    out = run(data_dir, "users", "set-password", "--account", "localsection", "--email", creds["owner"]["email"],
              "--password", "new-password-1")
    assert out.returncode == 0, out.stderr
    db = db_of(data_dir)
    with db.session(write=False) as s:
        owner = s.scalars(select(User).where(User.email == creds["owner"]["email"])).one()
        assert verify_password(owner.password_hash, "new-password-1")
    db.dispose()


def test_users_set_password_for_an_unknown_user_fails_clearly(initialised: tuple[Path, Any]) -> None:
    data_dir, _ = initialised
    out = run(data_dir, "users", "set-password", "--account", "localsection", "--email", "ghost@x.com",
              "--password", "p")
    assert out.returncode != 0
    assert "no user ghost@x.com" in out.stderr


def test_db_upgrade_creates_the_schema_in_an_empty_data_directory(tmp_path: Path) -> None:
    out = run(tmp_path, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    db = db_of(tmp_path)
    with db.session(write=False) as s:
        assert s.scalars(select(Account)).all() == []
    db.dispose()


def test_a_command_in_a_directory_without_data_says_which_database_it_created(tmp_path: Path) -> None:
    out = run(tmp_path / "data", "db", "upgrade")
    assert out.returncode == 0, out.stderr
    path = (tmp_path / "data" / "localsection.db").resolve()
    assert out.stderr.splitlines() == [f"using SQLite database at {path} (new)"]
    again = run(tmp_path / "data", "db", "upgrade")
    assert again.stderr == ""


def test_version_prints_the_package_version() -> None:
    out = run(Path("unused"), "--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"localsection {importlib.metadata.version('localsection')}"


def test_accounts_list_shows_each_account_its_url_owner_and_user_count(initialised: tuple[Path, Any]) -> None:
    data_dir, creds = initialised
    run_json(data_dir, "accounts", "create", "listed", "--owner-email", "boss@listed.test")
    rows = {r["name"]: r for r in run_json(data_dir, "accounts", "list")}
    assert rows["localsection"] == {"name": "localsection", "url": "http://127.0.0.1:8000",
                                    "owner_email": creds["owner"]["email"], "users": 1}
    assert rows["listed"] == {"name": "listed", "url": "http://listed.localhost:8000",
                              "owner_email": "boss@listed.test", "users": 1}
    text = run(data_dir, "accounts", "list").stdout.splitlines()
    assert text[0].split() == ["name", "url", "owner_email", "users"]
    assert ["listed", "http://listed.localhost:8000", "boss@listed.test", "1"] in [line.split() for line in text]


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the account `team` (owner boss@team.test)."""
    data_dir = tmp_path_factory.mktemp("team")
    run_json(data_dir, "accounts", "create", "team", "--owner-email", "boss@team.test")
    return data_dir


def emails_of(data_dir: Path, account: str) -> list[str]:
    db = db_of(data_dir)
    with db.session(write=False) as s:
        emails = list(s.scalars(select(User.email).join(Account, Account.id == User.account_id)
                                .where(Account.name == account).order_by(User.id)))
    db.dispose()
    return emails


def test_users_add_creates_a_user_as_add_user_does_and_users_list_shows_it(team: Path) -> None:
    added = run_json(team, "users", "add", "--account", "team", "--email", "Kate.Greenway@Team.test",
                     "--role", "admin", "--password", "pw-for-kate")
    assert added == {"id": added["id"], "email": "kate.greenway@team.test", "name": "kate greenway",
                     "role": "account admin"}
    named = run_json(team, "users", "add", "--account", "team", "--email", "lee@team.test", "--name",
                     "Lee Van Cleef")
    assert (named["name"], named["role"]) == ("Lee Van Cleef", "user")
    listed = run_json(team, "users", "list", "--account", "team")
    assert [u["email"] for u in listed] == ["boss@team.test", "kate.greenway@team.test", "lee@team.test"]
    db = db_of(team)
    with db.session(write=False) as s:
        kate = s.scalars(select(User).where(User.email == "kate.greenway@team.test")).one()
        boss = s.scalars(select(User).where(User.email == "boss@team.test")).one()
        assert kate.team_id == boss.team_id and kate.password_hash
        assert verify_password(kate.password_hash, "pw-for-kate")
    db.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "not-an-email"], "Invalid email"),
    (["--email", "x@team.test", "--role", "god"], "unknown role 'god'"),
    (["--email", "boss@team.test"], "already a user of account team"),
    (["--email", "x@team.test", "--password", ""], "--password must not be empty"),
])
def test_users_add_refuses_bad_input_in_one_line_and_adds_nobody(team: Path, args: list[str],
                                                                  message: str) -> None:
    before = emails_of(team, "team")
    out = run(team, "users", "add", "--account", "team", *args)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [out.stderr.strip()] and message in out.stderr
    assert emails_of(team, "team") == before


def test_users_list_of_an_unknown_account_fails_clearly(initialised: tuple[Path, Any]) -> None:
    out = run(initialised[0], "users", "list", "--account", "ghost")
    assert (out.returncode, out.stderr.strip()) == (2, "error: no account named ghost")
