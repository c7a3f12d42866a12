"""The one list of what is secret in a request, and the functions that hide it.

A parameter is secret when its lower-cased name is one of SECRET_NAMES or contains one of SECRET_PARTS; its value
is replaced by REDACTED, whatever its type. Values that are URLs lose the password of their user-info part
(`https://user:pw@host` -> `https://user:***@host`: a webhook URL may carry one). Headers are never recorded, so
`Authorization` (Admin signature, bearer token, Basic client credentials) never reaches a log; it is listed here
for anything that would show headers.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
SECRET_NAMES = frozenset({
    "hash",  # md5(query + API key): replayable for the same query
    "code", "code_verifier",  # OAuth authorization code and PKCE verifier
    "api_key", "apikey", "key",
    "authorization", "cookie", "signature",
})
SECRET_PARTS = ("pass", "secret", "token")  # password, http_pass, client_secret, access/refresh/csrf token
MAX_VALUE = 2000  # characters of one value kept in a journal entry
MAX_ITEMS = 200  # parameters (or list items) kept per level
_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@/\s]*@")


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or any(part in lowered for part in SECRET_PARTS)


def _value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        if "://" in value:
            value = _USERINFO.sub(r"\1***@", value)
        return value if len(value) <= MAX_VALUE else value[:MAX_VALUE] + f"…({len(value) - MAX_VALUE} more)"
    if isinstance(value, Mapping):
        return redact(value, depth + 1) if depth < 8 else "…"
    if isinstance(value, (list, tuple)):
        return [_value(v, depth + 1) for v in list(value)[:MAX_ITEMS]] if depth < 8 else "…"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)[:MAX_VALUE]


def redact(params: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """A copy of `params` (nested mappings and lists too) with every secret value replaced and long values cut."""
    out: dict[str, Any] = {}
    for i, (name, value) in enumerate(params.items()):
        if i >= MAX_ITEMS:
            out["…"] = f"{len(params) - MAX_ITEMS} more parameters"
            break
        key = str(name)
        out[key] = REDACTED if is_secret(key) else _value(value, depth)
    return out


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Name/value pairs (a parsed query string) as a redacted mapping; a repeated name keeps its last value."""
    return redact(dict(pairs))


def redact_query(raw: bytes | str) -> dict[str, Any]:
    """A raw query string as a redacted mapping."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return redact_pairs(urllib.parse.parse_qsl(text[:65536], keep_blank_values=True))
