"""Every string the web app shows is translated to Ukrainian (run `make messages`, then translate)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from localsection.webapp import i18n

WEBAPP = Path(i18n.__file__).parent


def test_every_string_of_the_web_app_has_a_ukrainian_translation() -> None:
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "FormError": None}
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(WEBAPP), [("**.py", "python"), ("templates/**.html", "jinja2")],
                                         keywords=keywords)}
    translated: set[str] = set()
    for po in i18n.catalogue_files("uk"):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale="uk")
        translated |= {m.id if isinstance(m.id, str) else m.id[0] for m in catalog
                       if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    assert len(found) > 50
    assert not found - translated, f"untranslated (run make messages and translate): {sorted(found - translated)}"


def test_the_catalogue_compiles_and_translates() -> None:
    uk = i18n.translations("uk")
    assert uk.gettext("Sign in") == "Увійти"
    assert uk.ngettext("Too many failed sign-in attempts. Try again in %(num)d minute.",
                       "Too many failed sign-in attempts. Try again in %(num)d minutes.", 5) % {"num": 5} \
        == "Забагато невдалих спроб входу. Спробуйте знову через 5 хвилин."
    assert i18n.pick(None, "uk;q=0.4, en;q=0.9") == "en"
    assert i18n.pick(None, "fr, uk;q=0.5") == "uk"
    assert i18n.pick("uk", "en") == "uk" and i18n.pick(None, "") == "en" and i18n.pick("xx", "") == "en"
