"""The page pattern: `@webpage(...)` turns `def handler(page: Page) -> Response` into a Starlette endpoint.

For every request the decorator: resolves the account (path `/a/<name>` or Host; unknown -> JSON 404 like any
unknown path), reads the session cookie and its user, redirects to `/login?next=...` when the page needs a
signed-in user, picks the language, parses a POST form (size-bounded) and checks its CSRF token FIRST (403 page
on failure, nothing runs), then calls the handler in the thread pool inside one transaction (a write
transaction for POST) with `page.ctx` = `Ctx.for_user(...)` (the user's own role, no scopes).

A handler that raises the domain's `ApiError` (or `FormError`) on POST gets its transaction rolled back and is
called again as a GET in a fresh transaction with `page.error` set and status 400: it re-renders its form with
the message and the submitted values (`page.form`). Never a 500 for bad input.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gettext as gettext_module
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from markupsafe import Markup
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from localsection import accounts, clock, tokens
from localsection.api import paths
from localsection.ctx import Ctx
from localsection.domain import timers
from localsection.errors import ApiError, HttpRefusal
from localsection.models import Account, User, WebSession
from localsection.observe import record
from localsection.observe.record import current as observed
from localsection.state import AppState
from localsection.web import clientaddr
from localsection.webapp import i18n, sessions, templating

MAX_FORM = 64 * 1024  # bytes of a form without files
MAX_FIELDS = 200
MAX_UPLOAD_FILES = 20  # file parts of one upload form (@webpage(uploads=True))
FLASH_COOKIE = "ls_flash"
ADMIN_ROLES = frozenset({"owner", "account admin"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # every page carries at least the sign-out form and its CSRF token
}
NOT_FOUND = {"status": "error", "message": "Not found"}


class FormError(Exception):
    """Bad form input found by a handler itself: shown on the re-rendered form (status 400). The message is
    an English msgid; it is translated when shown."""

    def __init__(self, message: str, **variables: Any) -> None:
        super().__init__(message)
        self.message = message
        self.variables = variables


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


@dataclass
class Page:
    """What a handler gets: the request, its transaction, account, user and language, and the ways to answer."""

    request: Request
    state: AppState
    db: Session
    account: Account
    user: User | None
    session: WebSession | None
    language: str
    form: dict[str, str]
    is_post: bool
    csrf_binding: str
    files: list[UploadFile] = field(default_factory=list)  # file parts of an upload form (uploads=True), spooled
    error: str = ""  # a form error to show (set when a POST failed and the handler is called again)
    status: int = 200  # the status of page.render()
    delay: float = 0.0  # seconds to hold the answer back (failed sign-ins), without holding a thread
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown on this page
    _new_flashes: list[tuple[str, str]] = field(default_factory=list)
    _set_session: str | None = None
    _clear_session: bool = False
    _ctx: Ctx | None = None
    _running_timer: tuple[timers.RunningTimer | None] | None = None

    # -- who, where, which language ------------------------------------------------------------------

    @property
    def ctx(self) -> Ctx:
        """The domain context of the signed-in user (their own role; no OAuth scopes)."""
        if self._ctx is None:
            if self.user is None:
                raise RuntimeError("page.ctx needs a signed-in user: use @webpage(signed_in=True)")
            root = paths.root_in(self.request.scope)
            base = self.state.base_url(self.account.name, self.request.url.scheme,
                                       self.request.headers.get("host", ""), root)
            self._ctx = Ctx.for_user(self.db, self.state.settings, self.account, self.user, base_url=base,
                                     database=self.state.db)
        return self._ctx

    @property
    def root(self) -> str:
        """The prefix every URL keeps: `/a/<account>` when the path named the account, else ''."""
        return paths.root_in(self.request.scope)

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role in ADMIN_ROLES

    @property
    def translations(self) -> gettext_module.NullTranslations:
        return i18n.translations(self.language)

    def _(self, message: str, **variables: Any) -> str:
        """Translate `message` into the page's language (`%(name)s` placeholders filled from `variables`)."""
        text = self.translations.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, num: int, **variables: Any) -> str:
        return self.translations.ngettext(singular, plural, num) % {"num": num, **variables}

    def url(self, path: str) -> str:
        """An app path (`/me`) as a URL of this request's account (`/a/<name>/me` under a path prefix)."""
        return self.root + path

    def static(self, name: str) -> str:
        """The URL of a static file with its content hash (cached for a year)."""
        file = templating.STATIC_FILES[name]
        return f"{self.root}/static/{name}?v={file.version}"

    def running_timer(self) -> timers.RunningTimer | None:
        """The signed-in user's running timer for the header's badge (one indexed lookup, once per page)."""
        if self.user is None:
            return None
        if self._running_timer is None:
            self._running_timer = (timers.my_running_timer(self.ctx),)
        return self._running_timer[0]

    def csrf_token(self) -> str:
        return sessions.csrf_for(_secret(self.state, "webapp-csrf"), self.csrf_binding)

    def csrf_field(self) -> Markup:
        """The hidden input every POST form carries: `{{ csrf_field() }}`."""
        return Markup('<input type="hidden" name="csrf" value="%s">') % self.csrf_token()

    # -- answers ---------------------------------------------------------------------------------------

    def flash(self, message: str, kind: str = "success") -> None:
        """A message shown once on the next page (after a redirect). `message` is already translated."""
        self._new_flashes.append((kind, message))

    def render(self, template: str, status: int | None = None, **variables: Any) -> Response:
        """Render `template` with the layout's variables (see docs/webapp.md) plus `variables`."""
        context: dict[str, Any] = {
            "page": self, "user": self.user, "account": self.account, "url": self.url, "static": self.static,
            "csrf_field": self.csrf_field, "csrf_token": self.csrf_token, "error": self.error,
            "form": self.form, "flashes": self.flashes, "lang": self.language, "languages": i18n.LANGUAGES,
            "is_admin": self.is_admin, "path": self.request.url.path,
            **templating.gettext_callables(self.translations), **variables,
        }
        html = templating.render(template, context)
        return HTMLResponse(html, status_code=status or self.status, headers=SECURITY_HEADERS)

    def redirect(self, path: str, status: int = 303) -> Response:
        """Redirect to an app path of this account (303 after a POST: the browser follows with a GET)."""
        return RedirectResponse(self.url(path), status, headers={"Cache-Control": "no-store"})

    def not_found(self) -> Response:
        return self.render("error.html", 404, title=self._("Page not found"),
                           message=self._("There is nothing at this address."))

    def sign_in(self, user: User) -> None:
        """Start a new session for `user` (a new token: the old session, if any, is ended)."""
        sessions.end(self.db, _session_tokens(self.request))
        sessions.purge_expired(self.db)
        self._set_session = sessions.start(self.db, user, self.request.headers.get("user-agent", ""),
                                           clientaddr.client_address(self.request, self.state.settings))

    def sign_out(self) -> None:
        sessions.end(self.db, _session_tokens(self.request))
        self._clear_session = True


def redirect_after_post(page: Page, path: str) -> Response:
    """The answer to a successful POST: 303 to an app path (reloading it never re-submits)."""
    return page.redirect(path, 303)


def local_next(value: str) -> str:
    """`next` only when it is a local app path (`/x...`, not `//host`, `/\\host` or a URL); else ''."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    if any(ord(c) < 32 or c == "\\" for c in value):
        return ""
    parts = urllib.parse.urlsplit(value)
    return value if not parts.scheme and not parts.netloc else ""


# -- cookies ---------------------------------------------------------------------------------------------

def _secret(state: AppState, purpose: str) -> bytes:
    return tokens.derived_secret(state.settings, purpose)


def cookie_values(request: Request, name: str) -> list[str]:
    """Every value of cookie `name`: a browser sends one per path (`/` and `/a/<name>`), most specific first."""
    values: list[str] = []
    for header in request.headers.getlist("cookie"):
        for part in header[:8192].split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                values.append(value.strip().strip('"'))
    return values[:4]


def _session_tokens(request: Request) -> list[str]:
    return cookie_values(request, sessions.COOKIE)


def cookie_path(request: Request) -> str:
    return paths.root_in(request.scope) or "/"


def _secure(request: Request, state: AppState) -> bool:
    return request.url.scheme == "https" or state.settings.public_url.startswith("https:")


def _sign(secret: bytes, payload: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:18]).decode()


def _read_flashes(request: Request, state: AppState) -> list[tuple[str, str]]:
    for value in cookie_values(request, FLASH_COOKIE):
        payload, _, sig = value.partition(".")
        if len(value) < 4096 and hmac.compare_digest(_sign(_secret(state, "webapp-flash"), payload), sig):
            try:
                data = orjson.loads(base64.urlsafe_b64decode(payload))
                return [(str(kind), str(text)) for kind, text in data][:5]
            except (ValueError, TypeError, orjson.JSONDecodeError):
                return []
    return []


def _apply_cookies(page: Page, response: Response, anon_nonce: str | None) -> None:
    request, state = page.request, page.state
    path, secure = cookie_path(request), _secure(request, state)
    if page._set_session is not None:
        response.set_cookie(sessions.COOKIE, page._set_session, max_age=int(sessions.LIFETIME.total_seconds()),
                            path=path, httponly=True, samesite="lax", secure=secure)
    elif page._clear_session:
        response.delete_cookie(sessions.COOKIE, path=path, httponly=True, samesite="lax", secure=secure)
    if anon_nonce is not None:
        response.set_cookie(sessions.ANON_COOKIE, anon_nonce, max_age=86400, path=path, httponly=True,
                            samesite="lax", secure=secure)
    if page._new_flashes:
        payload = base64.urlsafe_b64encode(orjson.dumps(page._new_flashes[:5])).decode()
        response.set_cookie(FLASH_COOKIE, f"{payload}.{_sign(_secret(state, 'webapp-flash'), payload)}",
                            max_age=300, path=path, httponly=True, samesite="lax", secure=secure)
    elif page.flashes and isinstance(response, HTMLResponse):
        response.delete_cookie(FLASH_COOKIE, path=path, httponly=True, samesite="lax", secure=secure)


# -- the decorator ---------------------------------------------------------------------------------------

Handler = Callable[[Page], Response]
Endpoint = Callable[[Request], Any]


async def _read_form(request: Request, max_body: int, uploads: bool) -> tuple[dict[str, str], list[UploadFile]]:
    """The form's fields and (uploads=True) its non-empty file parts: starlette spools each file to a temporary
    file past 1 MiB, and the body as a whole never goes past `max_body` (BodyLimits and the declared length)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > max_body:
        raise _Refused(_plain_error(request, 413, "The form is too large."))
    try:
        data = await request.form(max_files=MAX_UPLOAD_FILES if uploads else 0, max_fields=MAX_FIELDS,
                                  max_part_size=MAX_FORM if uploads else max_body)
    except MultiPartException:
        raise _Refused(_plain_error(request, 400, "The form could not be read.")) from None
    fields = {k: v for k, v in data.items() if not isinstance(v, UploadFile)}
    parts = [v for _, v in data.multi_items() if isinstance(v, UploadFile) and (v.filename or v.size)]
    return fields, parts


def _plain_error(request: Request, status: int, message: str) -> Response:
    return HTMLResponse(f"<!doctype html><title>{status}</title><p>{message}</p>", status, headers=SECURITY_HEADERS)


MAX_ID = 2**63 - 1  # the largest id a BIGINT (PostgreSQL) or INTEGER (SQLite) column holds


def _ids_in_range(request: Request) -> bool:
    """The path's integer parameters (ids) fit in an id column."""
    return all(v <= MAX_ID for v in request.path_params.values() if isinstance(v, int))


def webpage(*, signed_in: bool = True, max_body: int = MAX_FORM, csrf: bool = True,
            uploads: bool = False, write: bool = True) -> Callable[[Handler], Endpoint]:
    """Decorate `def handler(page: Page) -> Response` into an endpoint for `Route(path, endpoint, methods=...)`.

    signed_in: anonymous visitors are redirected to `/login?next=<this path>` (False: sign-in pages, 404s).
    max_body: the largest POST body accepted (413 page above it).
    csrf: False only for a page that changes nothing on POST (the 404 page).
    uploads: the form may carry files (`page.files`), the body up to the API's upload cap
    (Settings.max_body_bytes; its path must also be in api/limits.py `LARGE_BODY_PATHS`).
    write: False runs a POST in a read transaction: for a handler whose domain call opens its own short write
    transaction after slow work (add_webhook probes the URL first), so the write lock is not held meanwhile."""

    def decorate(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            state: AppState = request.app.state.ls
            is_post = request.method == "POST"
            parts: list[UploadFile] = []
            try:
                if is_post:
                    form, parts = await _read_form(request, state.settings.max_body_bytes if uploads else max_body,
                                                   uploads)
                else:
                    form = {}
            except _Refused as refused:
                return refused.response
            rec = observed()
            if rec is not None and form:
                rec.params = form  # passwords and CSRF tokens are redacted when the journal shows them
            try:
                response, delay = await run_in_threadpool(_run, handler, request, state, form, signed_in, csrf,
                                                          parts, write)
            finally:
                for part in parts:
                    await part.close()
            if delay:
                await asyncio.sleep(delay)
            return response

        return endpoint

    return decorate


@contextmanager
def _transaction(state: AppState, write: bool) -> Iterator[Session]:
    with state.db.session(write=write) as db:
        yield db


def _run(handler: Handler, request: Request, state: AppState, form: dict[str, str], signed_in: bool,
         csrf: bool, parts: list[UploadFile] | None = None, write: bool = True) -> tuple[Response, float]:
    is_post = request.method == "POST"
    try:
        return _attempt(handler, request, state, form, signed_in, is_post, csrf and is_post, "", files=parts,
                        write=write)
    except (ApiError, FormError) as exc:
        message = exc.text() if isinstance(exc, ApiError) else exc.message
        variables = exc.variables if isinstance(exc, FormError) else {}
    except _Refused as refused:
        return refused.response, 0.0
    if is_post:  # the form again, with the message, in a fresh transaction
        try:
            return _attempt(handler, request, state, form, signed_in, False, False, message, variables)
        except (ApiError, FormError) as exc:
            message = exc.text() if isinstance(exc, ApiError) else exc.message
            variables = exc.variables if isinstance(exc, FormError) else {}
    return _attempt(_error_page, request, state, form, signed_in, False, False, message, variables)


def _error_page(page: Page) -> Response:
    """A GET whose handler raised a domain error: the message on the error page (400), never a 500."""
    return page.render("error.html", 400, title=page._("Something is not right"), message=page.error)


def _attempt(handler: Handler, request: Request, state: AppState, form: dict[str, str], signed_in: bool,
             is_post: bool, check_csrf: bool, error: str,
             error_vars: dict[str, Any] | None = None, files: list[UploadFile] | None = None,
             write: bool = True) -> tuple[Response, float]:
    touch: int | None = None
    with _transaction(state, is_post and write) as db:
        try:
            account = accounts.resolve_account(db, request.headers.get("host", ""), state.settings,
                                               paths.account_in(request.scope))
        except HttpRefusal:
            return JSONResponse(NOT_FOUND, 404), 0.0
        current = sessions.lookup(db, account.id, _session_tokens(request))
        user = current.user if current else None
        rec = observed()
        if rec is not None:
            rec.identify(record.SESSION if user is not None else record.NONE, caller=user.email if user else "",
                         account=account.name)
        anon = next((v for v in cookie_values(request, sessions.ANON_COOKIE) if 16 <= len(v) <= 64), None)
        new_anon = None if anon is not None or user is not None else secrets.token_urlsafe(24)
        binding = current.row.token_hash if current else (anon or new_anon or "")
        language = i18n.pick(user.language if user else None, request.headers.get("accept-language", ""))
        page = Page(request, state, db, account, user, current.row if current else None, language, form,
                    is_post, binding, files=list(files or []), flashes=_read_flashes(request, state))
        if error:
            page.error = page._(error, **(error_vars or {})) if error_vars else _translate_error(page, error)
            page.status = 400
        if check_csrf and not sessions.csrf_ok(_secret(state, "webapp-csrf"), binding, form.get("csrf", "")):
            response = page.render("error.html", 403, title=page._("Form expired"),
                                   message=page._("The form has expired or was not sent from this site. "
                                                  "Go back, reload the page and try again."))
            _apply_cookies(page, response, new_anon)
            raise _Refused(response)  # rolls the (empty) transaction back
        if signed_in and user is None:
            target = request.url.path[len(page.root):] if request.url.path.startswith(page.root) else "/"
            if request.url.query:
                target += "?" + request.url.query
            nxt = local_next(target) if not is_post else ""
            response = page.redirect("/login" + ("?" + urllib.parse.urlencode({"next": nxt}) if nxt else ""))
            return response, 0.0
        # `{pid:int}` takes any digits: an id no column can hold is no such row (404), never a 500
        response = handler(page) if _ids_in_range(request) else page.not_found()
        _apply_cookies(page, response, new_anon)
        if current is not None and not is_post and clock.now() - current.row.last_seen_at >= sessions.TOUCH_EVERY:
            touch = current.row.id
    if touch is not None:
        with _transaction(state, True) as db:
            db.execute(update(WebSession).where(WebSession.id == touch).values(last_seen_at=clock.now()))
    return response, page.delay


def _translate_error(page: Page, text: str) -> str:
    """A domain error ("Message: details") in the page's language: the message part is looked up in the
    catalogue (the domain's texts are English msgids), the details stay as they are."""
    message, sep, details = text.partition(": ")
    return page._(message) + sep + details if sep else page._(text)


async def not_found(request: Request) -> Response:
    """The HTML 404 page of the web app (JSON 404 when no account is served at this address)."""
    response: Response = await _not_found_endpoint(request)
    return response


@webpage(signed_in=False, csrf=False)
def _not_found_page(page: Page) -> Response:
    return page.not_found()


_not_found_endpoint = _not_found_page
