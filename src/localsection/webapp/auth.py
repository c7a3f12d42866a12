"""Sign in, sign out, forgot password and reset password pages; `/` sends people where they belong."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from localsection.ctx import Ctx
from localsection.domain import profile
from localsection.models import User
from localsection.observe import record
from localsection.observe.record import current as observed
from localsection.passwords import verify_password
from localsection.web import clientaddr
from localsection.web.throttle import LoginThrottle
from localsection.webapp import mail, resets
from localsection.webapp.handlers import FormError, Page, local_next, redirect_after_post, webpage

HOME = "/projects"
_MAX_PASSWORD = 1024  # longer is not a password anyone typed; refused before hashing


def login_throttle(request: Request) -> LoginThrottle:
    """The app's one sign-in throttle, shared with the OAuth sign-in page (create_app): the same limits, messages
    and counters, so failures on either form count together."""
    found = request.app.state.login_throttle
    assert isinstance(found, LoginThrottle)
    return found


@webpage(signed_in=False)
def home(page: Page) -> Response:
    return page.redirect(HOME if page.user is not None else "/login", 302)


@webpage(signed_in=False)
def login(page: Page) -> Response:
    nxt = local_next(page.form.get("next", "") if page.is_post else page.request.query_params.get("next", ""))
    if not page.is_post:
        if page.user is not None:
            return page.redirect(nxt or HOME, 302)
        return page.render("login.html", next=nxt, email="")
    email = page.form.get("email", "").strip().lower()[:254]
    password = page.form.get("password", "")
    rec = observed()
    if rec is not None:
        rec.scheme = record.PASSWORD
    throttle = login_throttle(page.request)
    attempt = throttle.attempt_keys(page.account.id, email,
                                    clientaddr.client_address(page.request, page.state.settings))
    wait = throttle.reserve(attempt)
    if wait:
        minutes = wait // 60 + 1
        page.error = page.ngettext("Too many failed sign-in attempts. Try again in %(num)d minute.",
                                   "Too many failed sign-in attempts. Try again in %(num)d minutes.", minutes)
        return page.render("login.html", 429, next=nxt, email=email)
    try:
        user = page.db.scalars(select(User).where(User.account_id == page.account.id, User.email == email,
                                                  User.is_active.is_(True))).first() if email else None
        # One argon2 verification whoever asks (passwords.verify_password): no hint which e-mails exist.
        matched = len(password) <= _MAX_PASSWORD and verify_password(
            user.password_hash if user is not None else None, password[:_MAX_PASSWORD])
    except BaseException:
        throttle.abandoned(attempt)
        raise
    if user is None or not matched:
        page.delay = throttle.failed(attempt)
        page.error = page._("Wrong e-mail or password.")
        return page.render("login.html", 401, next=nxt, email=email)
    throttle.succeeded(attempt)
    if rec is not None:
        rec.caller = user.email
    page.sign_in(user)
    return redirect_after_post(page, nxt or HOME)


@webpage(signed_in=False)
def logout(page: Page) -> Response:
    page.sign_out()
    page.flash(page._("You are signed out."))
    return redirect_after_post(page, "/login")


@webpage(signed_in=False)
def forgot(page: Page) -> Response:
    if not page.is_post:
        return page.render("forgot.html", email="")
    email = page.form.get("email", "").strip().lower()
    user = resets.find_user(page.db, page.account.id, email)
    if user is not None:
        token = resets.issue(page.db, user)
        base = page.state.base_url(page.account.name, page.request.url.scheme,
                                   page.request.headers.get("host", ""), page.root)
        mail.send_password_reset(page.db, page.state.settings, page.account.name, user,
                                 f"{base}/password/reset/{token}", user.language or page.language)
    # The same answer whether or not the e-mail is a user's: nobody learns who has an account here.
    page.flash(page._("If that e-mail belongs to a user here, a link to set a new password is on its way. "
                      "It works once, for one hour."), "info")
    return redirect_after_post(page, "/login")


@webpage(signed_in=False)
def reset(page: Page) -> Response:
    token = str(page.request.path_params.get("token", ""))
    row = resets.valid(page.db, page.account.id, token)
    if row is None:
        return page.render("error.html", 404, title=page._("This link does not work"),
                           message=page._("The link has expired or was used already. Ask for a new one."),
                           link=("/password/forgot", page._("Forgot password?")))
    if not page.is_post:
        return page.render("reset.html")
    new = page.form.get("password", "")
    if new != page.form.get("confirm", ""):
        raise FormError("The two passwords differ.")
    user = page.db.get(User, row.user_id)
    if user is None or not resets.spend(page.db, row):
        raise FormError("The link has expired or was used already. Ask for a new one.")
    profile.set_password(Ctx.for_user(page.db, page.state.settings, page.account, user,
                                      database=page.state.db), new)
    page.sign_out()
    page.flash(page._("Your new password is set. Sign in with it."))
    return redirect_after_post(page, "/login")
