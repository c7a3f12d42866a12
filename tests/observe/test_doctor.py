"""`localsection doctor`: an ok line for each check of a healthy deployment, and a fail (or warn) line that says
what to fix for every problem we can provoke; exit 0 without failures, 1 with one, 2 for bad usage."""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from localsection import bootstrap, tokens
from localsection.cli import app
from localsection.config import Settings
from localsection.db import Database
from localsection.dev import temporary_postgres_database
from tests.conftest import BACKENDS, PG_URL

doctor_module = importlib.import_module("localsection.cli.doctor")  # the package's `doctor` is the command
HEAD = ScriptDirectory(str(bootstrap.MIGRATIONS)).get_current_head()
NAMES = ["data dir", "key", "database", "migrations", "clock", "disk", "sqlite", "exposure"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LOCALSECTION_") and not name.startswith("LOCALSECTION_TEST_"):
            monkeypatch.delenv(name)


def deploy(data_dir: Path, database_url: str = "", revision: str = "head") -> Settings:
    """A deployment as `serve` leaves it: migrated (to `revision`), with its signing key."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    db = Database(settings)
    try:
        if revision == "head":
            bootstrap.upgrade(db)
        else:
            cfg = bootstrap.alembic_config(db)
            with db.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
    finally:
        db.dispose()
    tokens.signing_key(settings)
    return settings


def run(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["doctor", *args], env=env)
    return result.exit_code, result.output.splitlines()


def line(lines: list[str], name: str) -> str:
    found = [x for x in lines if x[6:6 + len(name)] == name]
    assert found, lines
    return found[0]


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    deploy(tmp_path / "data")
    return {"LOCALSECTION_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def postgres_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    if "postgres" not in BACKENDS:
        pytest.skip("PostgreSQL does not answer")
    with temporary_postgres_database(PG_URL, "ls_doctor") as url:
        assert url is not None
        deploy(tmp_path / "data", url)
        yield {"LOCALSECTION_DATA_DIR": str(tmp_path / "data"), "LOCALSECTION_DATABASE_URL": url}


def test_a_healthy_sqlite_deployment_is_one_ok_line_per_check(sqlite_env: dict[str, str]) -> None:
    code, lines = run(sqlite_env)
    assert code == 0, lines
    assert [x[6:16].strip() for x in lines] == NAMES
    assert all(x.startswith("ok    ") for x in lines), lines
    assert "mode 0700" in line(lines, "data dir") and f"at head ({HEAD})" in line(lines, "migrations")


def test_a_healthy_postgres_deployment_compares_the_clocks(postgres_env: dict[str, str]) -> None:
    code, lines = run(postgres_env)
    assert code == 0, lines
    assert "PostgreSQL at" in line(lines, "database") and "differ by" in line(lines, "clock")
    assert all(not x.startswith("fail") for x in lines)


def test_postgres_without_the_shared_store_says_each_process_counts_alone(postgres_env: dict[str, str]) -> None:
    code, lines = run(postgres_env)
    assert code == 0 and [x[6:16].strip() for x in lines] == [*NAMES[:6], "redis", "exposure"]
    assert line(lines, "redis").startswith("ok    redis       not set: each server process counts rate limits")


def test_a_shared_store_that_answers_is_ok(sqlite_env: dict[str, str], redis_url: str) -> None:
    code, lines = run(sqlite_env | {"LOCALSECTION_REDIS_URL": redis_url, "LOCALSECTION_REDIS_PREFIX": "team:"})
    assert code == 0, lines
    redis_line = line(lines, "redis")
    assert redis_line.startswith("ok    redis       Redis at ") and "answers (version " in redis_line
    assert "prefix 'team:'" in redis_line


@pytest.mark.parametrize("url", ["redis://:s3cret-pw@127.0.0.1:1/0", "unix:///nonexistent/redis.sock"])
def test_a_shared_store_that_does_not_answer_fails_without_showing_its_password(
        sqlite_env: dict[str, str], url: str) -> None:
    code, lines = run(sqlite_env | {"LOCALSECTION_REDIS_URL": url})
    assert code == 1
    redis_line = line(lines, "redis")
    assert redis_line.startswith("fail  redis       Redis at ") and "does not answer as the shared store" in redis_line
    assert "fix: start Redis, or fix LOCALSECTION_REDIS_URL" in redis_line
    assert "s3cret" not in "\n".join(lines)


def test_a_redis_database_that_does_not_exist_fails(sqlite_env: dict[str, str], redis_url: str) -> None:
    server = redis_url.split("://", 1)[1].split("/", 1)[0]
    code, lines = run(sqlite_env | {"LOCALSECTION_REDIS_URL": f"redis://{server}/999"})
    assert code == 1, lines
    assert line(lines, "redis").startswith(f"fail  redis       Redis at {server}/999 does not answer"), lines


def test_json_output(sqlite_env: dict[str, str]) -> None:
    code, lines = run(sqlite_env, "--json")
    body = json.loads("\n".join(lines))
    assert code == 0 and body["ok"] is True and [c["name"] for c in body["checks"]] == NAMES


def test_a_data_dir_others_can_read_fails(sqlite_env: dict[str, str]) -> None:
    data = Path(sqlite_env["LOCALSECTION_DATA_DIR"])
    data.chmod(0o755)
    code, lines = run(sqlite_env)
    assert code == 1
    assert line(lines, "data dir").startswith("fail") and f"fix: chmod 700 {data.resolve()}" in lines[0]


def test_a_readable_key_or_credentials_file_fails(sqlite_env: dict[str, str]) -> None:
    data = Path(sqlite_env["LOCALSECTION_DATA_DIR"])
    (data / "oauth_signing_key.pem").chmod(0o644)
    (data / "localsection.db").chmod(0o644)
    code, lines = run(sqlite_env)
    assert code == 1
    assert line(lines, "key").startswith("fail") and "chmod 600" in line(lines, "key")
    assert any(x.startswith("fail  data dir") and "localsection.db has mode 0644" in x for x in lines)


def test_a_missing_or_broken_configured_key_fails(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    code, lines = run({**sqlite_env, "LOCALSECTION_OAUTH_PRIVATE_KEY_FILE": str(tmp_path / "nope.pem")})
    assert code == 1 and "no such file" in line(lines, "key") and line(lines, "key").startswith("fail")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    junk.chmod(0o600)
    code, lines = run({**sqlite_env, "LOCALSECTION_OAUTH_PRIVATE_KEY_FILE": str(junk)})
    assert code == 1 and "is not a PEM private key" in line(lines, "key")


def test_no_database_fails_and_the_doctor_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, lines = run({"LOCALSECTION_DATA_DIR": str(data)})
    assert code == 1
    assert line(lines, "data dir").startswith("fail") and "does not exist" in line(lines, "data dir")
    assert line(lines, "database").startswith("fail") and "localsection db upgrade" in line(lines, "database")
    assert not data.exists()


def test_a_database_behind_the_code_fails_with_the_upgrade_command(tmp_path: Path) -> None:
    deploy(tmp_path / "data", revision="0001")
    code, lines = run({"LOCALSECTION_DATA_DIR": str(tmp_path / "data")})
    assert code == 1
    assert line(lines, "migrations") == (f"fail  migrations  the database is at 0001, this version needs {HEAD} — fix: "
                                         "run `localsection db upgrade` once, before starting the servers")


def test_an_unreachable_postgres_fails(tmp_path: Path) -> None:
    deploy(tmp_path / "data")
    code, lines = run({"LOCALSECTION_DATA_DIR": str(tmp_path / "data"),
                       "LOCALSECTION_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert code == 1 and line(lines, "database").startswith("fail  database    PostgreSQL at 127.0.0.1:1/none")
    assert "migrations" not in "\n".join(lines)


@pytest.mark.parametrize(("skew", "status"), [(10.0, "warn"), (-120.0, "fail")])
def test_a_clock_apart_from_postgres_warns_then_fails(postgres_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                      skew: float, status: str) -> None:
    real = doctor_module.local_now
    monkeypatch.setattr(doctor_module, "local_now", lambda: real() + skew)
    code, lines = run(postgres_env)
    assert line(lines, "clock").startswith(status) and "NTP" in line(lines, "clock")
    assert code == (1 if status == "fail" else 0)


def test_a_clock_in_1970_fails(sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor_module, "local_now", lambda: 86400.0)
    code, lines = run(sqlite_env)
    assert code == 1 and "1970-01-02" in line(lines, "clock")


@pytest.mark.parametrize(("free", "status"), [(100 * 1024**2, "fail"), (1024**3, "warn")])
def test_low_disk_space_warns_then_fails(sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                         free: int, status: str) -> None:
    monkeypatch.setattr(doctor_module, "disk_usage", lambda _path: (100 * 1024**3, free))
    code, lines = run(sqlite_env)
    assert line(lines, "disk").startswith(status) and "free space" in line(lines, "disk")
    assert code == (1 if status == "fail" else 0)


def test_sqlite_outside_wal_or_with_synchronous_normal_warns(sqlite_env: dict[str, str]) -> None:
    code, lines = run({**sqlite_env, "LOCALSECTION_DURABILITY": "normal"})
    assert code == 0 and line(lines, "sqlite").startswith("warn") and "synchronous=NORMAL" in line(lines, "sqlite")
    conn = sqlite3.connect(Path(sqlite_env["LOCALSECTION_DATA_DIR"]) / "localsection.db")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    code, lines = run(sqlite_env)
    assert code == 0 and line(lines, "sqlite").startswith("warn  sqlite      journal_mode=delete")


def test_risky_settings_fail_on_a_public_host_and_warn_on_loopback(sqlite_env: dict[str, str]) -> None:
    code, lines = run({**sqlite_env, "LOCALSECTION_EMULATOR": "1", "LOCALSECTION_HOST": "0.0.0.0",
                       "LOCALSECTION_UNSAFE_TEST_CLOCK": "1", "LOCALSECTION_ALLOW_PRIVATE_WEBHOOKS": "1"})
    exposure = [x for x in lines if x[6:14] == "exposure"]
    assert code == 1
    assert [x[:4] for x in exposure] == ["fail", "fail", "warn", "warn"]
    assert "control API" in exposure[0] and "LOCALSECTION_UNSAFE_TEST_CLOCK" in exposure[1]
    code, lines = run({**sqlite_env, "LOCALSECTION_EMULATOR": "1"})
    assert code == 0 and line(lines, "exposure").startswith("warn") and "control API" in line(lines, "exposure")
    code, lines = run({**sqlite_env, "LOCALSECTION_METRICS": "on", "LOCALSECTION_TRUSTED_PROXIES": "0.0.0.0/0"})
    assert code == 0 and line(lines, "exposure").startswith("warn  exposure    /metrics is served to 0.0.0.0/0")


def test_bad_usage_and_bad_settings_exit_2(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")},
           "LOCALSECTION_DATA_DIR": str(tmp_path)}
    bad_option = subprocess.run([sys.executable, "-m", "localsection", "doctor", "--bogus"], env=env,
                                capture_output=True, text=True, timeout=60)
    assert bad_option.returncode == 2 and "--bogus" in bad_option.stderr
    bad_setting = subprocess.run([sys.executable, "-m", "localsection", "doctor"],
                                 env={**env, "LOCALSECTION_METRICS": "maybe"}, capture_output=True, text=True,
                                 timeout=60)
    assert bad_setting.returncode == 2
    assert bad_setting.stderr.startswith("error: LOCALSECTION_METRICS='maybe' is invalid")
