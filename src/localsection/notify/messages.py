"""The words of notification e-mails: one catalogue per language, plain text and a simple HTML part.

Every string a reader sees is in CATALOGUE, keyed by language code; a user whose language has no catalogue
(or who has none set) reads English. Translating means adding one dictionary with the same keys: the
placeholders ({actor}, {task}, {project}) are filled with str.format, always from plain text, and the HTML
part escapes every value.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from localsection.notify.kinds import ASSIGNED, COMMENT, COMPLETED, MENTIONED

ENGLISH: dict[str, str] = {
    f"subject.{ASSIGNED}": "[{project}] {actor} assigned you: {task}",
    f"subject.{MENTIONED}": "[{project}] {actor} mentioned you: {task}",
    f"subject.{COMMENT}": "[{project}] {actor} commented: {task}",
    f"subject.{COMPLETED}": "[{project}] {actor} completed: {task}",
    f"lead.{ASSIGNED}": "{actor} assigned a task to you in {project}:",
    f"lead.{MENTIONED}": "{actor} mentioned you in {project}:",
    f"lead.{COMMENT}": "{actor} commented on a task you follow in {project}:",
    f"lead.{COMPLETED}": "{actor} completed a task in {project}:",
    f"reason.{ASSIGNED}": "You receive this e-mail because you are the task's executive.",
    f"reason.{MENTIONED}": "You receive this e-mail because you were mentioned.",
    f"reason.{COMMENT}": "You receive this e-mail because you follow this task.",
    f"reason.{COMPLETED}": "You receive this e-mail because you follow, created or are the executive of this "
                           "task.",
    "open": "Open the task",
    "turn_off": "You can turn these e-mails off in your localsection settings.",
    "someone": "Someone",
}
CATALOGUE: dict[str, dict[str, str]] = {"en": ENGLISH}

EXCERPT_CHARS = 2000  # of a comment or description quoted in the e-mail
SUBJECT_CHARS = 250

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html><body style="font-family: sans-serif; font-size: 14px; color: #222">
<p>{{ lead }}</p>
<p style="font-size: 16px"><a href="{{ link }}"><strong>{{ task }}</strong></a></p>
{% if excerpt %}<blockquote style="margin: 0 0 1em; padding-left: 1em; border-left: 3px solid #ccc">
{%- for line in excerpt.splitlines() %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor -%}
</blockquote>{% endif %}
<p><a href="{{ link }}">{{ open }}</a></p>
<p style="color: #777; font-size: 12px">{{ reason }} {{ turn_off }}</p>
</body></html>
""")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def strings(language: str | None) -> dict[str, str]:
    """The catalogue of a language code such as "en" or "uk-UA"; English when there is none."""
    code = (language or "").strip().lower().replace("_", "-")
    return CATALOGUE.get(code) or CATALOGUE.get(code.split("-", 1)[0]) or ENGLISH


def one_line(value: str) -> str:
    """A value safe for a header or a lead line: whitespace (newlines included) folded to single spaces."""
    return " ".join(value.split())


def excerpt_of(text: str | None) -> str:
    """The quoted part of a comment or description: line breaks kept, cut at EXCERPT_CHARS."""
    value = (text or "").replace("\r\n", "\n").strip()
    return value if len(value) <= EXCERPT_CHARS else value[:EXCERPT_CHARS].rstrip() + "…"


def compose(kind: str, language: str | None, *, actor: str, task: str, project: str, link: str,
            excerpt: str = "") -> Rendered:
    """The subject, plain text and HTML of one notification."""
    words = strings(language)
    values = {"actor": one_line(actor) or words["someone"], "task": one_line(task), "project": one_line(project)}
    subject = words[f"subject.{kind}"].format(**values)
    if len(subject) > SUBJECT_CHARS:
        subject = subject[:SUBJECT_CHARS - 1].rstrip() + "…"
    lead = words[f"lead.{kind}"].format(**values)
    reason = words[f"reason.{kind}"]
    quoted = excerpt_of(excerpt)
    parts = [lead, "", f"    {values['task']}", ""]
    if quoted:
        parts += [*(f"> {line}" if line else ">" for line in quoted.split("\n")), ""]
    parts += [f"{words['open']}: {link}", "", "-- ", f"{reason} {words['turn_off']}", ""]
    page = _HTML.render(lead=lead, task=values["task"], link=link, excerpt=quoted, open=words["open"],
                        reason=reason, turn_off=words["turn_off"])
    return Rendered(subject, "\n".join(parts), page)
