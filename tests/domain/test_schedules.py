"""domain.schedules called directly: days set and read back, all or nothing, readers refused."""

from __future__ import annotations

import datetime as dt

import pytest

from localsection import errors
from localsection.domain import schedules
from tests.helpers import Api


def test_days_are_set_counted_and_read_back(api: Api) -> None:
    api.add_user("kate@example.com")
    with api.ctx() as ctx:
        result = schedules.update_users_schedule(ctx, data={
            "kate@example.com": {"01.07.2024": "vacation", "2024-07-02": "Sick-Leave"},
            api.owner_email: {"06.07.2024": "workday"}})
    assert (result.added, result.updated) == (3, 0)
    with api.ctx() as ctx:
        result = schedules.update_users_schedule(ctx, data={"KATE@example.com": {
            "2024-07-01": "vacation", "2024-07-02": "unset", "2024-07-03": "unset"}})
    assert (result.added, result.updated) == (0, 1)
    with api.ctx("kate@example.com", write=False) as ctx:
        found = schedules.users_schedule(ctx, start=dt.date(2024, 7, 1), end=dt.date(2024, 7, 31))
        assert [(s.user.email, s.days) for s in found] == [
            (api.owner_email, {dt.date(2024, 7, 6): "workday"}),
            ("kate@example.com", {dt.date(2024, 7, 1): "vacation"})]
        [kate] = schedules.users_schedule(ctx, user_refs=["kate@example.com"])
        assert kate.days == {dt.date(2024, 7, 1): "vacation"}


@pytest.mark.parametrize(("data", "expected"), [
    ({"nobody@example.com": {"2024-07-01": "vacation"}}, (11, "Invalid email", "nobody@example.com")),
    ({"kate@example.com": {"2024-07-01": "holiday"}}, (11, "Invalid date", "holiday")),
    ({"kate@example.com": {"31.02.2024": "vacation"}}, (11, "Invalid date", "31.02.2024")),
])
def test_a_bad_entry_writes_nothing(api: Api, data: dict[str, dict[str, str]],
                                    expected: tuple[int, str, str]) -> None:
    api.add_user("kate@example.com")
    good = {"2024-07-05": "vacation"}
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        schedules.update_users_schedule(ctx, data={api.owner_email: good, **data})
    assert (exc.value.code, exc.value.message, exc.value.details) == expected
    with api.ctx(write=False) as ctx:
        assert schedules.users_schedule(ctx) == []


def test_readers_may_look_but_not_change(api: Api) -> None:
    api.add_user("rita@example.com", role="reader")
    with pytest.raises(errors.ApiError) as exc, api.ctx("rita@example.com") as ctx:
        schedules.update_users_schedule(ctx, data={"rita@example.com": {"2024-07-01": "vacation"}})
    assert (exc.value.code, exc.value.details) == (20, "role")
    with api.ctx("rita@example.com", write=False) as ctx:
        assert schedules.users_schedule(ctx) == []
