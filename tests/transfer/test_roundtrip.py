"""Export an account with every kind of object, import it into a fresh server of the other database kind: every
read action answers identically, file bytes included (issue 16, item 1)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from localsection import accounts, clock
from localsection.models import Account, Task
from localsection.transfer import export, importer
from localsection.transfer.format import ArchiveError
from tests.helpers import Api
from tests.transfer.conftest import Target
from tests.transfer.world import READ_ACTIONS, answers, covered_actions, fill


def archive_of(api: Api) -> bytes:
    out = io.BytesIO()
    export.export(api.state.db, out, account=api.account)
    return out.getvalue()


def test_every_read_action_of_the_api_is_compared() -> None:
    assert set(READ_ACTIONS) <= covered_actions()


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """A running timer's elapsed time must not move between the two reads."""
    clock.freeze(True)
    yield
    clock.reset()


def test_a_round_trip_to_the_other_database_answers_every_read_action_identically(
        api: Api, other_target: Target, frozen_clock: None) -> None:
    world = fill(api)
    before = answers(api, world)
    refused = [k for k, v in before.items() if isinstance(v, dict) and v.get("status") != "ok"]
    assert not refused, [before[k] for k in refused]
    data = archive_of(api)
    result = importer.import_account(other_target.state.db, io.BytesIO(data), name=api.account)
    assert result.counts["tasks"] == 6 and result.files >= 3
    after = answers(other_target.api_for(api), world)
    assert sorted(after) == sorted(before)
    for key in before:
        assert after[key] == before[key], key
    # Writing after the import gets ids past the imported ones (sequences moved on PostgreSQL).
    target = other_target.api_for(api)
    new = target.ok("post_task", id_project=world.projects[0], title="New after import")
    assert int(new["id"]) > max(world.tasks)
    new_user = target.add_user("late@example.com")
    assert int(new_user["id"]) > 1001


def test_an_import_into_the_same_database_collides_and_changes_nothing(api: Api) -> None:
    fill(api)
    data = archive_of(api)
    with pytest.raises(importer.ImportRefused, match=r"id \d+ of table \w+ belongs to another account"):
        importer.import_account(api.state.db, io.BytesIO(data), name=api.account + "x")
    with api.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Account).where(Account.name == api.account + "x")) == 0


def test_an_existing_account_with_data_is_never_overwritten(api: Api, other: Api) -> None:
    fill(api)
    data = archive_of(api)
    other.ok("post_project", title="Mine")
    with pytest.raises(importer.ImportRefused, match=f"account {other.account} exists and holds data"):
        importer.import_account(api.state.db, io.BytesIO(data), name=other.account)
    assert [p["name"] for p in other.ok("get_projects")] == ["Mine"]


def test_a_damaged_archive_is_refused_and_nothing_is_written(api: Api, other_target: Target) -> None:
    fill(api)
    data = bytearray(archive_of(api))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ArchiveError):
        importer.import_account(other_target.state.db, io.BytesIO(bytes(data)), name=api.account)
    truncated = archive_of(api)[: len(data) // 2]
    with pytest.raises(ArchiveError):
        importer.import_account(other_target.state.db, io.BytesIO(truncated), name=api.account)
    with other_target.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 0
        assert s.scalar(select(func.count()).select_from(Account).where(Account.name == api.account)) == 0


def test_an_account_export_is_not_restored_as_a_server_dump(api: Api, other_target: Target) -> None:
    data = archive_of(api)
    with pytest.raises(ArchiveError, match="account export"):
        importer.import_server(other_target.state.db, io.BytesIO(data))


def test_an_import_fills_an_account_that_holds_only_what_creating_it_made(api: Api, other_target: Target) -> None:
    project = api.ok("post_project", title="Moved")
    api.ok("post_task", id_project=project["id"], title="Moved task")
    with other_target.state.db.session() as s:
        accounts.create_account(s, "landing", "someone@landing.example.com")
    importer.import_account(other_target.state.db, io.BytesIO(archive_of(api)), name="landing")
    moved = other_target.api_for(api, "landing")
    assert [t["name"] for t in moved.ok("get_all_tasks")] == ["Moved task"]
    assert [u["email"] for u in moved.ok("get_users")] == [api.owner_email]
