"""Languages: gettext catalogues (Babel) compiled in memory at first use from the committed .po files.

The user's stored language wins, then the browser's Accept-Language, then English.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: dict[str, str] = {"en": "English", "uk": "Українська"}  # code -> its own name
DEFAULT = "en"
_MAX_ACCEPT = 512  # bytes of Accept-Language looked at


def catalogue_files(language: str) -> list[Path]:
    """The .po files of `language`: messages.po (what `make messages` maintains) and one file per area of the web
    app (projects.po, tasks.po, ...), so the parts can be translated side by side; merged in name order."""
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English: the source strings themselves)."""
    files = catalogue_files(language)
    if language == DEFAULT or language not in LANGUAGES or not files:
        return gettext.NullTranslations()
    with files[0].open("rb") as fh:
        catalog = read_po(fh, locale=language)
    for po in files[1:]:
        with po.open("rb") as fh:
            for message in read_po(fh, locale=language):
                if message.id and message.string:
                    catalog[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def from_accept_language(header: str) -> str | None:
    """The first of our languages the browser asks for, by quality (`uk-UA,uk;q=0.9,en;q=0.8` -> uk)."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:_MAX_ACCEPT].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower().split("-", 1)[0]
        if code in LANGUAGES and quality > 0:
            choices.append((-quality, index, code))
    return min(choices)[2] if choices else None


def pick(stored: str | None, accept_language: str) -> str:
    """The language to render in: the user's stored choice, else the browser's, else English."""
    if stored in LANGUAGES:
        return stored
    return from_accept_language(accept_language) or DEFAULT
