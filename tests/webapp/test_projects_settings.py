"""`/settings`: API key (show, rotate), OAuth apps (secret shown once, delete), webhooks (create through the probe,
pause / enable, delivery log, redeliver) — admins only. Both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from localsection import webhooks
from localsection.models import Account, DeliveryAttempt, OAuthApp, OutboxItem, Webhook
from localsection.oauth2 import apps, authorize
from tests.factories import make_project
from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, WebClient, add_user, csrf_in, text_of, web_client
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _worker(api: Api) -> webhooks.Worker:
    return webhooks.Worker(api.state.db, api.state.settings.with_(webhook_retry_base=0.001, webhook_retry_max=0.001))


def _drain(worker: webhooks.Worker, api: Api) -> int:
    """Deliver what is due; the attempts made for THIS account's webhooks (the worker also serves what earlier
    tests of this process left in the shared database's outbox)."""
    def attempts() -> int:
        with api.state.db.session(write=False) as s:
            return s.scalar(select(func.count()).select_from(DeliveryAttempt).join(
                Webhook, Webhook.id == DeliveryAttempt.webhook_id).where(Webhook.account_id == api.account_id)) or 0

    before = attempts()
    worker.drain()
    return attempts() - before


def _accepted_titles(receiver: Receiver) -> list[str]:
    return [e["new"]["title"] for r in receiver.accepted() for e in r.json()]


def _add_hook(web: WebClient, url: str, *events: str, **extra: str) -> int:
    resp = web.form("/settings/webhooks/new", {"url": url, **{f"event-{e}": "1" for e in events}, **extra},
                    page="/settings")
    assert resp.status_code == 303, text_of(resp.text)[:500]
    return int(resp.headers["location"].rsplit("/", 1)[1])


def test_the_api_key_is_masked_shown_on_request_and_rotated_with_a_confirmation(owner_web: WebClient) -> None:
    api = owner_web.api
    page = owner_web.get("/settings")
    assert page.status_code == 200
    assert "•" * 12 + api.api_key[-4:] in text_of(page.text)
    assert re.search(r"<details class=\"reveal\">.*" + api.api_key, page.text, re.S)  # behind "Show the key"
    unconfirmed = owner_web.form("/settings", {"action": "rotate"})
    assert unconfirmed.status_code == 400 and "Tick the box" in text_of(unconfirmed.text)
    assert api.call("get_projects")["status"] == "ok"
    assert owner_web.form("/settings", {"action": "rotate", "confirm": "1"}).status_code == 303
    assert api.call("get_projects")["status"] == "error"  # the old key stops working at once
    new_key = api.account_row().api_key
    assert new_key != api.api_key
    api.api_key = new_key
    assert api.call("get_projects")["status"] == "ok"
    assert "The old one no longer works" in text_of(owner_web.get("/settings").text)


def test_an_oauth_app_is_created_with_its_secret_shown_once_and_deleted(owner_web: WebClient) -> None:
    api = owner_web.api
    resp = owner_web.form("/settings", {"action": "app", "name": "Integrator", "scope-projects_read": "1",
                                        "scope-tasks_read": "1",
                                        "redirect_uris": "https://app.example.com/cb\nhttp://localhost:8080/cb\n"})
    assert resp.status_code == 200
    client_id = re.search(r'id="client-id" type="text" readonly value="([0-9a-f]{32})"', resp.text)
    secret = re.search(r'id="client-secret" type="text" readonly value="([0-9a-f]{64})"', resp.text)
    assert client_id and secret and "shown only this once" in text_of(resp.text)
    with api.state.db.session(write=False) as s:
        app = apps.by_client_id(s, client_id.group(1))
        assert app is not None and apps.secret_matches(app, secret.group(1))
        assert app.redirect_uris == ["https://app.example.com/cb", "http://localhost:8080/cb"]
        assert app.scopes == ["projects_read", "tasks_read"]
        # the app can never be granted more than it was registered for
        account = s.get(Account, api.account_id)
        assert account is not None
        asked = {"client_id": app.client_id, "redirect_uri": "https://app.example.com/cb", "response_type": "code"}
        got = authorize.validate(s, account, {**asked, "scope": "projects_read,projects_write,tasks_read"})
        assert got.scopes == ["projects_read", "tasks_read"]
        with pytest.raises(authorize.RedirectError):
            authorize.validate(s, account, {**asked, "scope": "costs_write administrative"})
    listing = owner_web.get("/settings").text
    assert client_id.group(1) in listing and secret.group(1) not in listing
    for data, message in (({"name": ""}, "Give the app a name."),
                          ({"name": "x", "redirect_uris": ""}, "Give at least one redirect URI."),
                          ({"name": "x", "redirect_uris": "https://ok.example.com/cb"}, "Choose at least one scope"),
                          ({"name": "x", "redirect_uris": "http://evil.example.com/cb", "scope-tasks_read": "1"},
                           "must use https")):
        bad = owner_web.form("/settings", {"action": "app", **data})
        assert bad.status_code == 400 and message in text_of(bad.text), text_of(bad.text)[:300]
    assert owner_web.form("/settings", {"action": "app_delete", "client_id": client_id.group(1)}).status_code == 303
    with api.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(OAuthApp).where(OAuthApp.account_id == api.account_id)) == 0
    gone = owner_web.form("/settings", {"action": "app_delete", "client_id": client_id.group(1)})
    assert gone.status_code == 400


def test_webhooks_are_created_through_the_probe_paused_enabled_and_logged(owner_web: WebClient,
                                                                          receiver: Receiver) -> None:
    api = owner_web.api
    pid = make_project(api, "Hooked")
    hook_id = _add_hook(owner_web, receiver.url, "post_project", "update_project", **{f"project-{pid}": str(pid)})
    assert receiver.requests and receiver.requests[0].body == b"[]"  # the probe
    listed = api.ok("get_webhooks")
    assert listed == [{"id": str(hook_id), "url": receiver.url, "events": "post_project,update_project",
                       "status": "active", "projects": str(pid)}]
    settings_page = text_of(owner_web.get("/settings").text)
    assert receiver.url in settings_page and "Active" in settings_page

    assert owner_web.form("/settings", {"action": "pause", "webhook": str(hook_id)}).status_code == 303
    assert api.ok("get_webhooks")[0]["status"] == "paused"
    api.ok("update_project", id_project=pid, title="Renamed while paused")
    assert _drain(_worker(api), api) == 0 and len(receiver.deliveries()) == 0  # kept, not sent
    assert "1 event" in text_of(owner_web.get(f"/settings/webhooks/{hook_id}").text)
    assert owner_web.form("/settings", {"action": "enable", "webhook": str(hook_id), "back": "log"},
                          page=f"/settings/webhooks/{hook_id}").headers["location"] == f"/settings/webhooks/{hook_id}"
    assert api.ok("get_webhooks")[0]["status"] == "active"
    assert _drain(_worker(api), api) == 1
    assert receiver.events()[0]["action"] == "update" and receiver.events()[0]["object"]["id"] == str(pid)
    log = owner_web.get(f"/settings/webhooks/{hook_id}")
    row = text_of(log.text.split("<tbody>")[1])
    assert "update_project" in row and "Delivered" in row and "200" in row and " ms" in row


def test_a_failed_delivery_is_logged_with_its_error_and_can_be_redelivered(owner_web: WebClient,
                                                                           receiver: Receiver) -> None:
    api = owner_web.api
    hook_id = _add_hook(owner_web, receiver.url, "post_project")
    receiver.always_fail = True
    api.ok("post_project", title="Will fail first")
    worker = webhooks.Worker(api.state.db, api.state.settings.with_(webhook_retry_base=3600, webhook_retry_max=3600))
    assert _drain(worker, api) == 1
    log = owner_web.get(f"/settings/webhooks/{hook_id}")
    body = text_of(log.text.split("<tbody>")[1])
    assert "post_project" in body and "Failed" in body and "500" in body and "status" in body
    attempt = re.search(r'name="attempt" value="(\d+)"', log.text)
    assert attempt is not None
    receiver.always_fail = False
    assert _drain(worker, api) == 0  # backing off for an hour
    resp = owner_web.form(f"/settings/webhooks/{hook_id}", {"action": "redeliver", "attempt": attempt.group(1)})
    assert resp.status_code == 303
    assert _drain(worker, api) == 1
    assert _accepted_titles(receiver) == ["Will fail first"]
    # once delivered and expired from the queue, a redelivery queues a new row at the end
    with api.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxItem)
                        .where(OutboxItem.webhook_id == hook_id, OutboxItem.state == "delivered")) == 1
    again = owner_web.form(f"/settings/webhooks/{hook_id}", {"action": "redeliver", "attempt": attempt.group(1)})
    assert again.status_code == 303 and _drain(worker, api) == 1
    assert _accepted_titles(receiver) == ["Will fail first", "Will fail first"]
    ok_attempt = re.findall(r'name="attempt" value="(\d+)"', owner_web.get(f"/settings/webhooks/{hook_id}").text)
    assert ok_attempt == [attempt.group(1)]  # only the failed attempt offers a redelivery
    bogus = owner_web.form(f"/settings/webhooks/{hook_id}", {"action": "redeliver", "attempt": "999999999"})
    assert bogus.status_code == 400 and "Delivery not found" in text_of(bogus.text)


def test_a_webhook_that_fails_the_probe_is_not_created(owner_web: WebClient, receiver: Receiver) -> None:
    api = owner_web.api
    receiver.always_fail = True
    resp = owner_web.form("/settings/webhooks/new", {"url": receiver.url, "event-post_task": "1"}, page="/settings")
    assert resp.status_code == 400 and "Url should respond 200" in text_of(resp.text)
    receiver.always_fail = False
    for data, message in (({"url": receiver.url}, "Choose at least one event."),
                          ({"url": ""}, "Give the URL"),
                          ({"url": receiver.url, "event-post_task": "1", "project-1": "999999999"},
                           "Project is invalid")):
        bad = owner_web.form("/settings/webhooks/new", data, page="/settings")
        assert bad.status_code == 400 and message in text_of(bad.text), text_of(bad.text)[:300]
    assert api.ok("get_webhooks") == []


def test_settings_are_for_owners_and_account_admins_only(web_app: Starlette, api: Api, receiver: Receiver) -> None:
    owner = web_client(web_app, api)
    owner.sign_in()
    hook_id = _add_hook(owner, receiver.url, "post_task")
    admin = web_client(web_app, api)
    add_user(api, "admin@example.com", role="account admin")
    admin.sign_in("admin@example.com", PASSWORD)
    assert admin.get("/settings").status_code == 200
    assert admin.get(f"/settings/webhooks/{hook_id}").status_code == 200
    for role in ("user", "team admin", "reader", "guest"):
        email = f"{role.replace(' ', '')}@example.com"
        add_user(api, email, role=role)  # type: ignore[arg-type]
        web = web_client(web_app, api)
        web.sign_in(email, PASSWORD)
        page = web.get("/settings")
        assert page.status_code == 403 and api.api_key not in page.text
        assert web.get(f"/settings/webhooks/{hook_id}").status_code == 403
        token = csrf_in(web.get("/me").text)
        for path, data in (("/settings", {"action": "rotate", "confirm": "1"}),
                           ("/settings", {"action": "pause", "webhook": str(hook_id)}),
                           ("/settings", {"action": "app", "name": "x", "redirect_uris": "https://x.example/cb"}),
                           ("/settings/webhooks/new", {"url": receiver.url, "event-post_task": "1"})):
            assert web.post(path, {**data, "csrf": token}).status_code == 403, (role, path)
    assert api.call("get_projects")["status"] == "ok"  # the key was not rotated
    assert [h["status"] for h in api.ok("get_webhooks")] == ["active"]
    with api.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(OAuthApp).where(OAuthApp.account_id == api.account_id)) == 0


def test_another_accounts_webhooks_are_404(web_app: Starlette, api: Api, other: Api, receiver: Receiver) -> None:
    theirs = web_client(web_app, other)
    theirs.sign_in()
    hook_id = _add_hook(theirs, receiver.url, "post_task")
    mine = web_client(web_app, api)
    mine.sign_in()
    assert mine.get(f"/settings/webhooks/{hook_id}").status_code == 404
    assert mine.get(f"/settings/webhooks/{10**20}").status_code == 404
    for action in ("pause", "delete"):
        resp = mine.form("/settings", {"action": action, "webhook": str(hook_id)})
        assert resp.status_code == 400 and "WebHook not found" in text_of(resp.text)
    assert receiver.url not in mine.get("/settings").text
    assert [h["status"] for h in other.ok("get_webhooks")] == ["active"]


def test_the_domain_lets_users_pause_only_their_own_webhooks_and_readers_none(api: Api, receiver: Receiver) -> None:
    from localsection.domain import webhook_control
    from localsection.domain import webhooks as hooks_domain
    from localsection.errors import ApiError

    add_user(api, "plain@example.com")
    add_user(api, "reader@example.com", role="reader")
    with api.ctx("plain@example.com", write=False) as ctx:  # add_webhook writes in a transaction of its own
        mine = hooks_domain.add_webhook(ctx, url=receiver.url, events=["post_task"]).id
    with api.ctx(write=False) as ctx:
        admins = hooks_domain.add_webhook(ctx, url=receiver.url, events=["post_task"]).id
    with api.ctx("plain@example.com") as ctx:
        assert webhook_control.pause_webhook(ctx, webhook_id=mine).status == "paused"
        with pytest.raises(ApiError, match="WebHook not found"):
            webhook_control.pause_webhook(ctx, webhook_id=admins)
    with api.ctx("reader@example.com") as ctx:
        with pytest.raises(ApiError, match="Access denied"):
            webhook_control.enable_webhook(ctx, webhook_id=mine)
    with api.ctx() as ctx:  # the admin key manages every webhook of the account
        assert webhook_control.enable_webhook(ctx, webhook_id=mine).status == "active"
    assert {h["id"]: h["status"] for h in api.ok("get_webhooks")} == {str(mine): "active", str(admins): "active"}
