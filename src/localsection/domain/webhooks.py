"""Webhooks a user registers (PROTOCOL.md §4.9, §7); their delivery is localsection.webhooks' work."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from localsection import access, errors, webhooks
from localsection.ctx import Ctx
from localsection.formats import is_digits
from localsection.models import Project, Webhook

# Names add_webhook accepts (§4.9) plus our extra `reopen_task` (§7.1).
EVENT_NAMES = ("post_task", "post_comment", "post_project", "update_task", "update_comment", "update_project",
               "delete_task", "delete_comment", "close_task", "reopen_task")


def list_webhooks(ctx: Ctx) -> list[Webhook]:
    """The webhooks the caller manages (admins: all of the account), oldest first."""
    return list(ctx.db.scalars(select(Webhook).where(access.webhook_filter(ctx)).order_by(Webhook.id)))


def add_webhook(ctx: Ctx, *, url: str, events: Sequence[str], projects: Sequence[str] = (), http_user: str = "",
                http_pass: str = "") -> Webhook:
    """Probe the URL, then register it as active for those events (and, when given, those projects).

    The probe comes first, before the events are validated, as the real service does; it runs outside any write
    transaction and the insert commits in a short one of its own (ctx.session), so the slow probe never holds the
    write lock. `projects` are ids as given (any the caller cannot see, or not an id, is 4 Project is invalid).
    """
    access.require_write(ctx)
    try:
        ok = webhooks.probe(ctx.settings, url, http_user, http_pass)
    except webhooks.UrlRefused:
        ok = False
    if not ok:
        raise errors.webhook_probe_failed(url)
    names = [n.lower() for n in events]
    if not names:
        raise errors.required("events")
    if any(n not in EVENT_NAMES for n in names):
        raise errors.webhook_events_invalid(",".join(n for n in names if n not in EVENT_NAMES))
    project_ids = _projects(ctx, projects)
    hook = Webhook(account_id=ctx.account_id, url=url, events=",".join(dict.fromkeys(names)),
                   projects=",".join(project_ids), http_user=http_user, http_pass=http_pass, status="active",
                   consecutive_failures=0, created_at=ctx.now(), user_id=access.webhook_creator(ctx))
    _insert(ctx, hook)
    return hook


def _projects(ctx: Ctx, refs: Sequence[str]) -> list[str]:
    """Project ids the caller can see, as given; any other is 4 Project is invalid."""
    if not refs:
        return []
    if any(not is_digits(r) or len(r) > 18 for r in refs):
        raise errors.project_invalid()
    ids = list(dict.fromkeys(int(r) for r in refs))
    found = set(ctx.db.scalars(select(Project.id).where(access.project_filter(ctx), Project.id.in_(ids))))
    if len(found) != len(ids):
        raise errors.project_invalid()
    return [str(i) for i in ids]


def _insert(ctx: Ctx, hook: Webhook) -> None:
    """Insert in a short write transaction of its own (the caller's one when the context has no database)."""
    if ctx.database is None:
        ctx.db.add(hook)
        ctx.db.flush()
        return
    with ctx.session(write=True) as s:
        s.add(hook)
        s.flush()


def delete_webhook(ctx: Ctx, *, webhook_id: int | None) -> None:
    """Remove a webhook the caller manages, with its pending deliveries and log; else 10 WebHook not found."""
    access.require_write(ctx)
    if webhook_id is None:
        raise errors.webhook_not_found()
    hook = ctx.db.scalars(select(Webhook).where(Webhook.id == webhook_id, access.webhook_filter(ctx))).first()
    if hook is None:
        raise errors.webhook_not_found()
    ctx.db.delete(hook)
