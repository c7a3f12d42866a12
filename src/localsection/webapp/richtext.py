"""Rich text of descriptions and comments, safe to show: the ONE sanitizer of the web app (nh3, a binding of the
Rust `ammonia` library).

Stored text is either plain text (what most API clients send: line breaks kept as <br>) or HTML (what
Worksection's own editor stores). HTML is cleaned down to a small set of formatting tags; links keep only
http(s)/mailto targets and get `rel="noopener noreferrer nofollow"`. Scripts, styles, event handlers, iframes,
forms and images (which could track the reader) never pass.
"""

from __future__ import annotations

import html
import re

import nh3
from markupsafe import Markup

TAGS = frozenset({"a", "b", "strong", "i", "em", "u", "s", "del", "strike", "p", "br", "div", "span", "ul", "ol",
                  "li", "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead",
                  "tbody", "tr", "th", "td", "sub", "sup"})
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_CHARS = 200_000  # a longer text is cut before it is cleaned (bounded work per render)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def clean_html(value: str) -> str:
    """`value` (HTML) with everything but the allowed tags and attributes taken out."""
    return nh3.clean(value[:MAX_CHARS], tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer nofollow", strip_comments=True)


def rich_text(text: str) -> Markup:
    """Stored text as safe HTML: HTML is cleaned, plain text is escaped with its line breaks kept."""
    text = text or ""
    if looks_like_html(text):
        return Markup(clean_html(text))
    escaped = html.escape(text[:MAX_CHARS]).replace("\r\n", "\n").replace("\n", "<br>")
    return Markup(escaped)
