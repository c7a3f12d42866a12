"""`localsection export` / `import` as an operator runs them: stdout/stdin pipes, files, one-line refusals (exit 2)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from localsection.config import Settings
from localsection.db import Database
from localsection.models import Account
from localsection.transfer import export, format, importer
from localsection.transfer.format import read_members
from tests.factories import make_project, make_task
from tests.helpers import Api
from tests.transfer.conftest import Target


def run(data_dir: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
    env.update(LOCALSECTION_DATA_DIR=str(data_dir), LOCALSECTION_DURABILITY="normal")
    return subprocess.run([sys.executable, "-m", "localsection", *args], env=env, input=stdin, capture_output=True,
                          timeout=120, check=False)


def one_error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_export_to_stdout_imports_from_stdin_into_an_empty_server_and_refuses_a_second_time(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    assert run(src, "init").returncode == 0
    assert run(src, "dev", "seed-bulk", "--account", "localsection", "--tasks", "30", "--costs", "40").returncode == 0
    exported = run(src, "export", "--account", "localsection")
    assert exported.returncode == 0, exported.stderr
    lines = exported.stderr.decode().splitlines()  # no progress bar: stderr is not a terminal
    assert len(lines) == 1 and re.fullmatch(r"exported account localsection: \d+ rows, 0 files \(0.0 kB\)", lines[0])
    archive = exported.stdout
    imported = run(dst, "import", "--account", "localsection", stdin=archive)
    assert imported.returncode == 0, imported.stderr
    assert "imported account localsection: " in imported.stderr.decode()
    # The imported default account is the server's default, with the source's key.
    keys = []
    for data_dir in (src, dst):
        db = Database(Settings(data_dir=data_dir))
        with db.session(write=False) as s:
            keys.append(s.execute(select(Account.api_key, Account.is_default)).one())
        db.dispose()
    assert keys[0] == keys[1] and keys[1].is_default
    line = one_error_line(run(dst, "import", "--account", "localsection", stdin=archive))
    assert line == "error: account localsection exists and holds data: import into a new account name"


def test_refusals_are_one_line_and_leave_no_file_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "init").returncode == 0
    out = tmp_path / "out.tar.zst"
    assert one_error_line(run(data, "export", "--account", "nope", "--output", str(out))) == \
        "error: no account named nope"
    assert list(tmp_path.iterdir()) == [data]
    assert "not a localsection archive" in one_error_line(run(data, "import", "--account", "b", stdin=b"garbage"))
    assert "DNS label" in one_error_line(run(data, "import", "--account", "Bad Name!", stdin=b"x"))
    missing = one_error_line(run(data, "import", "--account", "b", "--input", str(tmp_path / "none")))
    assert missing.startswith("error: cannot read")


def test_large_tables_are_cut_into_bounded_members_that_read_back(api: Api, other_target: Target,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(format, "CHUNK_ROWS", 2)
    project = make_project(api, "Chunked")
    for i in range(7):
        make_task(api, project, f"Task {i}")
    buf = io.BytesIO()
    export.export(api.state.db, buf, account=api.account)
    names = []
    for member in read_members(io.BytesIO(buf.getvalue())):
        names.append(member.name)
        assert member.reader is not None
        member.reader.read()
    assert names[0] == "format.json" and names[-1] == "manifest.json"
    chunks = [n for n in names if n.startswith("tables/tasks/")]
    assert chunks == [f"tables/tasks/00000{i}.ndjson" for i in (1, 2, 3, 4)]
    importer.import_account(other_target.state.db, io.BytesIO(buf.getvalue()), name=api.account)
    target = other_target.api_for(api)
    assert sorted(t["name"] for t in target.ok("get_all_tasks")) == [f"Task {i}" for i in range(7)]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal_and_nothing_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from localsection.cli.transfer import progress_bar

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar("export acme") as bar:
        assert bar is None
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    with progress_bar("export acme") as bar:
        assert bar is not None
        bar("rows of tasks", 50, 100)
        bar("rows of costs", 100, 100)
    assert "export acme" in terminal.getvalue()
