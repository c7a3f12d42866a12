"""Isolation: every action that takes an id, called with another account's ids and our own credentials.

Figure: leaks (responses carrying any of the victim's data) and writes (victim rows changed) — both must be 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from localsection import dev
from localsection.api.registry import all_actions
from tests.helpers import ADMIN_PATH, USER_PATH, Api
from tests.reliability.world import SPEC, World, build

# Parameter -> which of the victim's ids it takes.
ID_SOURCES = {"id_project": "id_project", "id_task": "id_task", "id_parent": "id_parent", "id_costs": "id_costs",
              "id_file": "id_file", "id": "id", "timer": "timer", "group": "group", "plus": "tag", "minus": "tag",
              "tags": "tag", "projects": "id_project"}
EMAIL_PARAMS = ("email_user_from", "email_user_to", "email_user", "email_manager", "members", "users", "subscribe",
                "hidden", "mention")
# Plausible values for everything else, so that the id is the only thing that can make a call fail.
BASE = {"title": "Intruder", "text": "Intruder text", "time": "0:10", "money": "1.00", "comment": "Intruder",
        "period": "30d", "events": "post_task,post_comment", "type": "label", "access": "public", "plus": "",
        "minus": "", "extra": "text,files,comments,subtasks,subscribers,archive,projects,tasks",
        "url": "http://127.0.0.1:9/intruder", "filter": "name has 'a'"}


def post(api: Api, path: str, action: str, params: dict[str, Any], host: str, auth: str) -> tuple[int, str]:
    resp = api.client.post(f"{path}?action={action}", json=params, headers={"Host": host, "Authorization": auth})
    return resp.status_code, resp.text


def counts(api: Api) -> dict[str, int]:
    with api.state.db.session(write=False) as s:
        return dev.row_counts(s, api.account_id)


def leaked(text: str, sent: dict[str, Any], victim: World) -> list[str]:
    """Victim markers found in a response, after removing the values we sent ourselves (errors echo them)."""
    for value in sent.values():
        text = text.replace(str(value), "")
    low = text.lower()
    return [m for m in victim.markers if m.lower() in low]


def calls(attacker: World, victim: World) -> list[tuple[str, dict[str, Any]]]:
    """(action, params) for every id-taking parameter of every action, with each of the victim's ids."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name in sorted(all_actions()):
        names = SPEC.get(name, [])
        base = {p: BASE[p] for p in names if p in BASE}
        base |= {p: attacker.emails[0] for p in names if p in EMAIL_PARAMS}
        for p in names:
            if p in ID_SOURCES and p not in ("plus", "minus", "tags", "projects"):
                base.setdefault(p, (attacker.ids.get(ID_SOURCES[p]) or [""])[0])
        for p in names:
            for victim_id in victim.ids.get(ID_SOURCES.get(p, ""), []):
                out.append((name, {**base, p: victim_id}))
            if p in EMAIL_PARAMS:
                out.append((name, {**base, p: victim.emails[1]}))
    return out


def test_no_action_leaks_or_writes_another_accounts_data(api: Api, other: Api,
                                                        figure: Callable[[str], None]) -> None:
    victim = build(other, "victimzq")
    attacker = build(api, "attackerzq")
    before = counts(other)
    token = api.token()
    # The detector finds an account's own data in its own answers (so a real leak would not go unseen).
    own = api.md5_get(f"action=get_task&id_task={attacker.ids['id_task'][0]}&extra=text,files,comments")
    assert leaked(json.dumps(own), {}, attacker)
    leaks: list[str] = []
    sent = 0
    for action, params in calls(attacker, victim):
        for path, auth in ((ADMIN_PATH, api.admin_header(action)), (USER_PATH, f"Bearer {token}")):
            status, text = post(api, path, action, params, api.host, auth)
            sent += 1
            assert status < 500, (action, params, text)
            leaks += [f"{action} {params}: {m}" for m in leaked(text, params, victim)]
    after = counts(other)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    figure(f"isolation: {sent} calls with another account's ids, {len(leaks)} leaks, "
           f"{len(changed)} victim tables changed")
    assert leaks == []
    assert changed == {}


def test_our_credentials_on_another_accounts_host_are_refused_by_every_action(
        api: Api, other: Api, figure: Callable[[str], None]) -> None:
    victim = build(other, "victimhq")
    before = counts(other)
    accepted: list[str] = []
    for action in sorted(all_actions()):
        params = {p: (victim.ids.get(ID_SOURCES.get(p, ""), [BASE.get(p, "x")]))[0] for p in SPEC.get(action, [])}
        for path, auth in ((ADMIN_PATH, api.admin_header(action)), (USER_PATH, f"Bearer {api.token()}")):
            status, text = post(api, path, action, params, other.host, auth)
            body = json.loads(text) if text.startswith("{") else {}
            if status == 200 and body.get("status") == "ok":
                accepted.append(f"{path} {action}")
            if leaked(text, params, victim):
                accepted.append(f"{path} {action} leaked")
    changed = {t for t, n in counts(other).items() if before[t] != n}
    figure(f"isolation: {2 * len(all_actions())} foreign-host calls, {len(accepted)} accepted, "
           f"{len(changed)} victim tables changed")
    assert accepted == []
    assert changed == set()


def test_dev_reset_empties_one_account_and_leaves_the_other_untouched(api: Api, other: Api,
                                                                      figure: Callable[[str], None]) -> None:
    build(api, "resetzq")
    build(other, "keepzq")
    kept = counts(other)
    deleted = dev.reset_account(api.state.db, api.account)
    left = {t: n for t, n in counts(api).items() if n}
    figure(f"dev reset: {sum(deleted.values())} rows deleted, other account changed: {counts(other) != kept}")
    assert left == {"users": 1, "teams": 1}  # the owner and the owner's team stay, so the key still works
    assert counts(other) == kept
    assert [u["email"] for u in api.ok("get_users")] == [api.owner_email]
    assert api.ok("get_projects") == []
