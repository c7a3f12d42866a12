"""The pytest plugin, run the way a user runs it: a test file of their own in a fresh pytest process (pytester),
with the official SDK, alone and under pytest-xdist (`-n 2`)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from localsection.dev import sqlalchemy_url
from localsection.testing import LocalsectionServer
from tests.conftest import PG_URL, _postgres_available

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

HEAD = '''
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from worksection.client import Client

OUT = Path(os.environ["PLUGIN_TEST_OUT"])


def record(localsection, name):
    entry = {"test": name, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "account": localsection.name,
             "server": localsection.control.base_url}
    (OUT / f"test-{name}.json").write_text(json.dumps(entry))
'''

FILE_A = '''


def test_admin_calls_through_the_path_url(localsection):
    record(localsection, "admin")
    assert localsection.url.endswith("/a/" + localsection.name)
    ws = Client(localsection.url).set_api_key(localsection.api_key)
    project = ws.projects.create("Website", {"email_manager": localsection.owner_email})
    task = ws.tasks.create(int(project.id), "Write the copy", {})
    assert [t.name for t in ws.tasks.list()] == ["Write the copy"] and task.id


def test_every_test_gets_an_empty_account_of_its_own(localsection):
    record(localsection, "fresh")
    ws = Client(localsection.url).set_api_key(localsection.api_key)
    assert ws.projects.list() == []
    assert [u.email for u in ws.members.list()] == [localsection.owner_email]

'''

FILE_B = '''
def test_an_oauth_token_works_and_the_sdk_refreshes_it_after_the_clock_moves(localsection):
    record(localsection, "token")
    token = localsection.token(scopes=["users_read", "projects_read"])
    user = Client(localsection.url).set_client(token.sdk_client_config()).set_access_token(token.as_dict())
    assert user.user.profile().email == localsection.owner_email
    before = localsection.clock.now()
    moved = localsection.clock.advance(25 * 3600)
    assert dt.timedelta(hours=25) <= moved - before < dt.timedelta(hours=25, minutes=1)
    assert user.user.profile().email == localsection.owner_email  # expired -> refreshed by the SDK -> retried
    assert user.get_access_token() != token.access_token
    admin = Client(localsection.url).set_api_key(localsection.api_key)
    assert admin.projects.create("After the move", {}).name == "After the move"


def test_reset_empties_the_account(localsection):
    record(localsection, "reset")
    ws = Client(localsection.url).set_api_key(localsection.api_key)
    ws.projects.create("Gone soon", {})
    localsection.reset()
    assert ws.projects.list() == []
'''

CONFTEST = '''
import json
import os
from pathlib import Path

import pytest

from localsection.testing import ControlError

OUT = Path(os.environ["PLUGIN_TEST_OUT"])


@pytest.fixture(scope="session", autouse=True)
def check_at_the_end(localsection_server):
    """Runs after the worker's last test, before its server stops: every test's account is gone, clock is back."""
    yield
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    mine = [json.loads(p.read_text()) for p in OUT.glob("test-*.json")]
    mine = [e for e in mine if e["server"] == localsection_server.url]
    for entry in mine:
        with pytest.raises(ControlError) as info:
            localsection_server.control.delete_account(entry["account"])
        assert info.value.status == 404
    offset = localsection_server.control.clock()["offset_seconds"]
    assert abs(offset) < 5, offset
    (OUT / f"after-{worker}.json").write_text(json.dumps({"checked": len(mine)}))
'''


Outcome = tuple[pytest.RunResult, list[dict[str, str]], dict[str, int]]


def run_inner(pytester: pytest.Pytester, tmp_path: Path, *args: str) -> Outcome:
    out = tmp_path / "out"
    out.mkdir()
    pytester.makepyfile(test_sdk_a=HEAD + FILE_A, test_sdk_b=HEAD + FILE_B)
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLUGIN_TEST_OUT", str(out))
        for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
            mp.delenv(name, raising=False)  # this suite may itself run under xdist
        result = pytester.runpytest_subprocess(*args, timeout=240)
    entries = [json.loads(p.read_text()) for p in sorted(out.glob("test-*.json"))]
    checked = {p.name[6:-5]: json.loads(p.read_text())["checked"] for p in out.glob("after-*.json")}
    return result, entries, checked


def test_the_fixtures_drive_the_official_sdk_and_clean_up_after_each_test(pytester: pytest.Pytester,
                                                                          tmp_path: Path) -> None:
    result, entries, checked = run_inner(pytester, tmp_path, "-p", "no:xdist")
    result.assert_outcomes(passed=4)
    assert len({e["account"] for e in entries}) == 4  # a fresh account per test
    assert len({e["server"] for e in entries}) == 1  # one server for the session
    assert checked == {"main": 4}  # all four accounts were deleted after their tests


def test_under_xdist_each_worker_has_a_server_of_its_own(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result, entries, checked = run_inner(pytester, tmp_path, "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=4)
    by_worker = {e["worker"]: e["server"] for e in entries}
    assert set(by_worker) == {"gw0", "gw1"}, entries  # loadfile: one test file per worker
    assert by_worker["gw0"] != by_worker["gw1"]  # a server per worker
    assert len({e["account"] for e in entries}) == 4
    assert checked == {"gw0": 2, "gw1": 2}


def test_the_fixtures_are_listed_and_nothing_starts_when_no_test_asks(pytester: pytest.Pytester) -> None:
    listed = pytester.runpytest_subprocess("--fixtures", "-p", "no:xdist")
    text = listed.stdout.str()
    assert "fixtures defined from localsection.testing.pytest_plugin" in text
    assert "localsection_server [session scope]" in text and "A fresh account on the session's server" in text
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    basetemp = pytester.path / "basetemp"
    result = pytester.runpytest_subprocess("-p", "no:xdist", f"--basetemp={basetemp}")
    result.assert_outcomes(passed=1)
    assert not list(basetemp.glob("localsection-*"))  # no server, no data directory


def test_an_already_running_server_is_used_by_url(pytester: pytest.Pytester, tmp_path: Path) -> None:
    with LocalsectionServer.start() as server:
        pytester.makepyfile(test_url=f'''
from worksection.client import Client

def test_uses_it(localsection_server, localsection):
    assert localsection_server.url == "{server.url}"
    assert localsection.url == "{server.url}/a/" + localsection.name
    assert Client(localsection.url).set_api_key(localsection.api_key).projects.list() == []
''')
        result = pytester.runpytest_subprocess("-p", "no:xdist", f"--localsection-url={server.url}")
        result.assert_outcomes(passed=1)
        log = server.log_path.read_text()
    assert "Traceback" not in log


def test_settings_reach_the_started_server_and_a_bad_one_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cap='''
import pytest
from worksection.client import Client
from worksection.exceptions.response_exception import ResponseException

def test_the_record_cap_is_on(localsection):
    ws = Client(localsection.url).set_api_key(localsection.api_key)
    pid = int(ws.projects.create("P", {}).id)
    for title in ("a", "b", "c"):
        ws.tasks.create(pid, title, {})
    with pytest.raises(ResponseException, match="Too many"):
        ws.call_admin_action("get_all_tasks")
''')
    pytester.makeini("[pytest]\nlocalsection_env =\n    LOCALSECTION_TIMEZONE=UTC\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--localsection-env", "LOCALSECTION_RECORD_CAP=2")
    result.assert_outcomes(passed=1)
    bad = pytester.runpytest_subprocess("-p", "no:xdist", "--localsection-env", "REALISTIC")
    assert bad.ret != 0
    bad.stderr.fnmatch_lines(["*'REALISTIC' is not a LOCALSECTION_*=VALUE setting*"])


@pytest.mark.skipif(not _postgres_available(), reason=f"PostgreSQL does not answer at {PG_URL}")
def test_the_server_runs_on_postgresql_with_a_database_per_worker(pytester: pytest.Pytester) -> None:
    prefix = f"ls_plugin_{uuid.uuid4().hex[:8]}"
    url = PG_URL.rsplit("/", 1)[0] + f"/{prefix}_{{worker}}"
    pytester.makepyfile(test_pg='''
from worksection.client import Client

def test_on_postgres(localsection_server, localsection):
    log = localsection_server.log_path.read_text()
    assert "PostgreSQL" in log or "postgresql" in log, log
    ws = Client(localsection.url).set_api_key(localsection.api_key)
    assert ws.projects.create("On PG", {}).name == "On PG"
''')
    admin = create_engine(sqlalchemy_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        result = pytester.runpytest_subprocess("-p", "no:xdist", f"--localsection-database-url={url}")
        result.assert_outcomes(passed=1)
        with admin.connect() as conn:
            names = list(conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                      {"p": prefix + "%"}).scalars())
        assert names == [f"{prefix}_main"]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_main" WITH (FORCE)'))
        admin.dispose()
