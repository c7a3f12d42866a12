"""`/oauth2/authorize`: validate the request, sign the user in, ask for consent, redirect with a code.

The account is the one the path (`/a/<account>/oauth2/...`) or else the Host header names (as for the API), so
account X signs in on X's host or under X's path; every link and redirect keeps the path's prefix.
An unknown client or an unregistered redirect URI gets an error page and never a redirect (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from localsection import accounts, tokens
from localsection.api import paths
from localsection.errors import HttpRefusal
from localsection.formats import is_digits
from localsection.models import Account, OAuthApp, User
from localsection.oauth2 import apps, codes
from localsection.observe import record
from localsection.observe.record import current as observed
from localsection.passwords import verify_password
from localsection.state import AppState
from localsection.web import clientaddr, pages, session, throttle
from localsection.web.session import WebSession

SCOPE_TEXT = {
    "projects_read": "see projects", "projects_write": "create and change projects",
    "tasks_read": "see tasks", "tasks_write": "create and change tasks",
    "costs_read": "see time and money costs and timers", "costs_write": "log costs and run timers",
    "tags_read": "see tags and statuses", "tags_write": "create and set tags and statuses",
    "comments_read": "read comments", "comments_write": "write comments",
    "files_read": "see and download files", "files_write": "upload files",
    "users_read": "see account members", "users_write": "invite members and create teams",
    "contacts_read": "see contacts", "contacts_write": "create contacts",
    "administrative": "manage webhooks and everyone's timers (owners and account admins only)",
}
_SPLIT = re.compile(r"[,\s]+")
_MAX_FORM = 16 * 1024


@dataclass(frozen=True)
class AuthRequest:
    """A validated authorization request."""

    app: OAuthApp
    redirect_uri: str
    state: str
    scopes: list[str]
    challenge: str


class PageError(Exception):
    """Shown as an HTML page: the client or redirect URI is not trustworthy enough to redirect to."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title, self.message, self.status = title, message, status


class RedirectError(Exception):
    """Sent back to the (verified) redirect URI as `error=…&state=…`."""

    def __init__(self, redirect_uri: str, state: str, error: str, description: str) -> None:
        super().__init__(description)
        self.location = with_params(redirect_uri, error=error, error_description=description, state=state)


def _too_large(request: Request) -> bool:
    """The pages' forms are tiny; refuse big or unsized bodies before parsing them."""
    if request.method != "POST":
        return False
    declared = request.headers.get("content-length", "")
    return not is_digits(declared) or int(declared) > _MAX_FORM


def with_params(uri: str, **params: str) -> str:
    """Append query parameters to a registered redirect URI, keeping the query it already has."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
    return uri + ("&" if urllib.parse.urlsplit(uri).query else ("" if uri.endswith("?") else "?")) + query


def parse_scopes(raw: str) -> list[str]:
    """Comma- or space-separated; unknown names dropped; listed in the canonical order."""
    asked = set(_SPLIT.split(raw.strip())) if raw.strip() else set()
    return [s for s in tokens.ALL_SCOPES if s in asked]


def validate(db: Session, account: Account, q: dict[str, str]) -> AuthRequest:
    """Check an authorization request against the app registration. Raises PageError or RedirectError."""
    app = apps.by_client_id(db, q.get("client_id", ""))
    if app is None or app.account_id != account.id:
        raise PageError("Unknown application", "No application with this client_id is registered here.")
    redirect_uri = q.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        raise PageError("Invalid redirect URI", "This redirect_uri is not registered for the application.")
    try:
        apps.check_redirect_uri(redirect_uri)
    except apps.AppError:
        raise PageError("Invalid redirect URI", "Redirect URIs must use https (except localhost).") from None
    state = q.get("state", "")
    if q.get("response_type", "") != "code":
        raise RedirectError(redirect_uri, state, "unsupported_response_type", "response_type must be code")
    challenge, method = q.get("code_challenge", ""), q.get("code_challenge_method", "")
    if challenge or method:
        if method != "S256":
            raise RedirectError(redirect_uri, state, "invalid_request", "code_challenge_method must be S256")
        if not codes.PKCE_VALUE.match(challenge):
            raise RedirectError(redirect_uri, state, "invalid_request", "code_challenge is invalid")
    scopes = apps.allowed_scopes(app, parse_scopes(q.get("scope", "")))
    if not scopes:
        raise RedirectError(redirect_uri, state, "invalid_scope", "No known scope was requested")
    return AuthRequest(app, redirect_uri, state, scopes, challenge)


class AuthorizePages:
    """The handlers of `/oauth2/authorize` (GET: login or consent page; POST: the decision) and `/oauth2/login`."""

    def __init__(self, state: AppState, login_throttle: throttle.LoginThrottle | None = None) -> None:
        self.state = state
        self.throttle = login_throttle or throttle.LoginThrottle()

    def _secret(self) -> bytes:
        return tokens.derived_secret(self.state.settings, "web-session")

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.state.settings.public_url.startswith("https:")

    def _current(self, request: Request) -> WebSession | None:
        return session.decode(self._secret(), request.cookies.get(session.COOKIE))

    async def authorize(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return pages.error_page("Method not allowed", "Use GET or POST.", 405)
        if _too_large(request):
            return pages.error_page("Request too large", "The form is too large.", 413)
        query = dict(urllib.parse.parse_qsl(request.url.query, keep_blank_values=True))
        form = dict(await request.form()) if request.method == "POST" else {}
        current = self._current(request)
        try:
            return await run_in_threadpool(self._authorize, request, query, {k: str(v) for k, v in form.items()},
                                           current)
        except PageError as exc:
            return pages.error_page(exc.title, exc.message, exc.status)
        except RedirectError as exc:
            return RedirectResponse(exc.location, 302)

    def _authorize(self, request: Request, query: dict[str, str], form: dict[str, str],
                   current: WebSession | None) -> Response:
        host = request.headers.get("host", "")
        with self.state.db.session(write=request.method == "POST") as db:
            try:
                account = accounts.resolve_account(db, host, self.state.settings, paths.account_in(request.scope))
            except HttpRefusal:
                raise PageError("Unknown account", "No account is served at this address.", 404) from None
            req = validate(db, account, query)
            user = self._signed_in_user(db, account, current)
            rec = observed()
            if rec is not None:
                rec.account = account.name
                if user is not None:
                    rec.identify(record.SESSION, caller=user.email)
            if user is None:
                return self._login_page(request, account, req.app.name, request.url.query, current)
            assert current is not None
            if request.method == "GET":
                return self._consent_page(request, account, req, user, current)
            if not session.csrf_ok(self._secret(), current, form.get("csrf_token", "")):
                raise PageError("Form expired", "The form has expired. Go back and try again.", 400)
            if form.get("decision") != "approve":
                raise RedirectError(req.redirect_uri, req.state, "access_denied", "The user denied the request")
            code = codes.issue(db, req.app, user, req.scopes, req.redirect_uri, req.challenge)
            return RedirectResponse(with_params(req.redirect_uri, code=code, state=req.state), 302)

    @staticmethod
    def _signed_in_user(db: Session, account: Account, current: WebSession | None) -> User | None:
        if current is None or current.user_id is None or current.account_id != account.id:
            return None
        user = db.get(User, current.user_id)
        if user is None or not user.is_active or user.account_id != account.id:
            return None
        return user

    def _login_page(self, request: Request, account: Account, app_name: str, next_query: str,
                    current: WebSession | None, *, error: str = "", email: str = "", status: int = 200) -> Response:
        """The sign-in form; (re)issues an anonymous session cookie so the form's CSRF token matches it."""
        anonymous = current if current is not None and not current.signed_in() \
            and current.account_id == account.id else session.new_session(account.id)
        anonymous = session.refreshed(anonymous)
        root = paths.root_in(request.scope)
        response = pages.page("login.html", status, account=account.name, app_name=app_name, next=next_query,
                              csrf_token=session.csrf_token(self._secret(), anonymous), error=error, email=email,
                              root=root)
        session.set_cookie(response, self._secret(), anonymous, self._secure(request), root)
        return response

    def _consent_page(self, request: Request, account: Account, req: AuthRequest, user: User,
                      current: WebSession) -> Response:
        return pages.page("consent.html", app_name=req.app.name, account=account.name, user_email=user.email,
                          scopes=req.scopes, descriptions=SCOPE_TEXT,
                          redirect_host=urllib.parse.urlsplit(req.redirect_uri).netloc,
                          action=paths.root_in(request.scope) + "/oauth2/authorize?" + request.url.query,
                          csrf_token=session.csrf_token(self._secret(), current))

    async def login(self, request: Request) -> Response:
        """POST /oauth2/login: check CSRF, throttle, password; then back to the authorize URL."""
        if request.method != "POST":
            return pages.error_page("Method not allowed", "Use the sign-in form.", 405)
        if _too_large(request):
            return pages.error_page("Request too large", "The form is too large.", 413)
        form = {k: str(v) for k, v in (await request.form()).items()}
        rec = observed()
        if rec is not None:
            rec.params = form  # the password and CSRF token are redacted when shown
            rec.scheme = record.PASSWORD
        next_query = form.get("next", "").lstrip("?").replace("\r", "").replace("\n", "")
        current = self._current(request)
        address = clientaddr.client_address(request, self.state.settings)
        result = await run_in_threadpool(self._login, request, form, next_query, current, address)
        if isinstance(result, float):
            # Hold the failed answer back without tying up a worker thread.
            delay, response = result, await run_in_threadpool(self._retry_login, request, form, next_query,
                                                              current)
            await asyncio.sleep(delay)
            return response
        return result

    def _login(self, request: Request, form: dict[str, str], next_query: str, current: WebSession | None,
               address: str) -> Response | float:
        host = request.headers.get("host", "")
        email = form.get("email", "").strip().lower()
        with self.state.db.session(write=False) as db:
            try:
                account = accounts.resolve_account(db, host, self.state.settings, paths.account_in(request.scope))
            except HttpRefusal:
                return pages.error_page("Unknown account", "No account is served at this address.", 404)
            if current is None or current.account_id != account.id or \
                    not session.csrf_ok(self._secret(), current, form.get("csrf_token", "")):
                return self._login_page(request, account, "", next_query, None,
                                        error="The form has expired. Please sign in again.", email=email,
                                        status=400)
            attempt = self.throttle.attempt_keys(account.id, email, address)
            wait = self.throttle.reserve(attempt)
            if wait:
                minutes = wait // 60 + 1
                return self._login_page(request, account, "", next_query, current, email=email, status=429,
                                        error=f"Too many failed sign-in attempts. Try again in {minutes} "
                                              f"minute{'s' if minutes > 1 else ''}.")
            try:
                user = db.scalars(select(User).where(User.account_id == account.id, User.email == email,
                                                     User.is_active.is_(True))).first() if email else None
                # One argon2 verification whoever asks: an unknown e-mail or a member without a password costs
                # the same as a wrong password (passwords.verify_password).
                matched = verify_password(user.password_hash if user is not None else None, form.get("password", ""))
            except BaseException:
                self.throttle.abandoned(attempt)
                raise
            rec = observed()
            if rec is not None:
                rec.account = account.name
            if user is None or not matched:
                return self.throttle.failed(attempt)
            self.throttle.succeeded(attempt)
            if rec is not None:
                rec.caller = user.email
            root = paths.root_in(request.scope)
            response = RedirectResponse(root + "/oauth2/authorize?" + next_query, 303)
            session.set_cookie(response, self._secret(), session.new_session(account.id, user.id),
                               self._secure(request), root)
            return response

    def _retry_login(self, request: Request, form: dict[str, str], next_query: str,
                     current: WebSession | None) -> Response:
        with self.state.db.session(write=False) as db:
            account = accounts.resolve_account(db, request.headers.get("host", ""), self.state.settings,
                                               paths.account_in(request.scope))
            return self._login_page(request, account, "", next_query, current, status=401,
                                    error="Wrong e-mail or password.", email=form.get("email", "").strip())
