"""A second localsection server in emulator mode, holding a small realistic-mode account: the migration's source."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.compat.conftest import running_server

SEED: dict[str, Any] = {
    "teams": [{"key": "design", "title": "Design"}, {"key": "client-co", "title": "Client Co", "client": True}],
    "users": [
        {"key": "kate", "email": "kate@acme.test", "first_name": "Kate", "last_name": "Greenway",
         "role": "account admin", "team": "design", "title": "Lead"},
        {"key": "sam", "email": "sam@acme.test", "first_name": "Sam", "last_name": "Ortiz", "team": "design"},
        {"key": "carla", "email": "carla@client.test", "first_name": "Carla", "role": "guest", "team": "client-co"},
    ],
    "contacts": [{"key": "vendor", "email": "sales@vendor.test", "name": "Vera Vendor", "folder": "Suppliers",
                  "phone": "+1 555 0100"}],
    "tag_groups": [
        {"key": "stage", "title": "Stage", "type": "status",
         "tags": [{"key": "todo", "title": "To do"}, {"key": "review", "title": "In review"}]},
        {"key": "kind", "title": "Kind", "type": "label", "tags": [{"key": "bug", "title": "Bug"}]},
        {"key": "health", "title": "Health", "applies_to": "project", "type": "label",
         "tags": [{"key": "on-track", "title": "On track"}]},
    ],
    "projects": [
        {"key": "site", "title": "Website", "folder": "Clients", "manager": "kate",
         "members": ["kate", "sam", "carla"], "options": {"allow_close": 1}, "text": "The new site",
         "date_start": "2026-01-05", "date_end": "2026-06-30", "max_time": 120, "tags": ["on-track"]},
        {"key": "old", "title": "Old site", "archived": True},
    ],
    "tasks": [
        {"key": "home", "project": "site", "title": "Home page", "author": "kate", "executive": "sam",
         "priority": 7, "date_start": "2026-01-05", "date_end": "2026-01-31", "tags": ["todo", "bug"],
         "subscribers": ["kate"], "text": "Hero, news, footer", "todo": ["Draft", "Review"],
         "files": [{"key": "brief", "name": "brief.txt", "text": "Make it pop."}],
         "subtasks": [
             {"key": "hero", "title": "Hero banner", "executive": "sam", "priority": 5,
              "subtasks": [{"key": "hero-img", "title": "Pick the image", "done": True}]},
             {"key": "footer", "title": "Footer", "tags": ["review"]},
         ]},
        {"key": "launch", "project": "site", "title": "Launch", "executive": "kate", "done": True},
        {"key": "legacy", "project": "old", "title": "Legacy fixes", "author": "sam", "text": "Old things"},
    ],
    "comments": [
        {"key": "c1", "task": "home", "author": "sam", "text": "First draft is up.",
         "files": [{"key": "shot", "name": "draft.png", "base64": "iVBORw0KGgoAAAANSUhEUg=="}]},
        {"key": "c2", "task": "home", "author": "kate", "text": "Looks good."},
        {"key": "c3", "task": "hero-img", "author": "carla", "text": "Use the blue one."},
    ],
    "costs": [
        {"key": "k1", "task": "home", "author": "sam", "time": "1:30", "date": "2026-01-06", "comment": "Layout"},
        {"key": "k2", "task": "hero", "author": "kate", "money": "250.00", "date": "2026-01-07",
         "comment": "Stock photo"},
        {"key": "k3", "task": "legacy", "author": "sam", "time": "0:45", "money": "12.50", "date": "2025-11-02"},
    ],
}


@dataclass
class Source:
    server: str  # http://127.0.0.1:PORT
    name: str
    api_key: str

    @property
    def url(self) -> str:
        """What `--from` gets: the account's address."""
        return f"{self.server}/a/{self.name}"

    def realistic(self, on: bool) -> None:
        resp = httpx.post(f"{self.server}/_localsection/accounts/{self.name}", json={"realistic": on}, timeout=10)
        assert resp.status_code == 200, resp.text

    def get(self, action: str, **params: str) -> httpx.Response:
        """One md5-signed admin API call (realistic mode off first when many are made)."""
        query = urlencode({"action": action, **params})
        digest = hashlib.md5((query + self.api_key).encode()).hexdigest()
        return httpx.get(f"{self.url}/api/admin/v2/?{query}&hash={digest}", timeout=30)

    def ok(self, action: str, **params: str) -> Any:
        body = self.get(action, **params).json()
        assert body["status"] == "ok", body
        return body.get("data", body)


def make_source(server: str, name: str, seed: dict[str, Any], *, realistic: bool = True) -> Source:
    resp = httpx.post(f"{server}/_localsection/accounts", json={"name": name, "realistic": realistic}, timeout=10)
    assert resp.status_code == 201, resp.text
    src = Source(server, name, resp.json()["api_key"])
    resp = httpx.post(f"{server}/_localsection/fixtures", json={"account": name, "data": seed}, timeout=60)
    assert resp.status_code == 200, resp.text
    return src


@pytest.fixture(scope="session")
def source_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `localsection serve` with the emulator's control API, on SQLite."""
    data: Path = tmp_path_factory.mktemp("migrate-source")
    with running_server(data, {"LOCALSECTION_EMULATOR": "1"}) as srv:
        yield srv.url
