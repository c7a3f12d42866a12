"""get_webhooks / add_webhook / delete_webhook, the URL probe and the SSRF guard (PROTOCOL.md §4.9, §7.2)."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterator

import pytest

from localsection import webhooks
from tests import postman
from tests.factories import make_project
from tests.helpers import Api
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def test_add_webhook_returns_a_top_level_integer_id_and_get_webhooks_lists_it_like_postman(
        api: Api, receiver: Receiver) -> None:
    body = api.call("add_webhook", url=receiver.url, events="post_task,post_comment")
    assert set(body) == {"status", "id"} and isinstance(body["id"], int)
    hooks = api.ok("get_webhooks")
    example = postman.example("get_webhooks", "success")["data"][1]
    assert list(hooks[0]) == list(example)  # no `projects` when unrestricted
    assert hooks[0] == {"id": str(body["id"]), "url": receiver.url, "events": "post_task,post_comment",
                        "status": "active"}


def test_probe_posts_an_empty_json_array_with_basic_credentials(api: Api, receiver: Receiver) -> None:
    api.ok("add_webhook", url=receiver.url, events=["post_task"], http_user="bot", http_pass="s3cret")
    probe = receiver.requests[0]
    assert probe.body == b"[]" and probe.headers["content-type"].startswith("application/json")
    assert probe.headers["authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()


def test_probe_accepts_ok_in_any_case(api: Api, receiver: Receiver) -> None:
    receiver.reply = b'{"status": "ok"}'
    assert api.call("add_webhook", url=receiver.url, events="close_task")["status"] == "ok"


@pytest.mark.parametrize("reply", [b'{"status":"fail"}', b"OK", b'["OK"]'])
def test_a_receiver_without_status_ok_fails_the_probe_with_the_postman_error(
        api: Api, receiver: Receiver, reply: bytes) -> None:
    receiver.reply = reply
    body = api.error("add_webhook", url=receiver.url, events="post_task")
    assert body == postman.example("add_webhook", "error") | {"message_details": receiver.url}
    assert api.ok("get_webhooks") == []


def test_a_failing_receiver_is_reported_before_the_events_are_checked(api: Api, receiver: Receiver) -> None:
    receiver.always_fail = True
    body = api.error("add_webhook", url=receiver.url, events="")
    assert (body["status_code"], body["message"]) == (11, "Url should respond 200 HTTP_CODE and JSON {status:OK}")


def test_unreachable_and_malformed_urls_fail_the_probe(api: Api) -> None:
    for url in ("http://127.0.0.1:9/nothing", "ftp://example.com/", "not a url"):
        body = api.error("add_webhook", url=url, events="post_task")
        assert (body["status_code"], body["message_details"]) == (11, url)


def test_missing_url_or_events_and_unknown_event_names_are_refused(api: Api, receiver: Receiver) -> None:
    assert api.error("add_webhook", events="post_task")["message_details"] == "url"
    assert api.error("add_webhook", url=receiver.url)["message_details"] == "events"
    body = api.error("add_webhook", url=receiver.url, events="post_task,explode_task")
    assert (body["status_code"], body["message"]) == (11, "Invalid events")
    assert api.ok("get_webhooks") == []


def test_reopen_task_is_an_accepted_extra_event_name(api: Api, receiver: Receiver) -> None:
    api.ok("add_webhook", url=receiver.url, events=["update_task", "reopen_task"])
    assert api.ok("get_webhooks")[0]["events"] == "update_task,reopen_task"


def test_projects_filter_accepts_a_json_array_and_is_listed(api: Api, receiver: Receiver) -> None:
    p1, p2 = make_project(api, "A"), make_project(api, "B")
    api.ok("add_webhook", url=receiver.url, events="post_task", projects=[p1, p2])
    assert api.ok("get_webhooks")[0]["projects"] == f"{p1},{p2}"


def test_projects_filter_refuses_another_accounts_project(api: Api, other: Api, receiver: Receiver) -> None:
    foreign = make_project(other, "Theirs")
    assert api.error("add_webhook", url=receiver.url, events="post_task", projects=str(foreign))["status_code"] == 4


def test_delete_webhook_removes_it_and_unknown_ids_are_webhook_not_found(api: Api, receiver: Receiver) -> None:
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    assert api.call("delete_webhook", id=hook_id) == {"status": "ok"}
    assert api.ok("get_webhooks") == []
    expected = postman.example("delete_webhook", "error")
    assert api.error("delete_webhook", id=hook_id) == expected
    assert api.error("delete_webhook", id="abc") == expected


def test_accounts_never_see_or_delete_each_others_webhooks(api: Api, other: Api, receiver: Receiver) -> None:
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    assert other.ok("get_webhooks") == []
    assert other.error("delete_webhook", id=hook_id)["message"] == "WebHook not found"
    assert len(api.ok("get_webhooks")) == 1


def test_a_plain_user_token_manages_only_its_own_webhooks(api: Api, receiver: Receiver) -> None:
    admin_hook = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    api.add_user("plain@example.com")
    token = api.token("plain@example.com")
    own = api.user_call(token, "add_webhook", url=receiver.url, events="post_task")["id"]
    assert [h["id"] for h in api.user_call(token, "get_webhooks")["data"]] == [str(own)]
    assert api.user_call(token, "delete_webhook", id=admin_hook)["message"] == "WebHook not found"
    assert len(api.ok("get_webhooks")) == 2
    assert api.user_call(api.token("plain@example.com", scopes=["tasks_read"]), "get_webhooks")["status_code"] == 20


def test_private_addresses_are_refused_unless_allowed(api: Api, receiver: Receiver,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(allow_private_webhooks=False))
    body = api.error("add_webhook", url=receiver.url, events="post_task")
    assert (body["status_code"], body["message_details"]) == (11, receiver.url)
    assert receiver.requests == []  # refused before any request was sent


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "0.0.0.0", "224.0.0.1", "240.0.0.1", "100.64.0.1", "::1", "fe80::1",
                                     "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"])
def test_ssrf_guard_blocks_internal_addresses(address: str) -> None:
    assert webhooks.blocked_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_ssrf_guard_allows_public_addresses(address: str) -> None:
    assert not webhooks.blocked_address(ipaddress.ip_address(address))


def test_ssrf_guard_checks_the_resolved_address_of_a_name(api: Api) -> None:
    settings = api.state.settings.with_(allow_private_webhooks=False)
    with pytest.raises(webhooks.UrlRefused):
        webhooks.resolve_allowed("http://localhost:8080/hook", settings)
