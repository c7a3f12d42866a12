"""The official Postman collections as test data: finding them, their example responses, and one shape check.

The collections are kept in the repository as test data (`tests/data/postman/`, see `tests/data/README.md`), so
a fresh clone runs the suite with nothing beside it. Example bodies are hand-edited and some carry trailing
commas, which are tolerated.

`shape_problems(example, ours)` lists how our response falls short of an example: every key the example
has must be in ours (nested too) with the same JSON kind. Options make it stricter where a test wants that:
`key_order` (the example's keys appear in ours in the same relative order, at every level), `exact` (no keys
the example lacks, no items where its list is empty), `as_many_items` (our lists are at least as long as the
example's) and `lists` ("first": each of our items against the example's first item; "pairwise": the example's
item i against our item i, or our last item when our list is shorter, for examples whose items differ).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

CLIENT_API = "ws_client_api_postman_collection.json"
OAUTH2 = "ws_oauth2_postman_collection.json"

DATA_DIR = Path(__file__).resolve().parent / "data"
ACTIONS_JSON = DATA_DIR / "actions.json"  # the machine-readable action catalogue of PROTOCOL.md

_TRAILING_COMMA = re.compile(r",(\s*[\]}])")


def collection_path(collection: str = CLIENT_API) -> Path:
    return DATA_DIR / "postman" / collection


@cache
def action_catalogue() -> tuple[dict[str, Any], ...]:
    """Every action of the protocol catalogue (name, auth, scope, params, response), in catalogue order."""
    return tuple(json.loads(ACTIONS_JSON.read_text(encoding="utf-8")))


def parse_body(text: str) -> Any:
    """An example body as JSON; raises ValueError when it is not JSON (a file download, say)."""
    return json.loads(_TRAILING_COMMA.sub(r"\1", text))


@cache
def _load(path: Path) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Request name -> (its top-level folder or None, the request item)."""
    found: dict[str, tuple[str | None, dict[str, Any]]] = {}

    def walk(items: list[dict[str, Any]], folder: str | None) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"], folder or item["name"])
            else:
                if item["name"] in found:
                    raise ValueError(f"{path.name}: two requests named {item['name']}")
                found[item["name"]] = (folder, item)

    walk(json.loads(path.read_text(encoding="utf-8"))["item"], None)
    return found


@cache
def _bodies(path: Path, request: str, response: str) -> tuple[Any, ...]:
    try:
        _, item = _load(path)[request]
    except KeyError:
        raise LookupError(f"{path.name} has no request named {request}") from None
    bodies = tuple(parse_body(r.get("body") or "") for r in item.get("response", []) if r["name"] == response)
    if not bodies:
        raise LookupError(f"{path.name}: {request} has no {response!r} example")
    return bodies


def example_names(folder: str | None = None, collection: str = CLIENT_API) -> dict[str, list[str]]:
    """Request name -> the names of its example responses, for the whole collection or one top-level folder."""
    return {name: [r["name"] for r in item.get("response", [])]
            for name, (where, item) in _load(collection_path(collection)).items() if folder in (None, where)}


def examples(request: str, response: str = "success", collection: str = CLIENT_API) -> list[Any]:
    """The parsed bodies of a request's example responses with that name ("success", "error", ...), in order."""
    return copy.deepcopy(list(_bodies(collection_path(collection), request, response)))


def example(request: str, response: str = "success", index: int = 0, collection: str = CLIENT_API) -> Any:
    """One example body (a fresh copy, so a test may change it)."""
    return copy.deepcopy(_bodies(collection_path(collection), request, response)[index])


def json_kind(value: Any) -> str:
    """The JSON kind of a decoded value; integers and other numbers are told apart, as they are on the wire."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _is_id_map(value: dict[str, Any]) -> bool:
    """An {id: title} map such as a project's `tags`: its keys are ids, not field names."""
    return bool(value) and all(key.isdigit() for key in value)


def shape_problems(example: Any, ours: Any, *, lists: Literal["first", "pairwise"] = "first",
                   key_order: bool = False, exact: bool = False, as_many_items: bool = False,
                   path: str = "$") -> list[str]:
    """How `ours` falls short of the shape of `example` (see the module docstring); empty when it does not."""
    if json_kind(example) != json_kind(ours):
        return [f"{path}: example is {json_kind(example)}, ours is {json_kind(ours)}"]

    def deeper(ex: Any, mine: Any, where: str) -> list[str]:
        return shape_problems(ex, mine, lists=lists, key_order=key_order, exact=exact, as_many_items=as_many_items,
                              path=where)

    problems: list[str] = []
    if isinstance(example, dict) and _is_id_map(example):
        if not ours:
            problems.append(f"{path}: empty map where the example has entries")
        problems += [f"{path}.{key}: not an id" for key in ours if not key.isdigit()]
        first = next(iter(example.values()))
        for key, value in ours.items():
            problems += deeper(first, value, f"{path}.{key}")
    elif isinstance(example, dict):
        problems += [f"{path}.{key}: missing" for key in example if key not in ours]
        if exact:
            problems += [f"{path}.{key}: not in the example" for key in ours if key not in example]
        common = [key for key in example if key in ours]
        if key_order and [key for key in ours if key in example] != common:
            problems.append(f"{path}: key order {list(ours)} differs from {list(example)}")
        for key in common:
            problems += deeper(example[key], ours[key], f"{path}.{key}")
    elif isinstance(example, list):
        if not example:
            if exact and ours:
                problems.append(f"{path}: {len(ours)} items where the example has none")
        elif not ours:
            problems.append(f"{path}: empty list where the example has items")
        else:
            if as_many_items and len(ours) < len(example):
                problems.append(f"{path}: {len(ours)} items, the example has {len(example)}")
            if lists == "pairwise":  # our last item stands in for example items beyond our list
                for i, ex in enumerate(example):
                    problems += deeper(ex, ours[min(i, len(ours) - 1)], f"{path}[{i}]")
            else:
                for i, mine in enumerate(ours):
                    problems += deeper(example[0], mine, f"{path}[{i}]")
    return problems


def assert_shape(example: Any, ours: Any, *, lists: Literal["first", "pairwise"] = "first",
                 key_order: bool = False, exact: bool = False, as_many_items: bool = False) -> None:
    problems = shape_problems(example, ours, lists=lists, key_order=key_order, exact=exact,
                              as_many_items=as_many_items)
    assert not problems, "not shaped like the Postman example:\n" + "\n".join(problems)
