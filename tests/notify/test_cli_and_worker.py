"""`localsection users mail`, the background worker that runs the sender, and the words of the e-mails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from localsection import housekeeping
from localsection.notify import messages
from tests.factories import make_project
from tests.helpers import Api
from tests.notify.conftest import SmtpServer, addr, mail_settings, outbox


def cli(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m localsection …` on this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
    env.update(LOCALSECTION_DATA_DIR=str(api.state.settings.data_dir), LOCALSECTION_DURABILITY="normal")
    if api.state.settings.database_url:
        env["LOCALSECTION_DATABASE_URL"] = api.state.settings.database_url
    return subprocess.run([sys.executable, "-m", "localsection", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def cli_json(api: Api, *args: str) -> Any:
    out = cli(api, *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_users_mail_switches_a_users_notifications_and_shows_them(api: Api) -> None:
    who = addr(api, "quiet")
    api.add_user(who)
    base = ("users", "mail", "--account", api.account, "--email", who)
    assert cli_json(api, *base) == {"email": who, "mail": "on", "kinds": "assigned,comment,completed,mentioned"}
    assert cli_json(api, *base, "--off") == {"email": who, "mail": "off", "kinds": ""}
    assert cli_json(api, *base, "--on", "--kind", "assigned", "--kind", "comment") == {
        "email": who, "mail": "on", "kinds": "assigned,comment"}
    pid = make_project(api)
    api.ok("update_project", id_project=pid, members=who)
    api.ok("post_task", id_project=pid, title="Still assigned", email_user_to=who)
    api.ok("post_task", id_project=pid, title="Not mentioned", mention=who)
    assert [r.subject for r in outbox(api)] == ["[Project] Owner assigned you: Still assigned"]


def test_users_mail_refuses_bad_input_in_one_line_and_changes_nothing(api: Api) -> None:
    who = addr(api, "steady")
    api.add_user(who)
    base = ("users", "mail", "--account", api.account, "--email", who)
    for args, words in (((*base, "--off", "--kind", "everything"), "Invalid notification kind: everything"),
                        ((*base, "--kind", "comment"), "--kind needs --on or --off"),
                        (("users", "mail", "--account", api.account, "--email", "nobody@x.example", "--off"),
                         "Invalid email"),
                        (("users", "mail", "--account", "no-such-account", "--email", who, "--off"), "no-such")):
        out = cli(api, *args)
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert cli_json(api, *base)["mail"] == "on"


def test_the_background_worker_sends_mail_beside_webhook_delivery(api: Api, smtp_server: SmtpServer) -> None:
    pid = make_project(api)
    who = addr(api, "eager")
    api.add_user(who)
    api.ok("update_project", id_project=pid, members=who)
    workers = housekeeping.worker(api.state.db, mail_settings(api, smtp_server))
    workers.start()
    try:
        api.ok("post_task", id_project=pid, title="Go", email_user_to=who)
        deadline = time.monotonic() + 10
        while not smtp_server.inbox.to(who) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        workers.stop()
    assert [m["Subject"] for m in smtp_server.inbox.to(who)] == ["[Project] Owner assigned you: Go"]
    assert [r.state for r in outbox(api)] == ["sent"]


def test_the_html_part_escapes_what_users_typed_and_the_subject_stays_one_line() -> None:
    mail = messages.compose("comment", None, actor="Eve <script>", task="Fix <b>it</b>\r\nBcc: x@y.z",
                            project="P&Q", link="https://a.example/project/1/2/", excerpt="<img src=x onerror=1>")
    assert mail.subject == "[P&Q] Eve <script> commented: Fix <b>it</b> Bcc: x@y.z"
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "<img" not in mail.html and "&lt;img src=x onerror=1&gt;" in mail.html
    assert "Fix &lt;b&gt;it&lt;/b&gt;" in mail.html
    assert "> <img src=x onerror=1>" in mail.text  # plain text stays as typed


def test_users_read_their_language_and_english_when_there_is_no_catalogue(monkeypatch: Any) -> None:
    monkeypatch.setitem(messages.CATALOGUE, "uk", {**messages.ENGLISH, "subject.assigned": "[{project}] {actor} "
                                                   "призначив вам: {task}"})
    args: dict[str, str] = {"actor": "Ann", "task": "T", "project": "P", "link": "https://x.example/"}
    assert messages.compose("assigned", "uk-UA", **args).subject == "[P] Ann призначив вам: T"
    assert messages.compose("assigned", "de", **args).subject == "[P] Ann assigned you: T"
    assert messages.compose("assigned", None, **args).subject == "[P] Ann assigned you: T"
    long = messages.compose("assigned", None, **{**args, "task": "x" * 1000})
    assert len(long.subject) <= messages.SUBJECT_CHARS
