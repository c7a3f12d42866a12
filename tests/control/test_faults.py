"""Fault rules of the control API (`/_localsection/faults`), through the API in-process."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from localsection.api.emulation import Emulation
from tests.factories import make_project
from tests.helpers import ADMIN_PATH, Api


def fault(ctl: TestClient, **rule: Any) -> dict[str, Any]:
    resp = ctl.post("/_localsection/faults", json=rule)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def raw_call(api: Api, action: str, **params: Any) -> Any:
    return api.client.post(f"{ADMIN_PATH}?action={action}", json=params or None,
                           headers={"Host": api.host, "Authorization": api.admin_header(action)})


def test_a_429_rule_answers_too_many_requests_with_retry_after_exactly_times_times(
        ctl: TestClient, acct: Api, emu: Emulation) -> None:
    rule = fault(ctl, action="get_users", http_status=429, retry_after=7, times=2)
    assert (rule["fired"], rule["times"], rule["http_status"]) == (0, 2, 429)
    answers = [raw_call(acct, "get_users") for _ in range(4)]
    assert [r.status_code for r in answers] == [429, 429, 200, 200]
    assert answers[0].json() == {"status": "error", "message": "Too many requests"}
    assert answers[0].headers["retry-after"] == "7"
    assert answers[2].json()["status"] == "ok"
    # Other actions are not matched.
    assert acct.call("get_projects")["status"] == "ok"
    listed = ctl.get("/_localsection/faults").json()["faults"]
    assert [(r["id"], r["fired"], r["matched"]) for r in listed] == [(rule["id"], 2, 2)]


def test_a_5xx_rule_answers_that_status_in_json(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    fault(ctl, action="get_projects", http_status=503)
    resp = raw_call(acct, "get_projects")
    assert resp.status_code == 503
    assert resp.json() == {"status": "error", "message": "Service Unavailable"}


def test_an_envelope_rule_answers_http_200_with_the_worksection_error(ctl: TestClient, acct: Api,
                                                                      emu: Emulation) -> None:
    fault(ctl, action="get_task", status_code=5, message="Task is invalid")
    resp = raw_call(acct, "get_task", id_task=1)
    assert resp.status_code == 200
    assert resp.json() == {"status": "error", "status_code": 5, "message": "Task is invalid"}


def test_a_write_action_that_faults_writes_nothing(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    pid = make_project(acct, "P")
    fault(ctl, action="post_task", http_status=500, times=1)
    resp = raw_call(acct, "post_task", id_project=pid, title="never")
    assert resp.status_code == 500
    assert acct.ok("get_all_tasks") == []
    assert [e for e in acct.ok("get_events", period="1d") if e["object"]["type"] == "task"] == []
    # The rule is spent: the same call now creates the task.
    assert acct.ok("post_task", id_project=pid, title="now")["name"] == "now"


def test_latency_delays_the_answer_and_the_action_still_runs(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    fault(ctl, action="get_users", latency_ms=300, times=1)
    started = time.perf_counter()
    body = acct.call("get_users")
    assert time.perf_counter() - started >= 0.29
    assert body["status"] == "ok"
    started = time.perf_counter()
    acct.call("get_users")
    assert time.perf_counter() - started < 0.29


def test_a_rule_for_one_account_leaves_another_alone(ctl: TestClient, acct: Api, acct2: Api,
                                                     emu: Emulation) -> None:
    fault(ctl, account=acct.account, http_status=502)
    assert raw_call(acct, "get_users").status_code == 502
    assert raw_call(acct2, "get_users").status_code == 200
    # Also when the account is named by the path.
    resp = ctl.post(f"/a/{acct.account}{ADMIN_PATH}?action=get_users",
                    headers={"Authorization": acct.admin_header("get_users")})
    assert resp.status_code == 502


def test_probability_with_a_seed_fires_the_same_requests_every_time(ctl: TestClient, acct: Api,
                                                                    emu: Emulation) -> None:
    def pattern() -> list[int]:
        ctl.delete("/_localsection/faults")
        fault(ctl, action="get_users", http_status=503, probability=0.5, seed=42)
        return [raw_call(acct, "get_users").status_code for _ in range(16)]

    first = pattern()
    assert first == pattern()
    assert 503 in first and 200 in first


def test_delete_one_rule_or_all(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    a = fault(ctl, action="get_users", http_status=500)
    fault(ctl, action="get_projects", http_status=500)
    assert ctl.delete(f"/_localsection/faults/{a['id']}").status_code == 200
    assert raw_call(acct, "get_users").status_code == 200
    assert raw_call(acct, "get_projects").status_code == 500
    assert ctl.delete(f"/_localsection/faults/{a['id']}").status_code == 404
    assert ctl.delete("/_localsection/faults").json() == {"status": "ok", "removed": 1}
    assert raw_call(acct, "get_projects").status_code == 200
    assert ctl.get("/_localsection/faults").json()["faults"] == []


def test_reset_of_an_account_removes_its_rules_and_keeps_others(ctl: TestClient, acct: Api, acct2: Api,
                                                                emu: Emulation) -> None:
    fault(ctl, account=acct.account, http_status=500)
    fault(ctl, account=acct2.account, http_status=500)
    assert ctl.post("/_localsection/reset", json={"account": acct.account}).status_code == 200
    assert raw_call(acct, "get_users").status_code == 200
    assert raw_call(acct2, "get_users").status_code == 500
    assert ctl.post("/_localsection/reset").status_code == 200  # every account: every rule
    assert ctl.get("/_localsection/faults").json()["faults"] == []


@pytest.mark.parametrize(("rule", "message"), [
    ({}, "the rule does nothing"),
    ({"http_status": 200}, "http_status: Input should be greater than or equal to 400"),
    ({"status_code": 5}, "status_code needs a message"),
    ({"http_status": 500, "status_code": 5, "message": "x"}, "give only one of"),
    ({"http_status": 500, "times": 0}, "times: Input should be greater than or equal to 1"),
    ({"http_status": 500, "probability": 2}, "probability: Input should be less than or equal to 1"),
    ({"http_status": 500, "colour": "red"}, "colour: unknown field"),
    ({"http_status": "500"}, "http_status: Input should be a valid integer"),
    ({"http_status": 500, "action": "get_everything"}, "action: no action named get_everything"),
])
def test_a_bad_rule_is_a_400_naming_the_field_and_adds_nothing(ctl: TestClient, emu: Emulation,
                                                               rule: dict[str, Any], message: str) -> None:
    resp = ctl.post("/_localsection/faults", json=rule)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["message"]
    assert ctl.get("/_localsection/faults").json()["faults"] == []


def test_without_the_emulator_the_faults_path_is_a_404(client: TestClient) -> None:
    assert client.post("/_localsection/faults", json={"http_status": 500}).status_code == 404
    assert client.get("/_localsection/deliveries").status_code == 404
    assert client.post("/_localsection/fixtures", json={}).status_code == 404


def test_a_rule_for_an_alias_matches_its_action(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    assert fault(ctl, action="post_subtask", http_status=500)["action"] == "post_task"
    assert raw_call(acct, "post_task", id_project=1, title="x").status_code == 500


def test_rules_apply_to_the_oauth_api_too(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    token = acct.token()
    fault(ctl, action="me", status_code=20, message="Access denied", times=1)
    assert acct.user_call(token, "me") == {"_http": 200, "status": "error", "status_code": 20,
                                           "message": "Access denied"}
    assert acct.user_call(token, "me")["status"] == "ok"
