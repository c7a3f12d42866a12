"""Bad input never gets a 500: ids too large for any id column in the path (starlette's `{pid:int}` takes any
digits), a non-ASCII digit in a query, on every kind of page and form."""

from __future__ import annotations

from starlette.applications import Starlette

from tests.helpers import Api
from tests.webapp.helpers import text_of, web_client

HUGE = "9" * 30


def test_ids_too_large_for_a_column_are_404_pages_on_get_and_post(web_app: Starlette, api: Api) -> None:
    project = api.ok("post_project", title="Apollo")["id"]
    task = api.ok("post_task", id_project=project, title="Land")["id"]
    comment = api.ok("post_comment", id_task=task, text="Kept")["id"]
    web = web_client(web_app, api)
    web.sign_in()
    for path in (f"/project/{HUGE}/", f"/project/{HUGE}/board", f"/project/{HUGE}/edit", f"/project/{HUGE}/members",
                 f"/project/{project}/{HUGE}/", f"/project/{project}/{task}/{HUGE}/",
                 f"/project/{project}/{task}/files/{HUGE}", f"/project/{project}/{HUGE}/edit",
                 f"/settings/webhooks/{HUGE}"):
        resp = web.get(path)
        assert resp.status_code == 404 and "There is nothing at this address." in text_of(resp.text), path
    page = f"/project/{project}/{task}/"
    for path, form in ((f"/project/{project}/{task}/comments/{HUGE}/edit", {"text": "x"}),
                       (f"/project/{project}/{task}/comments/{HUGE}/delete", {}),
                       (f"/project/{project}/{task}/costs/{HUGE}", {"time": "1:00"}),
                       (f"/project/{HUGE}/{task}/complete", {}), (f"/project/{project}/{HUGE}/move", {"tag": "1"})):
        resp = web.form(path, form, page=page)
        assert resp.status_code == 404, (path, resp.status_code)
    assert [c["text"] for c in api.ok("get_comments", id_task=task)] == ["Kept"]
    assert comment


def test_reports_refuse_a_project_that_is_not_a_plain_number(web_app: Starlette, api: Api) -> None:
    web = web_client(web_app, api)
    web.sign_in()
    for raw in (HUGE, "²", "abc"):
        resp = web.get(f"/reports?project={raw}")
        assert resp.status_code == 400 and "Choose a project from the list." in text_of(resp.text), raw
        assert web.get(f"/reports/export.csv?project={raw}").status_code == 400
