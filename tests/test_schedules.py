"""get_users_schedule / update_users_schedule (PROTOCOL.md §4.1)."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.helpers import Api


def _update(api: Api, data: object) -> str:
    body = api.call("update_users_schedule", data=data)
    assert body["status"] == "ok" and body["data"] == [], body
    assert list(body) == ["status", "data", "message"]
    return str(body["message"])


def test_days_are_set_in_both_date_formats_and_listed_per_user(api: Api) -> None:
    kate = api.add_user("kate@example.com", group="Design", department="UX")
    msg = _update(api, {"kate@example.com": {"01.07.2025": "vacation", "2025-07-02": "sick-leave"},
                        api.owner_id: {"2025-07-05": "workday"}})
    assert msg == "Days added: 3, days updated: 0"
    data = api.ok("get_users_schedule")
    assert [u["email"] for u in data] == [api.owner_email, "kate@example.com"]
    assert data[1] == {"id": kate["id"], "email": "kate@example.com", "name": kate["name"], "group": "Design",
                       "department": "UX",
                       "schedule": {"2025-07-01": "vacation", "2025-07-02": "sick-leave"},
                       "dates": {"2025-07-01": "vacation", "2025-07-02": "sick-leave"}}


def test_new_values_overwrite_and_unset_removes_and_the_message_counts_both(api: Api) -> None:
    api.add_user("kate@example.com")
    _update(api, {"kate@example.com": {"2025-07-01": "vacation", "2025-07-02": "vacation"}})
    msg = _update(api, {"kate@example.com": {"2025-07-01": "sick-leave", "2025-07-02": "unset",
                                             "2025-07-03": "workday", "2025-07-04": "unset"}})
    assert msg == "Days added: 1, days updated: 2"
    assert _update(api, {"kate@example.com": {"2025-07-01": "sick-leave"}}) == "Days added: 0, days updated: 0"
    assert api.ok("get_users_schedule")[0]["dates"] == {"2025-07-01": "sick-leave", "2025-07-03": "workday"}


def test_the_range_and_the_users_filter_select_what_is_listed(api: Api) -> None:
    kate = api.add_user("kate@example.com")
    api.add_user("bob@example.com")
    _update(api, {"kate@example.com": {"2025-06-30": "vacation", "2025-07-01": "vacation"},
                  "bob@example.com": {"2025-08-01": "vacation"}})
    data = api.ok("get_users_schedule", datestart="01.07.2025", dateend="2025-07-31")
    assert [(u["email"], u["dates"]) for u in data] == [("kate@example.com", {"2025-07-01": "vacation"})]
    assert [u["email"] for u in api.ok("get_users_schedule", users=["bob@example.com", kate["id"]])] == [
        "kate@example.com", "bob@example.com"]
    assert [u["email"] for u in api.ok("get_users_schedule", users="BOB@example.com")] == ["bob@example.com"]
    assert api.call("get_users_schedule", users=api.owner_email) == {"status": "ok", "data": []}


def test_data_may_be_a_json_string_in_the_query_or_php_style_form_keys(api: Api) -> None:
    api.add_user("kate@example.com")
    data = urllib.parse.quote(json.dumps({"kate@example.com": {"10.07.2025": "vacation"}}))
    body = api.md5_get(f"action=update_users_schedule&data={data}")
    assert body == {"status": "ok", "data": [], "message": "Days added: 1, days updated: 0"}
    form = urllib.parse.quote("data[kate@example.com][11.07.2025]")
    assert api.md5_get(f"action=update_users_schedule&{form}=workday")["message"] == "Days added: 1, days updated: 0"
    assert api.md5_get("action=get_users_schedule&users=kate@example.com")["data"][0]["dates"] == {
        "2025-07-10": "vacation", "2025-07-11": "workday"}


@pytest.mark.parametrize(("data", "code", "message", "details"), [
    ({"nobody@example.com": {"2025-07-01": "vacation"}}, 11, "Invalid email", "nobody@example.com"),
    ({"999999999": {"2025-07-01": "vacation"}}, 11, "Invalid email", "999999999"),
    ({"OWNER": {"mon": 8, "tue": 8}}, 11, "Invalid date", "mon"),
    ({"OWNER": {"2025-02-30": "vacation"}}, 11, "Invalid date", "2025-02-30"),
    ({"OWNER": {"2025-07-01": "holiday"}}, 11, "Invalid date", "holiday"),
    ({"OWNER": "vacation"}, 11, "Invalid date", "OWNER"),
    ("not json", 11, "Invalid date", "data"),
    ({}, 10, "Field is required", "data"),
])
def test_bad_schedule_data_is_refused_and_nothing_is_written(api: Api, data: object, code: int, message: str,
                                                            details: str) -> None:
    if isinstance(data, dict):
        data = {(api.owner_email if k == "OWNER" else k): v for k, v in data.items()}
        details = api.owner_email if details == "OWNER" else details
    valid = {api.owner_email: {"2025-07-09": "vacation"}}
    payload = {**valid, **data} if isinstance(data, dict) and data else data
    body = api.error("update_users_schedule", data=payload)
    assert (body["status_code"], body["message"], body["message_details"]) == (code, message, details)
    assert api.ok("get_users_schedule") == []


def test_get_users_schedule_refuses_unknown_users_and_bad_dates(api: Api) -> None:
    body = api.error("get_users_schedule", users="ghost@example.com")
    assert (body["status_code"], body["message"], body["message_details"]) == (11, "Invalid email",
                                                                                "ghost@example.com")
    body = api.error("get_users_schedule", datestart="2025/07/01")
    assert (body["status_code"], body["message"], body["message_details"]) == (11, "Invalid date", "datestart")
    assert api.error("update_users_schedule")["message_details"] == "data"


def test_schedules_need_the_users_scopes_and_write_rights(api: Api) -> None:
    api.add_user("reader@example.com", role="reader")
    token = api.token(scopes=["users_read"])
    assert api.user_call(token, "get_users_schedule")["data"] == []
    body = api.user_call(token, "update_users_schedule", data={api.owner_email: {"2025-07-01": "vacation"}})
    assert (body["status_code"], body["message_details"]) == (20, "users_write")
    reader = api.token("reader@example.com")
    assert api.user_call(reader, "update_users_schedule",
                         data={"reader@example.com": {"2025-07-01": "vacation"}})["status_code"] == 20
    user = api.token()
    ok = api.user_call(user, "update_users_schedule", data={api.owner_email: {"2025-07-01": "vacation"}})
    assert ok["message"] == "Days added: 1, days updated: 0"


def test_accounts_cannot_see_or_change_each_others_schedules(api: Api, other: Api) -> None:
    _update(api, {api.owner_email: {"2025-07-01": "vacation"}})
    assert other.ok("get_users_schedule") == []
    assert other.error("get_users_schedule", users=api.owner_email)["status_code"] == 11
    body = other.error("update_users_schedule", data={str(api.owner_id): {"2025-07-02": "vacation"}})
    assert (body["status_code"], body["message_details"]) == (11, str(api.owner_id))
    assert api.ok("get_users_schedule")[0]["dates"] == {"2025-07-01": "vacation"}
