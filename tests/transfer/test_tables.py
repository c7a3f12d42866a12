"""The export's table list is derived from models.py: a new table is covered, or the test says which is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

from localsection.models import Base
from localsection.transfer import tables


@pytest.fixture
def scratch() -> Iterator[list[Table]]:
    added: list[Table] = []
    yield added
    for table in added:
        Base.metadata.remove(table)


def test_every_table_of_models_is_exported_or_named_server_only() -> None:
    assert tables.uncovered_tables() == []
    names = [s.name for s in tables.exported_tables()]
    assert names[0] == "accounts"
    for expected in ("users", "teams", "contacts", "contact_folders", "projects", "project_folders",
                     "project_members", "tasks", "task_visibility", "task_subscribers", "task_relations", "comments",
                     "comment_visibility", "tag_groups", "tags", "task_tags", "project_tags", "costs", "timers",
                     "files", "custom_fields", "custom_field_values", "schedule_days", "webhooks", "webhook_outbox",
                     "webhook_deliveries", "events", "oauth_apps", "oauth_codes", "oauth_refresh_tokens"):
        assert expected in names
    # Parents come before the rows that point at them.
    assert names.index("tasks") < names.index("comments") < names.index("files")


def test_a_new_table_without_a_path_to_an_account_is_reported(scratch: list[Table]) -> None:
    scratch.append(Table("xfer_orphans", Base.metadata, Column("id", Integer, primary_key=True),
                         Column("note", String(10))))
    assert tables.uncovered_tables() == ["xfer_orphans"]


def test_a_new_table_tied_to_an_account_is_exported_without_a_change(scratch: list[Table]) -> None:
    scratch.append(Table("xfer_notes", Base.metadata, Column("id", Integer, primary_key=True),
                         Column("task_id", BigInteger, ForeignKey("tasks.id"))))
    scratch.append(Table("xfer_note_marks", Base.metadata, Column("id", Integer, primary_key=True),
                         Column("note_id", BigInteger, ForeignKey("xfer_notes.id"))))
    assert tables.uncovered_tables() == []
    names = [s.name for s in tables.exported_tables()]
    assert names.index("tasks") < names.index("xfer_notes") < names.index("xfer_note_marks")
    sql = str(tables.rows_of(next(s for s in tables.exported_tables() if s.name == "xfer_note_marks"), 7))
    assert "xfer_notes" in sql and "tasks" in sql
