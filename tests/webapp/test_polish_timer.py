"""The running timer's badge in every page's header: a link to its task and the time it has run, for the
signed-in user only, at the cost of one indexed lookup per page."""

from __future__ import annotations

import re

from starlette.applications import Starlette

from localsection.domain import timers
from tests.helpers import Api, counted_statements
from tests.webapp.helpers import PASSWORD, add_user, text_of, web_client

PAGES = ("/projects", "/people", "/reports", "/me", "/settings")


def test_the_badge_shows_on_every_page_while_the_timer_runs_and_links_to_its_task(web_app: Starlette,
                                                                                 api: Api) -> None:
    project = api.ok("post_project", title="Apollo")["id"]
    task = api.ok("post_task", id_project=project, title="Land on the moon")["id"]
    sub = api.ok("post_task", id_project=project, id_parent=task, title="Pick a crater")["id"]
    web = web_client(web_app, api)
    web.sign_in()
    for path in PAGES:
        assert "Timer running" not in text_of(web.get(path).text), path
    with api.ctx(api.owner_email) as ctx:
        timers.start_my_timer(ctx, task_id=int(sub))
    for path in (*PAGES, f"/project/{project}/", f"/project/{project}/board", f"/project/{project}/{task}/"):
        html = web.get(path).text
        badge = re.search(r'<a class="timer-badge" href="([^"]+)">(.*?)</a>', html, re.S)
        assert badge is not None, path
        assert badge.group(1) == f"/project/{project}/{task}/{sub}/#timer"
        assert re.search(r"Timer running\s+\d\d:\d\d:\d\d", text_of(badge.group(2))), badge.group(2)
    add_user(api, "bob@example.com")
    bob = web_client(web_app, api)
    bob.sign_in("bob@example.com", PASSWORD)
    assert "timer-badge" not in bob.get("/projects").text  # the owner's timer, not Bob's
    with api.ctx(api.owner_email) as ctx:
        timers.stop_my_timer(ctx)
    assert "timer-badge" not in web.get("/projects").text


def test_the_badge_costs_one_lookup_per_page(web_app: Starlette, api: Api) -> None:
    project = api.ok("post_project", title="Apollo")["id"]
    task = api.ok("post_task", id_project=project, title="Land on the moon")["id"]
    web = web_client(web_app, api)
    web.sign_in()
    web.get("/me")
    with counted_statements(api) as idle:
        web.get("/me")
    with api.ctx(api.owner_email) as ctx:
        timers.start_my_timer(ctx, task_id=int(task))
    with counted_statements(api) as running:
        assert "timer-badge" in web.get("/me").text
    timer_lookups = [s for s in running if "timers" in s.lower()]
    assert len(timer_lookups) == 1, timer_lookups
    assert len(running) == len(idle), (idle, running)
