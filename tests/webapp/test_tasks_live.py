"""The live stream (`/live`, server-sent events): who may open it, what it sends, and to whom."""

from __future__ import annotations

import json
import threading
from typing import Any

from starlette.applications import Starlette

from localsection.webapp import live
from tests.helpers import Api
from tests.webapp.helpers import WebClient, add_user, web_client


def _changes(client: WebClient, path: str, wanted: int, act: Any, headers: dict[str, str] | None = None,
             timeout: float = 20.0) -> list[dict[str, Any]]:
    """Open the stream, run `act` once it is open, and collect `wanted` change events (or stop at `timeout`)."""
    out: list[dict[str, Any]] = []
    timer = threading.Timer(timeout, lambda: None)
    with client.http.stream("GET", client.url(path), headers=headers or {}, timeout=timeout) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        started = False
        event = ""
        for line in resp.iter_lines():
            if not started:
                started = True
                threading.Thread(target=act, daemon=True).start()
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "change":
                out.append(json.loads(line[6:]))
                if len(out) >= wanted:
                    break
    timer.cancel()
    return out


def test_the_stream_needs_a_session_and_well_formed_topics(web_app: Starlette, api: Api) -> None:
    assert web_client(web_app, api).get("/live?topics=project:1").status_code == 401
    owner_web = web_client(web_app, api)
    owner_web.sign_in()
    assert owner_web.get("/live").status_code == 400
    assert owner_web.get("/live?topics=project:x").status_code == 400
    assert owner_web.get("/live?topics=" + ",".join(f"task:{i}" for i in range(60))).status_code == 400
    assert live.parse_topics("project:12, task:034") == {"project:12", "task:34"}


def test_a_change_reaches_the_streams_of_users_who_may_see_it_and_no_one_else(web_app: Starlette, api: Api,
                                                                              other: Api) -> None:
    pid = int(api.ok("post_project", title="Live")["id"])
    tid = int(api.ok("post_task", id_project=pid, title="Watched")["id"])
    owner = web_client(web_app, api)
    owner.sign_in()
    got = _changes(owner, f"/live?topics=project:{pid}", 2,
                   lambda: (api.ok("update_task", id_task=tid, priority=5),
                            api.ok("post_comment", id_task=tid, text="hi")))
    assert [(c["topic"], c["event"]) for c in got] == [(f"project:{pid}", "update_task"),
                                                       (f"project:{pid}", "post_comment")]
    assert got[0]["id"] < got[1]["id"]
    # a task topic matches the task's own events and its comments; resuming after the first sends the second
    again = _changes(owner, f"/live?topics=task:{tid}", 1, lambda: None,
                     headers={"Last-Event-ID": str(got[0]["id"])})
    assert again == [{"topic": f"task:{tid}", "event": "post_comment", "id": got[1]["id"]}]
    # a user who is not a member of the project sees nothing of it: only their own project's change arrives
    add_user(api, "outsider@example.com")
    outsider = web_client(web_app, api)
    outsider.sign_in("outsider@example.com", "user-pass-123")
    own = int(api.ok("post_project", title="Theirs", members="outsider@example.com")["id"])
    seen = _changes(outsider, f"/live?topics=project:{pid},project:{own}", 1,
                    lambda: (api.ok("update_task", id_task=tid, priority=6),
                             api.ok("post_task", id_project=own, title="For them")))
    assert [(c["topic"], c["event"]) for c in seen] == [(f"project:{own}", "post_task")]
