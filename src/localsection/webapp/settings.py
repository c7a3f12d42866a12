"""`/settings` (owners and account admins only; others get the 403 page): the API key (show, rotate), OAuth apps
(create — the client secret is shown once —, list, delete) and webhooks (create through domain.webhooks, which
probes the URL; pause / enable; the delivery log of each; redeliver a failed delivery).

The API key and OAuth apps reuse accounts.rotate_key and oauth2/apps.py (as the CLI does); webhooks go through
domain/webhooks.py with the admin's context, exactly as the API's add_webhook / delete_webhook."""

from __future__ import annotations

from starlette.responses import Response

from localsection import accounts
from localsection.domain import projects, webhook_control, webhooks
from localsection.errors import ApiError
from localsection.formats import is_digits
from localsection.models import Webhook
from localsection.oauth2 import apps
from localsection.tokens import ALL_SCOPES
from localsection.webapp.handlers import FormError, Page, redirect_after_post, webpage
from localsection.webapp.projects import ID_MAX, N_, forbidden

URL_MAX = 2000
URIS_MAX = 20
LOG_LIMIT = 200
DOMAIN_MESSAGES = (N_("Url should respond 200 HTTP_CODE and JSON {status:OK}"), N_("Invalid events"),
                   N_("WebHook not found"), N_("Delivery not found"), N_("Project is invalid"))


def _id(raw: str) -> int | None:
    return int(raw) if is_digits(raw) and len(raw) < 19 else None


def masked(key: str) -> str:
    return "•" * 12 + key[-4:] if len(key) > 8 else "•" * 12


def _render(page: Page, status: int | None = None) -> Response:
    hooks = webhooks.list_webhooks(page.ctx)
    ids = [h.id for h in hooks]
    visible = projects.list_projects(page.ctx, status="active")
    names = {p.id: p.name for p in projects.list_projects(page.ctx)}
    return page.render("settings.html", status, api_key=page.account.api_key, masked_key=masked(page.account.api_key),
                       apps=[a for a in apps.list_apps(page.db, page.account) if a.name != apps.INTERNAL_APP_NAME],
                       hooks=hooks, pending=webhook_control.pending_counts(page.ctx, ids),
                       last=webhook_control.last_attempts(page.ctx, ids), event_names=webhooks.EVENT_NAMES,
                       projects=visible, project_names=names, hook_projects=_hook_projects, all_scopes=ALL_SCOPES)


def _hook_projects(hook: Webhook) -> list[int]:
    return [int(p) for p in hook.projects.split(",") if p.isdigit()]


def _create_app(page: Page) -> Response:
    name = page.form.get("name", "").strip()
    if not name:
        raise FormError("Give the app a name.")
    if len(name) > 255:
        raise FormError("The name is too long.")
    uris = [u.strip() for u in page.form.get("redirect_uris", "").splitlines() if u.strip()]
    if not uris:
        raise FormError("Give at least one redirect URI.")
    if len(uris) > URIS_MAX or any(len(u) > URL_MAX for u in uris):
        raise FormError("Too many or too long redirect URIs.")
    scopes = [s for s in ALL_SCOPES if page.form.get(f"scope-{s}")]
    if not scopes:
        raise FormError("Choose at least one scope the app may ask for.")
    try:
        created = apps.create(page.db, page.account, name, uris, scopes)
    except apps.AppError as exc:
        raise FormError("This redirect URI cannot be used: %(detail)s", detail=str(exc)) from None
    return page.render("settings_app_created.html", app=created.app, secret=created.client_secret)


def _hook(page: Page, raw: str) -> int:
    hook_id = _id(raw)
    if hook_id is None:
        raise FormError("That webhook does not exist.")
    return hook_id


@webpage()
def settings(page: Page) -> Response:
    if not page.is_admin:
        return forbidden(page)
    if not page.is_post:
        return _render(page)
    action = page.form.get("action", "")
    if action == "rotate":
        if page.form.get("confirm") != "1":
            raise FormError("Tick the box to confirm: programs using the old key stop working.")
        accounts.rotate_key(page.db, page.account.name)
        page.flash(page._("A new API key is in place. The old one no longer works."))
    elif action == "app":
        return _create_app(page)
    elif action == "app_delete":
        try:
            apps.delete(page.db, page.account, page.form.get("client_id", "")[:64])
        except apps.AppError:
            raise FormError("That app does not exist.") from None
        page.flash(page._("The app was deleted; its tokens no longer work."))
    elif action in ("pause", "enable", "delete"):
        hook_id = _hook(page, page.form.get("webhook", ""))
        if action == "pause":
            webhook_control.pause_webhook(page.ctx, webhook_id=hook_id)
            page.flash(page._("The webhook is paused. Its events wait until you enable it."))
        elif action == "enable":
            webhook_control.enable_webhook(page.ctx, webhook_id=hook_id)
            page.flash(page._("The webhook is enabled."))
        else:
            webhooks.delete_webhook(page.ctx, webhook_id=hook_id)
            page.flash(page._("The webhook was deleted."))
        back = page.form.get("back", "")
        if back == "log" and action != "delete":
            return redirect_after_post(page, f"/settings/webhooks/{hook_id}")
    else:
        raise FormError("Unknown action.")
    return redirect_after_post(page, "/settings#webhooks" if action in ("pause", "enable", "delete") else "/settings")


@webpage(write=False)  # add_webhook probes the URL first, then writes in a short transaction of its own
def webhook_new(page: Page) -> Response:
    if not page.is_admin:
        return forbidden(page)
    if not page.is_post:  # the form again, with the error (this page only takes POSTs)
        return _render(page)
    url = page.form.get("url", "").strip()
    if not url:
        raise FormError("Give the URL that receives the events.")
    if len(url) > URL_MAX:
        raise FormError("The URL is too long.")
    events = [name for name in webhooks.EVENT_NAMES if page.form.get(f"event-{name}")]
    if not events:
        raise FormError("Choose at least one event.")
    chosen = [v for k, v in page.form.items() if k.startswith("project-") and v][:1000]
    hook = webhooks.add_webhook(page.ctx, url=url, events=events, projects=chosen,
                                http_user=page.form.get("http_user", "").strip()[:255],
                                http_pass=page.form.get("http_pass", "")[:255])
    page.flash(page._("The webhook answered the test call and is active."))
    return redirect_after_post(page, f"/settings/webhooks/{hook.id}")


@webpage()
def webhook_log(page: Page) -> Response:
    if not page.is_admin:
        return forbidden(page)
    hook_id = int(page.request.path_params["wid"])
    if hook_id > ID_MAX:
        return page.not_found()
    if page.is_post:
        if page.form.get("action") != "redeliver":
            raise FormError("Unknown action.")
        attempt = _id(page.form.get("attempt", ""))
        if attempt is None:
            raise FormError("That delivery does not exist.")
        webhook_control.redeliver(page.ctx, webhook_id=hook_id, attempt_id=attempt)
        page.flash(page._("The event is queued to be sent again."))
        return redirect_after_post(page, f"/settings/webhooks/{hook_id}")
    try:
        hook = webhook_control.get_webhook(page.ctx, webhook_id=hook_id)
    except ApiError:
        return page.not_found()
    deliveries = webhook_control.list_deliveries(page.ctx, webhook_id=hook.id, limit=LOG_LIMIT)
    return page.render("settings_webhook.html", hook=hook, deliveries=deliveries,
                       pending=webhook_control.pending_counts(page.ctx, [hook.id]).get(hook.id, 0), limit=LOG_LIMIT)
