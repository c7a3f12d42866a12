"""The merged parameter map of one request and the Worksection value formats (PROTOCOL.md §1.3, §3.1)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from localsection import errors
from localsection.formats import parse_date, parse_decimal, parse_id, truthy

# Params whose JSON arrays are joined into comma lists.
COMMA_LIST_PARAMS = frozenset(
    {"members", "projects", "users", "subscribe", "hidden", "mention", "tags", "plus", "minus", "extra", "events"}
)
_OPTION_KEY = re.compile(r"^options(?:\.|_|\[)([a-z_]+)\]?$")


@dataclass
class UploadedPart:
    """A file part of a multipart body (never a parameter); `file` is spooled to disk when large."""

    field: str
    filename: str
    content_type: str
    file: BinaryIO
    size: int


@dataclass
class Params:
    """Parameters merged from query, form, multipart and JSON (later sources override earlier ones)."""

    values: dict[str, Any] = field(default_factory=dict)
    query_pairs: list[tuple[str, str]] = field(default_factory=list)
    body_pairs: list[tuple[str, str]] = field(default_factory=list)
    raw_query: str = ""
    files: list[UploadedPart] = field(default_factory=list)
    body_json: dict[str, Any] | None = None  # a JSON body as sent
    body_params: bool = False  # the body carried at least one parameter (form, multipart text part or JSON key)
    body_size: int = 0  # bytes of a urlencoded or JSON body (multipart: 0, it is streamed)
    must_sign: tuple[str, ...] = ()  # parameters an md5 signature must cover (the file of /download/{id}/)

    def query_value(self, name: str) -> str | None:
        """The first value of `name` in the query string (the query decides the action, PROTOCOL.md §1.3)."""
        return next((v for k, v in self.query_pairs if k == name), None)

    def body_value(self, name: str) -> str | None:
        """The last value of `name` in a form or multipart body, or a JSON body's scalar value; None when absent."""
        if self.body_json is not None:
            v = self.body_json.get(name)
            return None if v is None or isinstance(v, (dict, list)) else _scalar(v)
        return next((v for k, v in reversed(self.body_pairs) if k == name), None)

    # -- building -------------------------------------------------------------------------------

    def add_pairs(self, pairs: list[tuple[str, str]]) -> None:
        """Merge form-style pairs: `k[]` collects a list, a plain repeat keeps the last value."""
        lists: dict[str, list[str]] = {}
        for key, value in pairs:
            value = value.replace("\x00", "")  # PostgreSQL text cannot hold NUL; never worth a 500
            opt = _OPTION_KEY.match(key)
            if opt:
                self.values.setdefault("options", {})
                if isinstance(self.values["options"], dict):
                    self.values["options"][opt.group(1)] = value
                continue
            if key.endswith("[]"):
                lists.setdefault(key[:-2], []).append(value)
                continue
            self.values[key] = value
        for key, items in lists.items():
            self.values[key] = items

    def add_json(self, body: dict[str, Any]) -> None:
        """Merge a JSON object, normalising native JSON types to their form-encoded equivalents."""
        for key, value in body.items():
            if key.endswith("[]"):
                key = key[:-2]
            opt = _OPTION_KEY.match(key)
            if opt:
                self.values.setdefault("options", {})
                if isinstance(self.values["options"], dict):
                    self.values["options"][opt.group(1)] = _scalar(value)
                continue
            if value is None:
                continue
            if isinstance(value, list):
                if key in COMMA_LIST_PARAMS:
                    self.values[key] = ",".join(_scalar(v) for v in value if v is not None)
                elif key == "files":
                    self.values[key] = value
                else:
                    self.values[key] = [_scalar(v) for v in value]
            elif isinstance(value, dict):
                self.values[key] = value
            else:
                self.values[key] = _scalar(value)

    # -- reading --------------------------------------------------------------------------------

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        """True when the parameter was given with a non-empty value."""
        v = self.values.get(name)
        return v not in (None, "", [], {})

    def text(self, name: str, required: bool = False, details: str | None = None) -> str | None:
        """A text parameter; empty means not given."""
        v = self.values.get(name)
        if isinstance(v, list):
            v = v[-1] if v else None
        if isinstance(v, dict):
            v = None
        if v is None or v == "":
            if required:
                raise errors.required(details or name)
            return None
        return str(v)

    def req_text(self, name: str, details: str | None = None) -> str:
        v = self.text(name, required=True, details=details)
        assert v is not None
        return v

    def id(self, name: str, invalid: errors.ApiError | None = None) -> int | None:
        """An optional numeric id; a non-numeric value raises `invalid` (default: 11)."""
        v = self.text(name)
        if v is None:
            return None
        return parse_id(v, invalid or errors.invalid_value("Invalid id", name))

    def req_id(self, name: str, invalid: errors.ApiError | None = None) -> int:
        v = self.id(name, invalid)
        if v is None:
            raise errors.required(name)
        return v

    def csv(self, name: str) -> list[str]:
        """A comma list (or repeated / JSON array): trimmed, empties dropped."""
        v = self.values.get(name)
        if v is None:
            return []
        items = v if isinstance(v, list) else str(v).split(",")
        return [s.strip() for s in (str(i) for i in items) if s.strip()]

    def multi(self, name: str) -> list[str]:
        """A repeated/array parameter such as todo[] (no comma splitting)."""
        v = self.values.get(name)
        if v is None or v == "":
            return []
        items = v if isinstance(v, list) else [v]
        return [str(i) for i in items if str(i).strip() != ""]

    def extra(self) -> set[str]:
        return {s.lower() for s in self.csv("extra")}

    def flag(self, name: str) -> bool | None:
        """1/0/true/false; None when absent."""
        v = self.text(name)
        if v is None:
            return None
        return truthy(v)

    def date(self, name: str) -> dt.date | None:
        v = self.text(name)
        if v is None:
            return None
        return parse_date(v, name)

    def decimal(self, name: str) -> Decimal | None:
        v = self.text(name)
        if v is None:
            return None
        return parse_decimal(v, name)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        import orjson

        return orjson.dumps(value).decode()
    return str(value).replace("\x00", "")
