"""`localsection migrate` as a user runs it: killed in the middle and run again, refusals, the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from localsection.config import Settings
from localsection.db import Database
from localsection.models import Account, Comment, Cost, StoredFile, Task
from tests.conftest import new_account_name
from tests.migrate.conftest import SEED, make_source


def cli_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "LOCALSECTION_DATA_DIR": str(data_dir)}
    env.pop("LOCALSECTION_DATABASE_URL", None)
    return env


def command(src_url: str, key: str, account: str) -> list[str]:
    return [sys.executable, "-m", "localsection", "migrate", "--from", src_url, "--api-key", key,
            "--account", account]


def test_a_killed_migration_run_again_finishes_without_duplicates_honours_a_429_and_reports_a_lost_file(
        source_server: str, tmp_path: Path) -> None:
    src = make_source(source_server, new_account_name(), SEED, realistic=True)
    for fault in ({"action": "download", "account": src.name, "status_code": 4, "message": "File not found",
                   "times": 1},
                  {"action": "get_costs", "account": src.name, "http_status": 429, "retry_after": 2, "times": 1}):
        assert httpx.post(f"{source_server}/_localsection/faults", json=fault, timeout=10).status_code == 201
    data = tmp_path / "target"
    env = cli_env(data)
    state = data / "migrate-acme.json"
    proc = subprocess.Popen(command(src.url, src.api_key, "acme"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once the first project's tasks are in
        if state.exists() and json.loads(state.read_text()).get("cursor", {}).get("tasks", 0) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert json.loads(state.read_text())["cursor"].get("files", 0) == 0  # it was stopped half way

    done = subprocess.run(command(src.url, src.api_key, "acme"), env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "migrated:" in done.stdout and "not copied: 1" in done.stdout
    report = json.loads((data / "migrate-acme.report.json").read_text())
    assert report["complete"] is True
    # the injected 429 was waited out, then get_costs answered (on a loaded machine the realistic source may
    # refuse one more request that arrived a little early: that one is waited out too)
    assert report["throttled"] >= 1 and report["retries"] >= 1 and report["throttled"] == report["retries"]
    assert report["copied"] | {"file": 1} == report["copied"]
    assert report["copied"]["task"] == 6 and report["copied"]["comment"] == 3 and report["copied"]["cost"] == 3
    [lost] = report["not_copied"]
    assert lost["kind"] == "file" and lost["reason"] == "File not found" and lost["name"] in ("brief.txt",
                                                                                              "draft.png")

    db = Database(Settings(data_dir=data))
    with db.session(write=False) as s:
        acc = s.scalars(select(Account).where(Account.name == "acme")).one()
        counts = {m.__name__: s.scalar(select(func.count()).select_from(m).where(m.account_id == acc.id))
                  for m in (Task, Comment, Cost, StoredFile)}
    db.dispose()
    assert counts == {"Task": 6, "Comment": 3, "Cost": 3, "StoredFile": 1}

    again = subprocess.run(command(src.url, src.api_key, "acme"), env=env, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0 and "migrated:" in again.stdout  # a finished migration stays finished


def test_an_account_that_already_holds_data_is_refused_with_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    subprocess.run([sys.executable, "-m", "localsection", "accounts", "create", "busy", "--owner-email",
                    "boss@busy.test"], env=env, check=True, capture_output=True, timeout=60)
    subprocess.run([sys.executable, "-m", "localsection", "users", "add", "--account", "busy", "--email",
                    "kate@busy.test"], env=env, check=True, capture_output=True, timeout=60)
    out = subprocess.run(command("http://127.0.0.1:9", "key", "busy"), env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == ("error: account busy already exists and is not empty; "
                                                   "migrate into a new account (choose another --account)")
    assert "Traceback" not in out.stderr


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    for args, text in ((["--from", "acme.worksection.com"], "--from must be an http(s) URL"),
                       (["--from", "https://a.worksection.com", "--rate", "0"], "--rate must be above 0"),
                       (["--from", "https://a.worksection.com", "--timezone", "Mars/Base"], "unknown time zone")):
        out = subprocess.run([sys.executable, "-m", "localsection", "migrate", "--api-key", "k", "--account",
                              "new", *args], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out.stderr
        assert text in out.stderr and "Traceback" not in out.stderr


def test_a_wrong_api_key_is_a_one_line_error_and_creates_nothing(source_server: str, tmp_path: Path) -> None:
    src = make_source(source_server, new_account_name(), {}, realistic=False)
    data = tmp_path / "data"
    out = subprocess.run(command(src.url, "0" * 32, "acme"), env=cli_env(data), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == ("error: the source refused: get_users: Action hash is missed or "
                                                   "invalid (check --from and --api-key)")
    db = Database(Settings(data_dir=data))
    with db.session(write=False) as s:
        assert s.scalars(select(Account).where(Account.name == "acme")).first() is None
    db.dispose()
