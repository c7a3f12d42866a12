"""The web app's pages fill in the request record: the sign-in form as `password`, signed-in pages as `session`."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from localsection.app import create_app
from localsection.state import AppState
from tests.helpers import Api
from tests.observe.conftest import Lines
from tests.webapp.helpers import web_client


def test_sign_in_and_pages_are_journaled_with_their_scheme_and_no_password(backend: AppState, api: Api,
                                                                           log_lines: Lines) -> None:
    app = create_app(state=AppState(backend.settings.with_(emulator=True), backend.db))
    web = web_client(app, api)
    assert web.sign_in().status_code in (302, 303)
    assert web.get("/me").status_code == 200
    entries = TestClient(app).get("/_localsection/requests", params={"account": api.account}).json()["requests"]
    schemes = [(e["method"], e["path"], e["scheme"], e["caller"]) for e in entries]
    assert ("POST", "/login", "password", api.owner_email) in schemes
    assert ("GET", "/me", "session", api.owner_email) in schemes
    login = next(e for e in entries if e["method"] == "POST" and e["path"] == "/login")
    assert login["params"]["password"] == "[redacted]"
    assert api.owner_password not in json.dumps(entries) + "\n".join(log_lines.text)
