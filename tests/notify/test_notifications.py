"""Notification e-mails, end to end: an API call queues them, the sender delivers them to a real SMTP server."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from localsection.domain import mail_prefs
from tests.factories import make_project
from tests.helpers import Api
from tests.notify.conftest import SmtpServer, addr, outbox, sender


def team(api: Api, *names: str) -> tuple[int, dict[str, str]]:
    """A project whose members are new users `names` (by their unique addresses)."""
    emails = {name: addr(api, name) for name in names}
    ids = [int(api.add_user(e)["id"]) for e in emails.values()]
    return make_project(api, "Apollo", members=ids), emails


def user_ok(api: Api, email: str, action: str, **params: Any) -> Any:
    """Call as a user (bearer token) and assert success."""
    body = api.user_call(api.token(email), action, **params)
    assert body["status"] == "ok", body
    return body.get("data")


def deliver(api: Api, server: SmtpServer) -> None:
    sender(api, server).drain()


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def only_mail(server: SmtpServer, to: str) -> EmailMessage:
    got = server.inbox.to(to)
    assert len(got) == 1, [m["Subject"] for m in got]
    return got[0]


def test_a_new_task_mails_its_executive_with_the_title_project_author_and_link(
        api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob")
    task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Fix the launch pad",
                   email_user_to=who["bob"], text="Before Friday")
    deliver(api, smtp_server)
    msg = only_mail(smtp_server, who["bob"])
    assert msg["Subject"] == "[Apollo] ann assigned you: Fix the launch pad"
    assert msg["From"] and "@" in msg["From"]
    body = text_of(msg)
    assert "Fix the launch pad" in body and "Apollo" in body and "Before Friday" in body
    link = f"http://{api.host}{task['page']}"
    assert link in body and f'href="{link}"' in html_of(msg)
    assert smtp_server.inbox.to(who["ann"]) == []  # the author acted: no mail to her


def test_changing_the_executive_mails_the_new_one_only(api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob", "cat")
    task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Paint", email_user_to=who["bob"])
    user_ok(api, who["ann"], "update_task", id_task=task["id"], title="Paint it red")  # no executive change
    user_ok(api, who["ann"], "update_task", id_task=task["id"], email_user_to=who["cat"])
    deliver(api, smtp_server)
    assert len(smtp_server.inbox.to(who["bob"])) == 1
    assert only_mail(smtp_server, who["cat"])["Subject"] == "[Apollo] ann assigned you: Paint it red"


def test_a_comment_mails_subscribers_and_mentioned_users_once_each_never_its_author(
        api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob", "cat", "dan")
    task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Review",
                   subscribe=f"{who['ann']},{who['bob']},{who['cat']}")
    user_ok(api, who["ann"], "post_comment", id_task=task["id"], text="Please look",
            mention=f"{who['cat']},{who['dan']}")
    deliver(api, smtp_server)
    assert smtp_server.inbox.to(who["ann"]) == []  # subscribed, but she wrote it
    assert only_mail(smtp_server, who["bob"])["Subject"] == "[Apollo] ann commented: Review"
    assert only_mail(smtp_server, who["cat"])["Subject"] == "[Apollo] ann mentioned you: Review"
    assert only_mail(smtp_server, who["dan"])["Subject"] == "[Apollo] ann mentioned you: Review"
    body = text_of(only_mail(smtp_server, who["bob"]))
    assert "> Please look" in body
    comment_id = next(r.comment_id for r in outbox(api) if r.recipient == who["bob"])
    assert f"http://{api.host}{task['page']}#com{comment_id}" in body


def test_mentions_in_a_new_task_mail_the_mentioned_users(api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob")
    api.ok("post_task", id_project=pid, title="Plan", text="Ideas?", mention=who["bob"])
    deliver(api, smtp_server)
    assert only_mail(smtp_server, who["bob"])["Subject"].endswith("mentioned you: Plan")


def test_completing_a_task_mails_subscribers_author_and_executive_but_not_the_one_who_completed_it(
        api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob", "cat", "dan")
    task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Ship", email_user_to=who["bob"],
                   subscribe=who["cat"])
    smtp_server.inbox.messages.clear()
    deliver(api, smtp_server)  # the assignment mail to bob
    user_ok(api, who["bob"], "complete_task", id_task=task["id"])
    deliver(api, smtp_server)
    assert only_mail(smtp_server, who["ann"])["Subject"] == "[Apollo] bob completed: Ship"
    assert only_mail(smtp_server, who["cat"])["Subject"] == "[Apollo] bob completed: Ship"
    assert [m["Subject"] for m in smtp_server.inbox.to(who["bob"])] == ["[Apollo] ann assigned you: Ship"]
    assert smtp_server.inbox.to(who["dan"]) == []


def test_users_who_cannot_see_the_task_or_comment_get_nothing(api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob", "cat")
    outsider = addr(api, "out")
    api.add_user(outsider)  # in the account, not in the project
    task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Secret", hidden=who["bob"],
                   subscribe=f"{who['bob']},{who['cat']},{outsider}")
    user_ok(api, who["ann"], "post_comment", id_task=task["id"], text="psst", mention=f"{who['cat']},{outsider}")
    open_task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Open", subscribe=who["cat"])
    user_ok(api, who["ann"], "post_comment", id_task=open_task["id"], text="only bob", hidden=who["bob"])
    deliver(api, smtp_server)
    assert only_mail(smtp_server, who["bob"])["Subject"].endswith("commented: Secret")
    assert smtp_server.inbox.to(who["cat"]) == []  # hidden task; then a comment hidden from her
    assert smtp_server.inbox.to(outsider) == []  # not a member of the project


def test_nobody_is_mailed_for_the_any_and_noone_executives(api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann")
    user_ok(api, who["ann"], "post_task", id_project=pid, title="Anyone", email_user_to="ANY")
    user_ok(api, who["ann"], "post_task", id_project=pid, title="No one", email_user_to="NOONE")
    assert outbox(api) == []


def test_a_user_who_switched_mail_off_gets_nothing_and_per_kind_switches_keep_the_other_kinds(
        api: Api, smtp_server: SmtpServer) -> None:
    pid, who = team(api, "ann", "bob", "cat")
    with api.ctx(who["bob"]) as ctx:
        assert mail_prefs.set_mail_notifications(ctx, False).on is False
    with api.ctx(who["cat"]) as ctx:
        prefs = mail_prefs.set_mail_notifications(ctx, False, ["assigned"])
    assert prefs.kinds == {"mentioned", "comment", "completed"}
    user_ok(api, who["ann"], "post_task", id_project=pid, title="A", email_user_to=who["bob"])
    user_ok(api, who["ann"], "post_task", id_project=pid, title="B", email_user_to=who["cat"])
    user_ok(api, who["ann"], "post_task", id_project=pid, title="C", email_user_to=who["cat"], mention=who["cat"])
    deliver(api, smtp_server)
    assert smtp_server.inbox.to(who["bob"]) == []
    assert [m["Subject"] for m in smtp_server.inbox.to(who["cat"])] == ["[Apollo] ann mentioned you: C"]


def test_only_admins_change_another_users_preference(api: Api) -> None:
    import pytest

    from localsection import errors

    _, who = team(api, "ann", "bob")
    with pytest.raises(errors.ApiError) as denied, api.ctx(who["ann"]) as ctx:
        mail_prefs.set_mail_notifications(ctx, False, email=who["bob"])
    assert denied.value.code == 20
    with pytest.raises(errors.ApiError) as bad, api.ctx(who["ann"]) as ctx:
        mail_prefs.set_mail_notifications(ctx, False, ["everything"])
    assert bad.value.code == 11
    with api.ctx() as ctx:  # the admin key
        assert mail_prefs.set_mail_notifications(ctx, False, email=who["bob"]).on is False
    with api.ctx(who["bob"]) as ctx:
        assert mail_prefs.mail_notifications(ctx).kinds == frozenset()
        assert mail_prefs.set_mail_notifications(ctx, True, ["comment"]).kinds == {"comment"}


def test_mail_is_queued_in_the_same_transaction_as_the_change(api: Api) -> None:
    import pytest

    from localsection.domain import tasks

    pid, who = team(api, "ann", "bob")
    with pytest.raises(RuntimeError), api.ctx(who["ann"]) as ctx:
        tasks.create_task(ctx, tasks.NewTask(project_id=pid, title="Rolled back", executive=who["bob"]))
        assert [r.subject for r in outbox(api)] == []  # not visible outside the transaction
        raise RuntimeError("the request fails after the write")
    assert outbox(api) == []
    with api.ctx(who["ann"]) as ctx:
        tasks.create_task(ctx, tasks.NewTask(project_id=pid, title="Kept", executive=who["bob"]))
    rows = outbox(api)
    assert [(r.recipient, r.kind, r.state, r.account_id) for r in rows] == [(who["bob"], "assigned", "pending",
                                                                            api.account_id)]


def test_users_of_another_account_are_never_mailed_even_if_a_row_links_them(
        api: Api, other: Api, smtp_server: SmtpServer) -> None:
    from localsection.models import TaskSubscriber

    pid, who = team(api, "ann", "bob")
    stranger = addr(other, "stranger")
    stranger_id = int(other.add_user(stranger)["id"])
    task = user_ok(api, who["ann"], "post_task", id_project=pid, title="Ours", subscribe=who["bob"])
    with api.state.db.session() as s:  # a broken link across accounts must not leak a mail
        s.add(TaskSubscriber(task_id=int(task["id"]), user_id=stranger_id))
    user_ok(api, who["ann"], "post_comment", id_task=task["id"], text="hello")
    assert api.error("post_comment", id_task=task["id"], text="hi", mention=stranger)["status"] == "error"
    deliver(api, smtp_server)
    assert len(smtp_server.inbox.to(who["bob"])) == 1
    assert smtp_server.inbox.to(stranger) == [] and outbox(other) == []
    bob_id = next(int(u["id"]) for u in api.ok("get_users") if u["email"] == who["bob"])
    assert {(r.account_id, r.user_id) for r in outbox(api)} == {(api.account_id, bob_id)}
