"""The Jinja2 environment of the web app (autoescaped, i18n extension) and its static files.

Translations are passed per render (`gettext`, `ngettext`, `_` in the context), never installed globally: one
environment serves every language at once from many threads.
"""

from __future__ import annotations

import gettext as gettext_module
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  extensions=["jinja2.ext.i18n"], auto_reload=False, trim_blocks=True, lstrip_blocks=True)
env.newstyle_gettext = True  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str  # a content hash: part of every URL, so the file can be cached for a year


def _load_static() -> dict[str, StaticFile]:
    files: dict[str, StaticFile] = {}
    for path in sorted(STATIC.iterdir()) if STATIC.is_dir() else []:
        if path.is_file() and path.suffix in STATIC_TYPES:
            body = path.read_bytes()
            files[path.name] = StaticFile(body, STATIC_TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:12])
    return files


STATIC_FILES = _load_static()


def gettext_callables(trans: gettext_module.NullTranslations) -> dict[str, Callable[..., Any]]:
    """`gettext`, `ngettext` and `_` for one render, behaving like Jinja's new-style gettext: variables are
    substituted (`_("Hi %(name)s", name=x)`) and the translated text is escaped like any other value."""

    @pass_context
    def _gettext(context: Context, message: str, **variables: Any) -> str:
        text = trans.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables if variables else text

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = trans.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"gettext": _gettext, "ngettext": _ngettext, "_": _gettext}


def render(template: str, context: dict[str, Any]) -> str:
    return env.get_template(template).render(context)
