"""Handlers of the control API: JSON in and out; bad input -> 400 naming the field, never a 500."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection import accounts, clock, dev
from localsection.api.emulation import emulation_for
from localsection.control.deliveries import delivery_routes
from localsection.control.faults import fault_routes
from localsection.control.fixtures import fixture_routes
from localsection.control.requests import request_routes
from localsection.models import Account
from localsection.state import AppState

_NO_BODY = object()
_MIN_UNIX = dt.datetime(1971, 1, 1, tzinfo=dt.UTC).timestamp()
_MAX_UNIX = dt.datetime(9998, 12, 31, tzinfo=dt.UTC).timestamp()


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error(message: str, status: int) -> Response:
    return JSONResponse({"status": "error", "message": message}, status)


async def _body(request: Request, *, optional: bool = False) -> Any:
    """The request's JSON object; `_NO_BODY` for an empty body when `optional`."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return _NO_BODY
        raise BadRequest("a JSON object body is required")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _string(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise BadRequest(f"missing field: {field}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"field {field} must be a non-empty string")
    return value.strip()


def _handler(fn: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)  # type: ignore[no-any-return]
        except BadRequest as exc:
            return _error(exc.message, exc.status)
    return endpoint


def _clock_state() -> dict[str, Any]:
    return {"now": clock.now().isoformat() + "Z", "offset_seconds": round(clock.offset(), 3) + 0.0,
            "frozen": clock.frozen()}


def _parse_time(value: Any) -> float:
    if not isinstance(value, str):
        raise BadRequest("field now must be an ISO 8601 string, e.g. 2030-01-31T09:00:00Z")
    try:
        at = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"field now is not an ISO 8601 time: {value}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)  # naive: UTC, like every stored time
    try:
        return at.timestamp()
    except (OverflowError, OSError, ValueError):
        raise BadRequest(f"field now is out of range: {value}") from None


def control_routes(state: AppState) -> list[BaseRoute]:
    """The routes, relative to the mount point `/_localsection`."""
    emu = emulation_for(state)

    async def create(request: Request) -> Response:
        body = await _body(request)
        name = _string(body, "name")
        assert name is not None
        email = _string(body, "owner_email", required=False) or f"owner@{name.lower()}.example.com"
        realistic = _flag(body, "realistic")

        def run() -> accounts.NewAccount:
            with state.db.session(write=True) as s:
                exists = s.scalars(select(Account.id).where(Account.name == name.lower())).first()
                if exists is not None:
                    raise BadRequest(f"account {name.lower()} already exists", 409)
                try:
                    return accounts.create_account(s, name, email)
                except accounts.AccountError as exc:
                    field = "owner_email" if "e-mail" in str(exc) else "name"
                    raise BadRequest(f"field {field}: {exc}") from None

        created = await run_in_threadpool(run)
        emu.set_realistic(created.account.name, bool(realistic), at_creation=True)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        answer: dict[str, Any] = {"account": created.account.name, "url": f"{origin}/a/{created.account.name}",
                  "api_key": created.account.api_key,
                  "owner": {"email": created.owner.email, "password": created.password}}
        if realistic is not None:
            answer["realistic"] = emu.is_realistic(created.account.name)
        return JSONResponse(answer, 201)

    async def change(request: Request) -> Response:
        name = str(request.path_params["name"]).lower()
        body = await _body(request)
        unknown = sorted(set(body) - {"realistic"})
        if unknown:
            raise BadRequest(f"unknown field: {unknown[0]} (only realistic can be changed)")
        realistic = _flag(body, "realistic")
        if realistic is None:
            raise BadRequest("missing field: realistic (true or false)")

        def exists() -> bool:
            with state.db.session() as s:
                return s.scalars(select(Account.id).where(Account.name == name)).first() is not None

        if not await run_in_threadpool(exists):
            raise BadRequest(f"no account named {name}", 404)
        emu.set_realistic(name, realistic)
        return JSONResponse({"status": "ok", "account": name, "realistic": emu.is_realistic(name)})

    async def remove(request: Request) -> Response:
        name = str(request.path_params["name"])
        account_id = await run_in_threadpool(_account_id, state, name.lower())
        if not await run_in_threadpool(dev.delete_account, state.db, name):
            raise BadRequest(f"no account named {name}", 404)
        emu.forget_account(name.lower(), account_id)
        return JSONResponse({"status": "ok", "account": name.lower()})

    async def reset(request: Request) -> Response:
        body = await _body(request, optional=True)
        name = None if body is _NO_BODY else _string(body, "account")

        def run() -> list[str]:
            with state.db.session(write=False) as s:
                q = select(Account.id, Account.name).order_by(Account.id)
                found = list(s.execute(q if name is None else q.where(Account.name == name.lower())).tuples())
            names = [n for _, n in found] if name is None else [name]
            for each in names:
                dev.reset_account(state.db, each)
            emu.reset(None if name is None else name.lower(), [i for i, _ in found])
            return names

        started = time.perf_counter()
        try:
            names = await run_in_threadpool(run)
        except accounts.AccountError:
            raise BadRequest(f"no account named {name}", 404) from None
        return JSONResponse({"status": "ok", "accounts": names,
                             "milliseconds": round((time.perf_counter() - started) * 1000, 1)})

    async def get_clock(_: Request) -> Response:
        return JSONResponse(_clock_state())

    async def set_clock(request: Request) -> Response:
        body = await _body(request)
        if not any(k in body for k in ("advance", "now", "freeze")):
            raise BadRequest("missing field: one of advance (seconds), now (ISO 8601), freeze (true/false)")
        freeze = body.get("freeze")
        if "freeze" in body and not isinstance(freeze, bool):
            raise BadRequest("field freeze must be true or false")
        advance = body.get("advance")
        if "advance" in body and (isinstance(advance, bool) or not isinstance(advance, (int, float))
                                  or abs(advance) > 100 * 366 * 86400):
            raise BadRequest("field advance must be a number of seconds (at most 100 years either way)")
        at = _parse_time(body["now"]) if "now" in body else None
        if at is not None and not _MIN_UNIX <= at <= _MAX_UNIX:
            raise BadRequest("field now must be between 1971 and 9998")
        target = (at if at is not None else clock.unix()) + (float(advance) if "advance" in body else 0.0)
        if not _MIN_UNIX <= target <= _MAX_UNIX:
            raise BadRequest("field advance would move the clock outside 1971-9998")
        if isinstance(freeze, bool):
            clock.freeze(freeze)
        if at is not None:
            clock.set_unix(at)
        if isinstance(advance, (int, float)):
            clock.shift(float(advance))
        return JSONResponse(_clock_state())

    return [
        Route("/accounts", _handler(create), methods=["POST"]),
        Route("/accounts/{name}", _handler(remove), methods=["DELETE"]),
        Route("/accounts/{name}", _handler(change), methods=["POST"]),
        Route("/reset", _handler(reset), methods=["POST"]),
        Route("/clock", _handler(get_clock), methods=["GET"]),
        Route("/clock", _handler(set_clock), methods=["POST"]),
        *fault_routes(state), *delivery_routes(state), *fixture_routes(state),


        *request_routes(state),  # the request journal (control/requests.py)
    ]


def _flag(body: dict[str, Any], field: str) -> bool | None:
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"field {field} must be true or false")
    return value


def _account_id(state: AppState, name: str) -> int | None:
    with state.db.session() as s:
        return s.scalars(select(Account.id).where(Account.name == name)).first()
