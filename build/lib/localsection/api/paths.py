"""Accounts by path: `/a/<account>/...` serves everything the host root serves, for that account.

`enter_account_path` turns the scope of a request to `/a/<name>/<rest>` into the scope of a request to `/<rest>`
for account `<name>`: the path (and raw path) become the rest, `/a/<name>` is appended to `root_path` (so every
URL the server renders keeps the prefix), and the name is recorded under ACCOUNT_KEY, where the account
resolution (API, OAuth pages and endpoints) takes it before the Host header. Only requests whose path starts
with `/a/` get here (app.ApiPaths checks that with a slice): the others pay nothing.
"""

from __future__ import annotations

from starlette.types import Scope

ACCOUNT_KEY = "localsection.account"  # the account named by the path, lower-cased (ASGI scope extension key)
PREFIX = "/a/"


def enter_account_path(scope: Scope) -> Scope | None:
    """The scope for the rest of an `/a/<name>[/rest]` path, or None when the path names no account (`/a//x`)
    or nests a second prefix (`/a/x/a/y/...`, which would otherwise route through Starlette's root_path)."""
    name, _, rest = scope["path"][len(PREFIX):].partition("/")
    rest = "/" + rest
    if not name or rest.startswith(PREFIX):
        return None
    raw = scope.get("raw_path")
    raw_parts = raw.split(b"/", 3) if isinstance(raw, bytes) else []
    raw_rest = b"/" + raw_parts[3] if len(raw_parts) == 4 else rest.encode("utf-8")
    prefix = PREFIX + name
    return {**scope, "path": rest, "raw_path": raw_rest, "root_path": scope.get("root_path", "") + prefix,
            ACCOUNT_KEY: name.lower()}


def account_in(scope: Scope) -> str | None:
    """The account the path named (`/a/<name>`), or None for a request by Host."""
    name = scope.get(ACCOUNT_KEY)
    return name if isinstance(name, str) else None


def root_in(scope: Scope) -> str:
    """The prefix every URL rendered for this request keeps: `/a/<name>` (after any outer root path), or ''."""
    return str(scope.get("root_path", ""))


def root_for(scope: Scope, account_name: str) -> str:
    """The prefix of URLs for `account_name` rendered by this request: this request's own when the path named
    that account, `/a/<account_name>` on the same outer root when the path named another, '' for Host requests."""
    name = account_in(scope)
    if name is None:
        return ""
    root = root_in(scope)
    if name == account_name:
        return root
    return root[: len(root) - len(PREFIX) - len(name)] + PREFIX + account_name
