"""Outgoing mail of the web app. Until a mailer is configured, messages go to the server log (logger
`localsection.mail`, WARNING), where the operator finds the link to hand over."""

from __future__ import annotations

import logging

log = logging.getLogger("localsection.mail")


def send_password_reset(account_name: str, email: str, link: str, language: str) -> None:
    """Send a password reset link to `email`. THE single place to hook real mail into (issue 14).

    Without mail the full link is logged: it is a secret, but one the operator is meant to see; nothing else
    in the log carries it."""
    log.warning("password reset for %s in account %s (no mail configured; language %s): %s", email, account_name,
                language, link)
