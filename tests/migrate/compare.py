"""Answers of two accounts made comparable: ids dropped, references by e-mail or name, lists sorted."""

from __future__ import annotations

from typing import Any

DROP = {"id", "page", "avatar", "id_group"}  # ids, and what is made of ids


def _ref(value: Any) -> Any:
    if isinstance(value, dict) and "email" in value and "name" in value and len(value) == 3:
        return value["email"]
    return None


def norm(value: Any) -> Any:
    """The content of an answer, without ids: user references become e-mails, projects and tasks names."""
    if isinstance(value, list):
        items = [norm(v) for v in value]
        return sorted(items, key=repr)
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in DROP:
            continue
        if key in ("user_from", "user_to") or (key in ("users", "subscribers") and isinstance(item, list)):
            out[key] = ([_ref(v) for v in item] if isinstance(item, list) else _ref(item))
            if isinstance(out[key], list):
                out[key].sort()
        elif key in ("project", "task", "parent") and isinstance(item, dict):
            out[key] = item.get("name")
        elif key == "tags" and isinstance(item, dict):
            out[key] = sorted(item.values())
        else:
            out[key] = norm(item)
    return out
