"""The event object of get_events and of webhook payloads (PROTOCOL.md §7.3, §8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localsection import access
from localsection.ctx import Ctx
from localsection.models import Event, User
from localsection.render import datetime_min, sid
from localsection.render.members import user_ref


def event_object(ctx: Ctx, row: Event, users: dict[int, User],
                 hidden_tags: frozenset[str] = frozenset()) -> dict[str, Any]:
    """{action, object{type,id,page}, date_added, user_from, new?, old?}; empty new/old are omitted."""
    out: dict[str, Any] = {
        "action": row.action,
        "object": {"type": row.object_type, "id": sid(row.object_id), "page": row.page},
        "date_added": datetime_min(ctx.local(row.date_added)),
    }
    user = users.get(row.user_id)
    if user is not None:
        out["user_from"] = user_ref(user)
    if row.new:
        out["new"] = without_tags(row.new, hidden_tags)
    if row.old:
        out["old"] = without_tags(row.old, hidden_tags)
    return out


def webhook_page(row: Event) -> str:
    """`object.page` of a webhook payload as production sends it (§7.3, revised 2026-12-01).

    Tasks: /task/{TASK_ID}/; comments: their task's page, /task/{TASK_ID}/ (the task is the last id of the
    stored page, which is the task's page without the `#com` anchor); projects: /project/{PROJECT_ID}/.
    get_events keeps the stored (Postman) value.
    """
    if row.object_type == "task":
        return f"/task/{row.object_id}/"
    if row.object_type == "comment":
        ids = [part for part in row.page.split("/") if part.isdigit()]
        return f"/task/{ids[-1]}/" if len(ids) >= 2 else row.page
    if row.object_type == "project":
        return f"/project/{row.object_id}/"
    return row.page


def with_webhook_page(obj: dict[str, Any], row: Event) -> dict[str, Any]:
    """A rendered event object with the production `object.page` of webhook payloads."""
    return {**obj, "object": {**obj["object"], "page": webhook_page(row)}}


def without_tags(values: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """`values` with the tags the caller may not see taken out of its `tags` map."""
    tags = values.get("tags")
    if not hidden or not isinstance(tags, dict):
        return values
    return {**values, "tags": {k: v for k, v in tags.items() if k not in hidden}}


def render_events(ctx: Ctx, rows: Iterable[Event]) -> list[dict[str, Any]]:
    """Event objects in the given order; actors bulk-loaded in one query."""
    rows = list(rows)
    users = access.users_by_id(ctx.db, ctx.account_id, {r.user_id for r in rows})
    hidden_tags = access.hidden_tag_ids(ctx)
    return [event_object(ctx, r, users, hidden_tags) for r in rows]


def for_viewer(obj: dict[str, Any], hidden_tags: frozenset[str]) -> dict[str, Any]:
    """A rendered event object with the tags a viewer may not see taken out of `new` and `old`."""
    if not hidden_tags:
        return obj
    return {k: without_tags(v, hidden_tags) if k in ("new", "old") else v for k, v in obj.items()}
