"""Safe rich text: the one sanitizer of every HTML a person writes in the web app (task descriptions, comments).

nh3 (the Rust `ammonia` sanitizer) keeps a small list of formatting tags and attributes and drops everything
else (scripts, styles, event handlers, `javascript:` URLs). Links get `rel="noopener noreferrer"` and only
http(s) and mailto URLs survive. The result is what is stored (as the API stores `text`) and shown with
`|safe`-free `Markup` through `as_markup`.
"""

from __future__ import annotations

import nh3
from markupsafe import Markup

MAX_HTML = 200_000  # characters of one description or comment, before sanitizing

TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "s", "del", "ins", "sub", "sup", "mark", "code", "pre",
                  "blockquote", "ul", "ol", "li", "h2", "h3", "h4", "a", "hr", "span", "table", "thead", "tbody",
                  "tr", "th", "td"})
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize(html: str) -> str:
    """The allowed subset of `html` (plain text passes through escaped); links open with rel=noopener."""
    text = html[:MAX_HTML]
    if "<" not in text and "&" not in text and ">" not in text:
        return text  # plain text: nothing to clean (kept as the API keeps it)
    return nh3.clean(text, tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer", strip_comments=True)


def as_markup(stored: str) -> Markup:
    """Stored text as HTML to show: sanitized again (the API may have stored anything), newlines of plain text
    kept as line breaks."""
    if "<" not in stored:
        return Markup("<br>").join(stored.splitlines()) if stored else Markup("")
    return Markup(sanitize(stored))  # nh3 output: the allow-listed subset only
