"""Outgoing mail of the web app: password reset links. With SMTP configured (`LOCALSECTION_SMTP_URL`) the link
is queued in the mail outbox (notify/, sent by the background sender; the body is blanked once sent); without
it, the link goes to the server log (logger `localsection.mail`, WARNING), where the operator finds it to hand
over — and `localsection users reset-link` prints one on demand."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from localsection import notify
from localsection.config import Settings
from localsection.models import User
from localsection.webapp import i18n

log = logging.getLogger("localsection.mail")


def send_password_reset(db: Session, settings: Settings, account_name: str, user: User, link: str,
                        language: str) -> None:
    """Send a password reset link to `user`, in `language`. THE single place web app mail goes through."""
    if not settings.smtp_url:
        # The full link is a secret, but one the operator is meant to see; nothing else in the log carries it.
        log.warning("password reset for %s in account %s (no mail configured; language %s): %s", user.email,
                    account_name, language, link)
        return
    tr = i18n.translations(language)
    subject = tr.gettext("Set a new password for %(account)s") % {"account": account_name}
    text = tr.gettext("Someone asked to set a new password for %(email)s in %(account)s.\n\n"
                      "Open this link within one hour to choose a new password (it works once):\n%(link)s\n\n"
                      "If it was not you, ignore this e-mail: your password stays as it is.") % {
        "email": user.email, "account": account_name, "link": link}
    notify.send_mail(db, user.email, subject, text, account_id=user.account_id, user_id=user.id)
