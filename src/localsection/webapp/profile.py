"""`/me`: the signed-in user's profile: language, password, notification e-mails (all, or per kind), their
sessions (revoke one, sign out everywhere).

One page, one handler: each form posts an `action`; a domain error re-renders the page with the message next
to the form that failed (`form.action`)."""

from __future__ import annotations

from starlette.responses import Response

from localsection.domain import mail_prefs, profile
from localsection.formats import is_digits
from localsection.notify.kinds import KINDS
from localsection.webapp import i18n, sessions
from localsection.webapp.handlers import FormError, Page, redirect_after_post, webpage


def N_(message: str) -> str:  # marks a msgid for extraction (make messages); translated when shown
    return message


@webpage()
def me(page: Page) -> Response:
    assert page.user is not None and page.session is not None
    if page.is_post:
        action = page.form.get("action", "")
        if action == "language":
            choice = page.form.get("language", "")
            profile.set_language(page.ctx, choice or None)
            language = i18n.pick(choice or None, page.request.headers.get("accept-language", ""))
            page.flash(i18n.translations(language).gettext("Language saved."))
            return redirect_after_post(page, "/me")
        if action == "password":
            if page.form.get("new", "") != page.form.get("confirm", ""):
                raise FormError("The two passwords differ.")
            profile.change_password(page.ctx, page.form.get("current", ""), page.form.get("new", ""))
            sessions.revoke_others(page.db, page.user, page.session.id)
            page.flash(page._("Password changed. Your other sessions were signed out."))
            return redirect_after_post(page, "/me")
        if action == "mail":
            _save_mail(page)
            page.flash(page._("Notification e-mails saved."))
            return redirect_after_post(page, "/me")
        if action == "revoke":
            raw = page.form.get("session", "")
            if not is_digits(raw) or len(raw) > 18 or not sessions.revoke(page.db, page.user, int(raw)):
                raise FormError("That session has ended already.")
            if int(raw) == page.session.id:
                page.sign_out()
                return redirect_after_post(page, "/login")
            page.flash(page._("The session was signed out."))
            return redirect_after_post(page, "/me")
        if action == "revoke_all":
            sessions.revoke_all(page.db, page.user)
            page.sign_out()
            page.flash(page._("You are signed out everywhere."))
            return redirect_after_post(page, "/login")
        raise FormError("Unknown action.")
    return page.render("me.html", sessions=sessions.list_for(page.db, page.user), current_id=page.session.id,
                       describe_agent=sessions.describe_agent, mail=mail_prefs.mail_notifications(page.ctx),
                       mail_kinds=MAIL_KINDS)


def _save_mail(page: Page) -> None:
    """The switch for all notification e-mails and one per kind: the kinds ticked are on, the others off (all
    off when the main switch is off)."""
    ticked = {k for k in KINDS if page.form.get(f"kind_{k}") == "on"} if page.form.get("mail") == "on" else set()
    if ticked:
        mail_prefs.set_mail_notifications(page.ctx, True, sorted(ticked))
    if set(KINDS) - ticked:
        mail_prefs.set_mail_notifications(page.ctx, False, sorted(set(KINDS) - ticked))


# What each kind of notification e-mail is about, as the profile page names it (notify/kinds.py).
MAIL_KINDS = {"assigned": N_("A task is assigned to me"), "mentioned": N_("I am mentioned"),
              "comment": N_("A comment on a task I follow"), "completed": N_("A task I follow is completed")}


# The domain's messages a web form can show (domain/profile.py): listed here so the catalogue carries them.
DOMAIN_MESSAGES = (N_("Password is too short"), N_("Password is too long"), N_("Current password is wrong"),
                   N_("Language is invalid"), N_("at least 8 characters"))
