"""The kinds of notification e-mail, most specific first: a user who would get several for one event gets the
first kind they have not switched off."""

from __future__ import annotations

ASSIGNED = "assigned"  # a task was created for them, or its executive changed to them
MENTIONED = "mentioned"  # named in a new task's or comment's mentions
COMMENT = "comment"  # a comment on a task they subscribe to
COMPLETED = "completed"  # a task they subscribe to, created or are executive of was completed
KINDS: tuple[str, ...] = (ASSIGNED, MENTIONED, COMMENT, COMPLETED)
DIRECT = "direct"  # not a notification (a password reset ...): never switched off by preferences
