"""The emulator's request journal: the newest requests as JSON entries in a bounded ring buffer (memory only).

Kept only when the emulator is on (`GET /_localsection/requests` shows it); requests to the control API itself are
left out. An entry is built when its request ends, with its parameters redacted (observe.redact), so nothing in
the buffer holds on to a request's objects.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from localsection.observe import redact
from localsection.observe.record import RequestRecord
from localsection.state import AppState

CONTROL_PREFIX = "/_localsection"


def _params(rec: RequestRecord) -> dict[str, Any]:
    params = rec.params
    if isinstance(params, Mapping):
        return redact.redact(params)
    values = getattr(params, "values", None)  # api.params.Params: the merged query and body parameters
    if isinstance(values, Mapping):
        return redact.redact(values)
    return redact.redact_query(rec.query) if rec.query else {}


def entry(rec: RequestRecord, number: int) -> dict[str, Any]:
    """The JSON form of a record."""
    return {"id": number,
            "time": dt.datetime.fromtimestamp(rec.started, dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z",
            "account": rec.account, "method": rec.method, "path": rec.path, "action": rec.action,
            "scheme": rec.scheme, "caller": rec.caller, "params": _params(rec), "http_status": rec.http_status,
            "status": "error" if rec.api_error or rec.http_status >= 400 else "ok", "status_code": rec.code,
            "outcome": rec.outcome, "duration_ms": round(rec.duration * 1000, 3)}


class Journal:
    """A ring buffer of the newest `size` entries, oldest first."""

    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, rec: RequestRecord) -> None:
        if rec.path.startswith(CONTROL_PREFIX) or rec.route.startswith(CONTROL_PREFIX):
            return
        item = entry(rec, 0)
        with self._lock:
            item["id"] = next(self._numbers)
            self._entries.append(item)

    def entries(self, *, account: str | None = None, action: str | None = None, since: dt.datetime | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Matching entries, newest last; `limit` keeps the newest ones; `since` is inclusive (UTC)."""
        with self._lock:
            items = list(self._entries)
        stamp = since.astimezone(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z" if since else None
        out = [e for e in items
               if (account is None or e["account"] == account) and (action is None or e["action"] == action)
               and (stamp is None or e["time"] >= stamp)]
        return out[-limit:] if limit is not None else out

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
        return count


_JOURNALS: WeakKeyDictionary[AppState, Journal] = WeakKeyDictionary()
_JOURNALS_LOCK = threading.Lock()


def journal_of(state: AppState) -> Journal:
    """The journal of an app's state, shared by the middleware that fills it and the control API that reads it."""
    with _JOURNALS_LOCK:
        journal = _JOURNALS.get(state)
        if journal is None:
            journal = _JOURNALS[state] = Journal(state.settings.journal_size)
        return journal
