"""Fuzz: every registered action with generated parameters (hypothesis) over every transport.

Figure: requests sent, 5xx answers and server tracebacks — both must be 0. Quick: 1,000 requests per database;
full (LOCALSECTION_SOAK=1): 25,000 per database, 50,000 in all.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localsection.api.registry import all_actions
from tests.helpers import ADMIN_PATH, USER_PATH, Api
from tests.reliability.world import SPEC, World, build

text = st.text(max_size=40)
junk = st.one_of(text, st.sampled_from(["", " ", "0", "-1", "null", "[]", "{}", "1,2", "%00", "\x00", "💥", "'",
                                        "\"", "\\", "a" * 5000, "9" * 40, "1e309", "NaN", "-0"]))
finite = st.floats(allow_nan=False, allow_infinity=False)
json_value = st.recursive(st.none() | st.booleans() | st.integers() | finite | text,
                          lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3),
                          max_leaves=6)
dates = st.sampled_from(["01.02.2024", "2024-02-01", "31.02.2024", "29.02.2023", "99.99.9999", "2024-13-01",
                         "1.1.1", "00.00.0000", "01.01.0001", "31.12.9999"])
decimals = st.sampled_from(["1.5", "1,5", "0:09", "-3", "0", "1e400", "inf", "99999999999999999999", "1:99",
                            "12.345", ":", "1.2.3"])
filters = st.one_of(text, st.sampled_from([
    "name has 'a'", "project = 1", "id in (1, 2, 3)", "dateadd > '01.01.2024'", "dateend ! = '01.01.2024'",
    "(name = 'x' or project = 2) and parent = 1", "priority > 3", "name has", "((((", "project in ()",
    "comment has 'x'", "dateadd >= '99.99.9999'", "name = 'unterminated", "project = 99999999999999999999"]))


def values(name: str, world: World) -> st.SearchStrategy[Any]:
    """Values for one parameter: valid ids and formats mixed with junk and JSON of every type."""
    own = world.ids.get({"id_parent": "id_task", "plus": "tag", "minus": "tag"}.get(name, name), [])
    options: list[st.SearchStrategy[Any]] = [junk, json_value, st.integers(min_value=-(2**63), max_value=2**64)]
    if own:
        options += [st.sampled_from(own)] * 3
    if name.startswith("email") or name in ("members", "users", "subscribe", "hidden", "mention"):
        options.append(st.sampled_from([*world.emails, "ANY", "NOONE", "x@y", ",".join(world.emails)]))
    if name.startswith("date") or name == "date":
        options.append(dates)
    if name in ("time", "money", "max_time", "max_money"):
        options.append(decimals)
    if name == "filter":
        options.append(filters)
    if name == "url":  # add_webhook probes its URL: only ever loopback ports nobody listens on
        return st.sampled_from(["", "not a url", "ftp://127.0.0.1/x", "http://127.0.0.1:9/hook",
                                "https://127.0.0.1:9/", "http://[::1]:9/x", "javascript:alert(1)"])
    return st.one_of(*options)


@st.composite
def requests(draw: st.DrawFn, world: World) -> tuple[str, str, dict[str, Any]]:
    action = draw(st.sampled_from(sorted(all_actions())))
    known = SPEC.get(action, [])
    chosen = draw(st.lists(st.sampled_from(known), unique=True)) if known else []
    params = {p: draw(values(p, world)) for p in chosen}
    if draw(st.integers(0, 9)) == 0:
        params[draw(text)] = draw(junk)
    transport = draw(st.sampled_from(["json", "json", "form", "md5-get", "token"]))
    return action, transport, params


def send(api: Api, token: str, action: str, transport: str, params: dict[str, Any]) -> int:
    """One request; the HTTP status (an exception escaping the app counts as 500)."""
    flat = {k: v if isinstance(v, str) else str(v) for k, v in params.items()}
    headers = {"Host": api.host}
    try:
        if transport == "json":
            headers["Authorization"] = api.admin_header(action)
            resp = api.client.post(f"{ADMIN_PATH}?action={action}", json=params, headers=headers)
        elif transport == "form":
            headers["Authorization"] = api.admin_header(action)
            resp = api.client.post(f"{ADMIN_PATH}?action={action}", data=flat, headers=headers)
        elif transport == "md5-get":
            query = urllib.parse.urlencode({"action": action, **flat}, quote_via=urllib.parse.quote)
            digest = hashlib.md5((query + api.api_key).encode()).hexdigest()
            resp = api.client.get(f"{ADMIN_PATH}?{query}&hash={digest}", headers=headers)
        else:
            headers["Authorization"] = f"Bearer {token}"
            resp = api.client.post(f"{USER_PATH}?action={action}", json=params, headers=headers)
    except Exception:
        logging.getLogger("fuzz").exception("exception escaped the app: %s %s %r", action, transport, params)
        return 500
    return resp.status_code


class Tracebacks(logging.Handler):
    """Counts log records that carry a traceback or are errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def test_every_action_survives_generated_parameters(api: Api, size: Callable[[int, int], int],
                                                    figure: Callable[[str], None]) -> None:
    world = build(api, "fuzzq")
    token = api.token()
    statuses: Counter[int] = Counter()
    handler = Tracebacks()
    logging.getLogger().addHandler(handler)

    @settings(max_examples=size(1000, 25_000), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests(world))
    def run(req: tuple[str, str, dict[str, Any]]) -> None:
        action, transport, params = req
        status = send(api, token, action, transport, params)
        statuses[status] += 1
        assert status < 500, (action, transport, params)
        assert not handler.records, handler.records[-1]

    try:
        run()
    finally:
        logging.getLogger().removeHandler(handler)
        server_errors = sum(n for s, n in statuses.items() if s >= 500)
        figure(f"fuzz: {sum(statuses.values())} requests over {len(all_actions())} actions, "
               f"{server_errors} 5xx, {len(handler.records)} tracebacks; statuses {dict(sorted(statuses.items()))}")
    assert server_errors == 0
