"""subscribe / unsubscribe: idempotent, one account user, visible through extra=subscribers."""

from __future__ import annotations

from sqlalchemy import func, select

from localsection.models import Event, TaskSubscriber
from tests.factories import make_project, make_task
from tests.helpers import Api


def subscribers(api: Api, tid: int) -> list[str]:
    return [u["email"] for u in api.ok("get_task", id_task=tid, extra="subscribers")["subscribers"]]


def test_subscribe_adds_the_user_to_the_task_subscribers_once(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.add_user("frank.harper@example.com")
    assert api.call("subscribe", id_task=tid, email_user="frank.harper@example.com") == {"status": "ok"}
    assert api.call("subscribe", id_task=tid, email_user="Frank.Harper@example.com") == {"status": "ok"}
    assert subscribers(api, tid) == ["frank.harper@example.com"]


def test_unsubscribe_removes_the_user_and_is_idempotent(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.add_user("frank.harper@example.com")
    api.ok("subscribe", id_task=tid, email_user="frank.harper@example.com")
    assert api.call("unsubscribe", id_task=tid, email_user="frank.harper@example.com") == {"status": "ok"}
    assert api.call("unsubscribe", id_task=tid, email_user="frank.harper@example.com") == {"status": "ok"}
    assert subscribers(api, tid) == []


def test_a_comma_list_of_emails_is_11_with_the_whole_value(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.add_user("henry.gardner@example.com")
    api.add_user("frank.harper@example.com")
    value = "henry.gardner@example.com,frank.harper@example.com"
    for name in ("subscribe", "unsubscribe"):
        body = api.error(name, id_task=tid, email_user=value)
        assert (body["status_code"], body["message"], body["message_details"]) == (11, "Invalid email", value)
    assert subscribers(api, tid) == []


def test_unknown_users_and_missing_params_are_refused(api: Api) -> None:
    tid = make_task(api, make_project(api))
    assert api.error("subscribe", id_task=tid, email_user="ghost@example.com")["status_code"] == 11
    assert api.error("subscribe", id_task=tid)["message_details"] == "email_user"
    assert api.error("subscribe", email_user=api.owner_email)["message_details"] == "id_task"


def test_subscribing_to_another_accounts_task_is_5_and_changes_nothing(api: Api, other: Api) -> None:
    foreign = make_task(other, make_project(other))
    assert api.error("subscribe", id_task=foreign, email_user=api.owner_email)["status_code"] == 5
    with other.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(TaskSubscriber)
                        .where(TaskSubscriber.task_id == foreign)) == 0


def test_a_user_of_another_account_cannot_be_subscribed(api: Api, other: Api) -> None:
    tid = make_task(api, make_project(api))
    assert api.error("subscribe", id_task=tid, email_user=other.owner_email)["status_code"] == 11


def test_subscriptions_record_no_event(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.ok("subscribe", id_task=tid, email_user=api.owner_email)
    api.ok("unsubscribe", id_task=tid, email_user=api.owner_email)
    with api.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.account_id == api.account_id)) == 0
