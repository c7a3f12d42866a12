"""E-mail: notifications derived from recorded events, a durable outbox and the SMTP sender.

`events.record()` calls `on_event()` in the change's transaction: it decides who hears about the event (the new
executive, mentioned users, subscribers, the author), keeps only those who may see the task or comment and have
not switched the kind off, renders each e-mail and writes it to `mail_outbox`. The sender
(`localsection.notify.sender`, run by the background worker) delivers due rows over SMTP with retries. A request
never talks to an SMTP server. `send_mail()` queues any other e-mail (password resets) through the same outbox.
"""

from __future__ import annotations

from localsection.notify.kinds import KINDS
from localsection.notify.outbox import BadMail, send_mail
from localsection.notify.triggers import on_event

__all__ = ["KINDS", "BadMail", "on_event", "send_mail"]
