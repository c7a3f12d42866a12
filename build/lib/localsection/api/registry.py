"""The @action decorator: the single table of every action, its scope and who may call it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localsection.api.params import Params
from localsection.ctx import Ctx

ActionFunc = Callable[[Ctx, Params], Any]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    func: ActionFunc
    scope: str | None  # OAuth scope a token needs; None = any valid token
    write: bool  # takes the write lock up front (SQLite BEGIN IMMEDIATE)
    user_only: bool  # only with an access token (me, *_my_timer)
    admin_only: bool  # with a token: needs `administrative` and an owner/account-admin user
    threaded: bool = False  # may run long or wait on the network: never on the event loop (api/endpoint.py)
    uploads: bool = False  # takes file parts: its body may reach max_body_bytes (others: max_params_bytes)


_ACTIONS: dict[str, ActionSpec] = {}
_ALIASES: dict[str, str] = {}


def action(name: str, *, scope: str | None, write: bool | None = None, user_only: bool = False,
           admin_only: bool = False, threaded: bool = False, uploads: bool = False,
           aliases: tuple[str, ...] = ()) -> Callable[[ActionFunc], ActionFunc]:
    """Register `func(ctx, params)` as the Worksection action `name`.

    `threaded`: the action's time grows with the data (lists without a natural bound, aggregates) or it waits
    on the network or a file; it always runs in a worker thread so it cannot hold up other requests.
    `uploads`: the action stores file parts, so its body may be as large as a file; every other action's body is
    refused above `max_params_bytes` before it is read.
    """

    def register(func: ActionFunc) -> ActionFunc:
        is_write = write if write is not None else bool(scope and scope.endswith("_write"))
        if name in _ACTIONS:
            raise RuntimeError(f"action {name} registered twice")
        _ACTIONS[name] = ActionSpec(name, func, scope, is_write, user_only, admin_only, threaded, uploads)
        for alias in aliases:
            _ALIASES[alias] = name
        return func

    return register


def lookup(name: str) -> ActionSpec | None:
    """The action registered as `name` (or an alias); the action modules must be loaded
    (`localsection.actions.load_all`, which create_app calls)."""
    return _ACTIONS.get(_ALIASES.get(name, name))


def all_actions() -> dict[str, ActionSpec]:
    return dict(_ACTIONS)
