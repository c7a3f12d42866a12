"""Control API snapshots: `POST /snapshots/<name>` {"account"?}, `POST /snapshots/<name>/restore`,
`GET /snapshots`, `DELETE /snapshots/<name>` (storage and restore: transfer/snapshots.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection.control.routes import _NO_BODY, BadRequest, _body, _handler, _string
from localsection.state import AppState
from localsection.transfer import importer, snapshots
from localsection.transfer.format import ArchiveError

T = TypeVar("T")


async def _run(fn: Callable[[], T]) -> T:
    def guarded() -> T:
        try:
            return fn()
        except snapshots.SnapshotError as exc:
            raise BadRequest(str(exc), exc.status) from None
        except (importer.ImportRefused, ArchiveError) as exc:
            raise BadRequest(str(exc), 409) from None
    return await run_in_threadpool(guarded)


def snapshot_routes(state: AppState) -> list[BaseRoute]:
    """The routes, relative to the mount point `/_localsection`."""
    db = state.db

    async def take(request: Request) -> Response:
        name = str(request.path_params["name"])
        body = await _body(request, optional=True)
        account = None if body is _NO_BODY else _string(body, "account", required=False)
        info = await _run(lambda: snapshots.take(db, name, account))
        return JSONResponse({"status": "ok", "snapshot": info.as_dict()}, 201)

    async def restore(request: Request) -> Response:
        name = str(request.path_params["name"])
        info, ms = await _run(lambda: snapshots.restore(db, name))
        return JSONResponse({"status": "ok", "snapshot": info.as_dict(), "milliseconds": ms})

    async def listing(_: Request) -> Response:
        items = await _run(lambda: snapshots.listing(db))
        return JSONResponse({"status": "ok", "snapshots": [i.as_dict() for i in items]})

    async def remove(request: Request) -> Response:
        name = str(request.path_params["name"])
        await _run(lambda: snapshots.delete(db, name))
        return JSONResponse({"status": "ok", "deleted": name})

    handlers: list[tuple[str, Callable[[Request], Any], str]] = [
        ("/snapshots", listing, "GET"), ("/snapshots/{name}", take, "POST"),
        ("/snapshots/{name}", remove, "DELETE"), ("/snapshots/{name}/restore", restore, "POST")]
    return [Route(path, _handler(fn), methods=[method]) for path, fn, method in handlers]
