"""The state file of a migration: what is done, the files still to fetch, what failed, and the id map.

It is rewritten atomically (temporary file + fsync + rename) after every unit of work, so an interruption at any
moment leaves either the previous or the next state. The id map's master copy is in the database
(`migrated_ids`, written in each unit's own transaction): it decides what exists, so a unit committed just before
a crash — the state file not yet rewritten — is never written twice. The file's copy of the map is refreshed at
the end of every phase and when the run stops (rewriting a map of a million costs after every unit would cost
more than the copy itself).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


class StateError(ValueError):
    """A state file that cannot be used for this migration (another source or account, unreadable)."""


@dataclass
class State:
    source: str
    account: str
    done: set[str] = field(default_factory=set)  # unit keys: "members", "projects", "tasks:<pid>", ...
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> {name, owner kind, owner id}
    failures: list[dict[str, str]] = field(default_factory=list)
    # kind -> source id -> target id: a copy of the database's map, refreshed at the end of each phase and on exit
    ids: dict[str, dict[str, int]] = field(default_factory=dict)
    plan: dict[str, list[str]] = field(default_factory=dict)  # "projects", "comments": source ids to visit
    cursor: dict[str, int] = field(default_factory=dict)  # how far each plan list has been worked through
    requests: int = 0
    _seen: dict[str, set[str]] = field(default_factory=dict, repr=False)

    def planned(self, key: str, source_id: str) -> None:
        """Add a source id to a plan list (once)."""
        items = self.plan.setdefault(key, [])
        seen = self._seen.setdefault(key, set(items))
        if source_id not in seen:
            seen.add(source_id)
            items.append(source_id)

    def failed(self, kind: str, source_id: str, name: str, reason: str) -> None:
        """Record an object that could not be copied (once per object and reason)."""
        entry = {"kind": kind, "id": source_id, "name": name, "reason": reason}
        if entry not in self.failures:
            self.failures.append(entry)

    def as_json(self) -> dict[str, Any]:
        return {"version": VERSION, "source": self.source, "account": self.account, "done": sorted(self.done),
                "files": self.files, "failures": self.failures, "ids": self.ids, "plan": self.plan,
                "cursor": self.cursor, "requests": self.requests}


def load(path: Path, source: str, account: str) -> State:
    """The state of an earlier run of the same migration, or a fresh one when the file does not exist."""
    if not path.exists():
        return State(source, account)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read the state file {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise StateError(f"{path} is not a migration state file of this version")
    if doc.get("source") != source or doc.get("account") != account:
        raise StateError(f"{path} belongs to the migration of {doc.get('source')} into account "
                         f"{doc.get('account')}; use another --state file")
    return State(source, account, set(doc.get("done", [])), dict(doc.get("files", {})),
                 list(doc.get("failures", [])), {k: dict(v) for k, v in doc.get("ids", {}).items()},
                 {k: list(v) for k, v in doc.get("plan", {}).items()},
                 {k: int(v) for k, v in doc.get("cursor", {}).items()}, int(doc.get("requests", 0)))


def write_atomic(path: Path, data: Any) -> None:
    """Write JSON to `path` so that a crash leaves the old or the new content, never a mix (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(path: Path, state: State) -> None:
    write_atomic(path, state.as_json())
