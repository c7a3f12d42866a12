"""Reports: time and money per project, person and month, equal to what the API sums for the same user; charts
with text alternatives; CSV export safe for spreadsheets; visibility as get_costs."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from localsection.webapp.charts import Bar, bar_chart
from localsection.webapp.reports import safe_cell
from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, WebClient, add_user, text_of, web_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
RANGE = "start=2026-09-01&end=2026-11-30"


def _world(api: Api) -> dict[str, str]:
    add_user(api, "ann@example.com")
    add_user(api, "bob@example.com")
    apollo = api.ok("post_project", title="Apollo", members="ann@example.com")["id"]
    gemini = api.ok("post_project", title="=Gemini", members="bob@example.com")["id"]
    t1 = api.ok("post_task", id_project=apollo, title="Land")["id"]
    t2 = api.ok("post_task", id_project=gemini, title="Orbit")["id"]
    for task, time, money, day, who in ((t1, "1:30", "10", "2026-10-05", "ann@example.com"),
                                        (t1, "2:00", "", "2026-11-02", "ann@example.com"),
                                        (t1, "0:45", "5.5", "2026-11-03", api.owner_email),
                                        (t2, "3:15", "100", "2026-11-20", "bob@example.com"),
                                        (t2, "9:00", "", "2026-08-20", "bob@example.com")):  # outside the range
        api.ok("add_costs", id_task=task, time=time, money=money, date=day, email_user_from=who)
    return {"apollo": apollo, "gemini": gemini}


def _signed_in(web_app: Any, api: Api, email: str) -> WebClient:
    web = web_client(web_app, api)
    web.sign_in(email, PASSWORD)
    return web


def _table(html: str, heading_id: str) -> list[list[str]]:
    """The rows of the table in the section labelled `heading_id` (cells as visible text)."""
    section = html.split(f'aria-labelledby="{heading_id}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_report_sums_per_project_person_and_month_like_the_api(owner_web: WebClient, api: Api) -> None:
    ids = _world(api)
    page = owner_web.get(f"/reports?{RANGE}")
    assert page.status_code == 200
    assert _table(page.text, "h-project") == [["Apollo", "4:15", "15.50"], ["=Gemini", "3:15", "100.00"]]
    assert _table(page.text, "h-user") == [["ann", "3:30", "10.00"], ["bob", "3:15", "100.00"],
                                           ["Owner", "0:45", "5.50"]]
    assert _table(page.text, "h-month") == [["2026-10", "1:30", "10.00"], ["2026-11", "6:00", "105.50"]]
    api_total = api.call("get_costs_total", datestart="2026-09-01", dateend="2026-11-30")["total"]
    assert "Total for 2026-09-01 – 2026-11-30: 7:30 h · 115.50" in text_of(page.text)
    assert (api_total["time"], api_total["money"]) == ("7:30", "115.50")
    # One project only.
    one = owner_web.get(f"/reports?{RANGE}&project={ids['apollo']}")
    assert _table(one.text, "h-project") == [["Apollo", "4:15", "15.50"]]
    # Charts: an SVG per table, with a title and a description that says the numbers.
    assert page.text.count('<svg class="chart"') == 3
    assert re.search(r'<desc id="chart-project-d">Apollo: 4:15; =Gemini: 3:15</desc>', page.text)
    money = owner_web.get(f"/reports?{RANGE}&measure=money")
    assert "<desc id=\"chart-month-d\">2026-10: 10.00; 2026-11: 105.50</desc>" in money.text


def test_a_user_sees_the_costs_get_costs_shows_them(web_app: Any, api: Api) -> None:
    _world(api)
    ann = _signed_in(web_app, api, "ann@example.com")
    page = ann.get(f"/reports?{RANGE}")
    assert _table(page.text, "h-project") == [["Apollo", "4:15", "15.50"]]
    assert "Gemini" not in text_of(page.text)
    seen = api.user_call(api.token("ann@example.com"), "get_costs", datestart="2026-09-01", dateend="2026-11-30")
    assert seen["total"] == {"time": "4:15", "money": "15.50"}


def test_bad_filters_are_a_form_error_and_leak_nothing(owner_web: WebClient, api: Api, other: Api) -> None:
    foreign = other.ok("post_project", title="Foreign")["id"]
    for query in ("start=yesterday", "start=2026-12-01&end=2026-11-01", "project=abc", f"project={foreign}"):
        resp = owner_web.get(f"/reports?{query}")
        assert resp.status_code == 400, query
        assert "Foreign" not in resp.text
    assert owner_web.get(f"/reports/export.csv?project={foreign}").status_code == 400


def test_the_csv_export_has_every_row_escaped_and_safe_for_spreadsheets(owner_web: WebClient, api: Api) -> None:
    _world(api)
    api.ok("update_project", id_project=api.ok("get_projects")[0]["id"], title='Apollo, "the" @first')
    resp = owner_web.get(f"/reports/export.csv?{RANGE}")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"] == 'attachment; filename="report-2026-09-01-2026-11-30.csv"'
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0] == ["Project", "Person", "E-mail", "Month", "Time", "Hours", "Money"]
    assert sorted(rows[1:]) == sorted([
        ['Apollo, "the" @first', "ann", "ann@example.com", "2026-10", "1:30", "1.50", "10.00"],
        ['Apollo, "the" @first', "ann", "ann@example.com", "2026-11", "2:00", "2.00", "0.00"],
        ['Apollo, "the" @first', "Owner", api.owner_email, "2026-11", "0:45", "0.75", "5.50"],
        ["'=Gemini", "bob", "bob@example.com", "2026-11", "3:15", "3.25", "100.00"]])


def test_safe_cells_and_charts() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+x", "-2", "@SUM(A1)", "\tx", "plain", 5)] == [
        "'=1+1", "'+x", "'-2", "'@SUM(A1)", "'\tx", "plain", "5"]
    svg = str(bar_chart("c", "Hours <by> project", "A: 1:00", [Bar("<script>", 1.0, "1:00"), Bar("B", 0, "0:00")]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and 'role="img"' in svg
    assert 'aria-labelledby="c-t c-d"' in svg and "Hours &lt;by&gt; project" in svg
    assert str(bar_chart("e", "Empty", "No entries.", [])).count("<rect") == 0
