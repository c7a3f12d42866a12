"""Fuzz of the §5 filter grammar (hypothesis): syntactically valid filters of any width and depth with extreme
values, sent to search_tasks, get_costs and get_costs_total on each database.

Every answer must be HTTP 200 and either `ok` or exactly `11 Filter is invalid` — never a 5xx or another error.
Figure: filters sent, how many were accepted and refused, 5xx and tracebacks (both must be 0).
Quick: 300 filters per database; full (LOCALSECTION_SOAK=1): 5,000 per database.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localsection.models import Account, Cost
from tests.factories import make_project, make_task
from tests.helpers import Api

ACTIONS = {
    "search_tasks": {"int": ["id", "project", "parent"], "str": ["name"],
                     "date": ["dateadd", "date_added", "datestart", "date_start", "dateend", "date_end",
                              "dateclose", "date_closed"]},
    "get_costs": {"int": ["id", "project"], "str": ["comment"], "date": ["dateadd"]},
    "get_costs_total": {"int": ["project"], "str": [], "date": []},
}
EVERY_FIELD = sorted({f for kinds in ACTIONS.values() for names in kinds.values() for f in names} | {"priority"})
DATE_OPS = ["=", "!=", "! =", ">", "<", ">=", "<="]


def quoted(text: str) -> str:
    """A §5 string literal holding `text` (either quote, backslash escapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Valid values dominate (a single bad value refuses the whole filter, and valid ones are what reach the database);
# the extremes ride along: 2**63 and beyond, 40 digits, negative, far dates, impossible days, long and odd text.
integers = st.one_of(
    st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(2**63 - 2, 2**63 + 2),
    st.integers(0, 10**40), st.sampled_from([0, 1, 9_223_372_036_854_775_807, 18_446_744_073_709_551_616]),
)
int_values = st.one_of(integers.map(str), integers.map(str), integers.map(lambda n: f"'{n}'"),
                       st.integers(-(10**20), -1).map(lambda n: f"'{n}'"), st.just("'  7 '"))
real_days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
any_days = st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32))
date_values = st.one_of(
    real_days.map(lambda d: f"'{d.day:02d}.{d.month:02d}.{d.year:04d}'"),
    real_days.map(lambda d: f"\"{d.year:04d}-{d.month}-{d.day}\""),
    real_days.map(lambda d: f"'{d.day}.{d.month}.{d.year:04d}'"),
    any_days.map(lambda d: f"'{d[2]:02d}.{d[1]:02d}.{d[0]:04d}'"),
    st.sampled_from(["'31.12.9999'", "'01.01.0001'", "'9999-12-31'", "'0001-01-01'", "'29.02.2024'",
                     "'29.02.2023'", "'0000-01-01'", "'30.12.9999'", "'02.01.0001'", "'today'", "''"]),
)
text_values = st.one_of(
    st.text(max_size=30).map(quoted),
    st.text(max_size=30).map(quoted),
    st.text(alphabet="'\"\\%_ \u00df\u0130\u212a\U0001f4a5\u202e", max_size=20).map(quoted),
    st.integers(1, 3000).map(lambda n: quoted("x" * n)),
    st.just('"double \\" quoted"'),
)
any_value = st.one_of(int_values, date_values, text_values)


@st.composite
def condition(draw: st.DrawFn, action: str) -> str:
    """One condition: mostly a field of the action with a value of its kind, sometimes any mismatch."""
    kinds = ACTIONS[action]
    kind = draw(st.sampled_from([k for k, names in kinds.items() if names]))
    if draw(st.integers(0, 29)) == 0:  # unknown field, wrong operator or wrong value type: still valid syntax
        field, kind = draw(st.sampled_from(EVERY_FIELD)), draw(st.sampled_from(["int", "str", "date"]))
    else:
        field = draw(st.sampled_from(kinds[kind]))
    if kind == "int":
        if draw(st.booleans()):
            return f"{field} in ({', '.join(draw(st.lists(int_values, min_size=1, max_size=8)))})"
        return f"{field} = {draw(int_values)}"
    if kind == "str":
        return f"{field} {draw(st.sampled_from(['=', 'has']))} {draw(text_values)}"
    if draw(st.integers(0, 19)) == 0:
        return f"{field} {draw(st.sampled_from(DATE_OPS))} {draw(any_value)}"
    return f"{field}{draw(st.sampled_from(['', ' ']))}{draw(st.sampled_from(DATE_OPS))} {draw(date_values)}"


def combine(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A parenthesised and/or group of 1-6 sub-expressions."""
    return st.tuples(st.sampled_from([" and ", " or "]), st.lists(parts, min_size=1, max_size=6)).map(
        lambda p: "(" + p[0].join(p[1]) + ")")


@st.composite
def filters(draw: st.DrawFn, action: str) -> str:
    """A random tree, a wide flat list (around the condition limit) or a deep nesting (around the depth limit)."""
    shape = draw(st.sampled_from(["tree", "tree", "wide", "deep"]))
    if shape == "tree":
        return draw(st.recursive(condition(action), combine, max_leaves=12))
    if shape == "wide":
        cond = draw(condition(action))
        joiners = draw(st.lists(st.sampled_from([" and ", " or "]), min_size=0, max_size=260))
        return cond + "".join(j + cond for j in joiners)
    depth = draw(st.integers(1, 40))
    text = draw(condition(action))
    for _ in range(depth):
        text = f"({draw(condition(action))}{draw(st.sampled_from([' and ', ' or ']))}{text})" \
            if draw(st.booleans()) else f"({text})"
    return text


class Errors(logging.Handler):
    """Collects log records at ERROR and above (a failed action logs one)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def seed(api: Api) -> None:
    """A few tasks and costs, so that filters run against rows."""
    pid = make_project(api, "Fuzz")
    task = make_task(api, pid, "Straße 💥 'quoted'", date_added=dt.datetime(2024, 2, 29, 23, 30),
                     date_end=dt.date(9999, 12, 30))
    make_task(api, pid, "child", parent_id=task, date_start=dt.date(1, 1, 1))
    with api.state.db.session() as s:
        s.add(Cost(account_id=api.account_id, project_id=pid, task_id=task, top_task_id=task, user_id=api.owner_id,
                   date=dt.date(2024, 2, 29), minutes=5, money_cents=150, comment="Cost 'x'",
                   comment_folded="cost 'x'", is_timer=False, created_at=dt.datetime(2024, 2, 29)))
        account = s.get(Account, api.account_id)
        assert account is not None
        account.timezone = "Pacific/Kiritimati"  # UTC+14: local midnights of year 1 fall before UTC year 1


def test_generated_filters_answer_ok_or_11_never_a_server_error(api: Api, size: Callable[[int, int], int],
                                                                figure: Callable[[str], None]) -> None:
    seed(api)
    outcomes: Counter[str] = Counter()
    handler = Errors()
    logging.getLogger().addHandler(handler)

    @settings(max_examples=size(300, 5_000), deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(ACTIONS)).flatmap(lambda a: st.tuples(st.just(a), filters(a))))
    def run(case: tuple[str, str]) -> None:
        action, text = case
        resp = api.client.post(f"/api/admin/v2?action={action}", json={"filter": text},
                               headers={"Host": api.host, "Authorization": api.admin_header(action)})
        outcomes[str(resp.status_code)] += 1
        assert resp.status_code == 200, (action, text, resp.status_code)
        body = resp.json()
        if body.get("status") == "ok":
            outcomes["ok"] += 1
        else:
            outcomes["11"] += 1
            assert (body.get("status_code"), body.get("message")) == (11, "Filter is invalid"), (action, text, body)
        assert not handler.records, handler.records[-1]

    try:
        run()
    finally:
        logging.getLogger().removeHandler(handler)
        server_errors = sum(n for k, n in outcomes.items() if k.isdigit() and int(k) >= 500)
        figure(f"filter fuzz: {outcomes['200'] + server_errors} filters, {outcomes['ok']} ok, {outcomes['11']} "
               f"refused (11), {server_errors} 5xx, {len(handler.records)} error logs")
    assert server_errors == 0 and not handler.records
