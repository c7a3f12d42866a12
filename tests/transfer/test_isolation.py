"""A crafted account archive cannot put rows into, or point at rows of, another account of the target database."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from localsection import dev
from localsection.transfer import export, importer
from localsection.transfer.format import ArchiveWriter, read_members
from tests.factories import make_project, make_task
from tests.helpers import Api

Edit = Callable[[str, dict[str, Any]], dict[str, Any]]


def rewritten(data: bytes, table: str, edit: Edit) -> bytes:
    """The archive with `edit` applied to every row of `table`, its manifest's checksums made to match."""
    out = io.BytesIO()
    writer = ArchiveWriter(out)
    for member in read_members(io.BytesIO(data)):
        assert member.reader is not None
        body = member.reader.read()
        if member.name == "manifest.json":
            manifest = orjson.loads(body)
            manifest["members"] = {k: v.as_dict() for k, v in writer.members.items()}
            writer.add_json("manifest.json", manifest)
        elif member.kind == "table":
            rows = [orjson.loads(line) for line in body.splitlines()]
            rows = [edit(table, r) for r in rows] if member.table == table else rows
            writer.add_bytes(member.name, b"\n".join(orjson.dumps(r) for r in rows) + b"\n", rows=len(rows))
        else:
            writer.add_bytes(member.name, body)
    writer.close()
    return out.getvalue()


@pytest.fixture
def exported(api: Api) -> bytes:
    project = make_project(api, "Mine", members=[api.owner_id])
    make_task(api, project, "Mine too")
    buf = io.BytesIO()
    export.export(api.state.db, buf, account=api.account)
    assert dev.delete_account(api.state.db, api.account)  # its ids are free again in this database
    return buf.getvalue()


def test_an_unchanged_archive_goes_back_in(api: Api, exported: bytes) -> None:
    importer.import_account(api.state.db, io.BytesIO(rewritten(exported, "tasks", lambda t, r: r)), name=api.account)
    assert [t["name"] for t in api.ok("get_all_tasks")] == ["Mine too"]


def test_rows_of_another_account_are_refused_and_nothing_is_written(api: Api, other: Api, exported: bytes) -> None:
    crafted = rewritten(exported, "tasks", lambda t, r: {**r, "account_id": other.account_id})
    with pytest.raises(importer.ImportRefused, match="table tasks: 1 rows of the archive belong to another account"):
        importer.import_account(api.state.db, io.BytesIO(crafted), name=api.account)
    assert other.ok("get_all_tasks") == []
    with api.state.db.session(write=False) as s:
        assert dev.row_counts(s, api.account_id) == dict.fromkeys(dev.row_counts(s, api.account_id), 0)


def test_links_to_rows_of_another_account_are_refused(api: Api, other: Api, exported: bytes) -> None:
    crafted = rewritten(exported, "project_members", lambda t, r: {**r, "user_id": other.owner_id})
    with pytest.raises(importer.ImportRefused, match="project_members: 1 rows point at users rows of another"):
        importer.import_account(api.state.db, io.BytesIO(crafted), name=api.account)
