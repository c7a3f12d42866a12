"""Comments (PROTOCOL.md §3.3, §4.4) and the text rendering rules shared with tasks (§3.2)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from localsection.ctx import Ctx
from localsection.models import Comment, StoredFile, User
from localsection.render import datetime_min, sid
from localsection.render.files import comment_file
from localsection.render.members import display_name, user_ref

CHECKLIST_BULLET = "\r\n• "


def compose_text(text: str, todo: Sequence[Any], mentioned: Sequence[User]) -> str:
    """Description, then one "\\r\\n• item" per checklist item, then mentioned names after a space."""
    out = text or ""
    for item in todo:
        out = f"{out}{CHECKLIST_BULLET}{item}" if out else f"• {item}"
    names = ", ".join(display_name(u) for u in mentioned)
    if names:
        out = f"{out} {names}" if out else names
    return out


def compose_html(text: str, todo: Sequence[Any], mentioned: Sequence[User]) -> str:
    """The HTML variant (extra=html): paragraphs kept as <br>, checklist as <ul>, mentions as mailto links."""
    out = html.escape(text or "").replace("\r\n", "\n").replace("\n", "<br>")
    if todo:
        out += "<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in todo) + "</ul>"
    links = ", ".join(f'<a href="mailto:{html.escape(u.email)}">{html.escape(display_name(u))}</a>'
                      for u in mentioned)
    if links:
        out = f"{out} {links}" if out else links
    return out


def mentioned_users(ids: Sequence[Any], users: dict[int, User]) -> list[User]:
    """The users behind stored mention ids (unknown ids are skipped)."""
    return [users[int(i)] for i in ids if str(i).isdigit() and int(i) in users]


def unknown_user(user_id: int) -> dict[str, str]:
    return {"id": sid(user_id), "email": "", "name": ""}


def comment(ctx: Ctx, c: Comment, task_page: str, users: dict[int, User],
            files: list[StoredFile] | None = None) -> dict[str, Any]:
    """{id, page (task page + "#com" + id), text, date_added, user_from[, files]}."""
    author = users.get(c.user_from_id)
    out: dict[str, Any] = {
        "id": sid(c.id),
        "page": f"{task_page}#com{c.id}",
        "text": compose_text(c.text, c.todo or [], mentioned_users(c.mentions or [], users)),
        "date_added": datetime_min(ctx.local(c.date_added)),
        "user_from": user_ref(author) if author else unknown_user(c.user_from_id),
    }
    if files:
        out["files"] = [comment_file(f) for f in files]
    return out
