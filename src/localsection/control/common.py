"""What the control API's handlers share: bounded JSON (or YAML) bodies and one error shape naming the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import yaml
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY_BYTES = 8 * 1024 * 1024  # a fixtures document with inline files; every other body is tiny
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load's loader, refusing anchors/aliases: a few aliases can stand for billions of nodes ("billion
    laughs"), which validating the document would then walk."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed",
                                              self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


class ControlError(Exception):
    """Bad input (400 unless told otherwise): answered as {"status": "error", "message": ...}."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


Handler = Callable[[Request], Awaitable[Response]]


def handler(fn: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ControlError as exc:
            return JSONResponse({"status": "error", "message": exc.message}, exc.status)
    return endpoint


async def read_body(request: Request, *, optional: bool = False, yaml_ok: bool = False,
                    limit: int = 64 * 1024) -> dict[str, Any] | None:
    """The body as an object: JSON, or YAML (safe_load) when `yaml_ok` and the Content-Type says so.

    At most `limit` bytes are read (413 above); None for an empty body when `optional`.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ControlError(f"the body is larger than {limit} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ControlError(f"the body is larger than {limit} bytes", 413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if optional:
            return None
        raise ControlError("a JSON object body is required")
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if yaml_ok and ctype in YAML_TYPES:
        try:
            body = yaml.load(raw, Loader=_NoAliasLoader)  # a SafeLoader (safe_load) without aliases
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None)
            raise ControlError(f"the body is not valid YAML{where}" + (f": {problem}" if problem else "")) from None
    else:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ControlError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be an object")
    return body


def path_of(loc: Sequence[int | str], root: str = "") -> str:
    """A pydantic location as a document path: ("data", "tasks", 2, "executive") -> data.tasks[2].executive."""
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "body"


def describe(exc: ValidationError, root: str = "") -> str:
    """The first problems of a validation error, each as `path: what is wrong`."""
    problems = []
    for error in exc.errors()[:5]:
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "required field is missing"
        problems.append(f"{path_of(loc, root)}: {message}")
    more = len(exc.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
