"""Messages in the crew's language, from gettext catalogs a translator can extend.

    >>> catalog = Catalog.load()            # web_ui/i18n/messages.pot and <lang>/LC_MESSAGES/
    >>> catalog.message("event.generator.overload", {"value": 107}, "fr")
    'Générateur en surcharge : 107 % ...'
    >>> catalog.offered(90)                 # the languages complete enough to offer
    {'en': 'English', 'fr': 'Français'}
    >>> catalog.missing("bm")               # what a translator still has to do
    [('event.daemon.started', 'The rig software started ({config}).'), ...]

One catalog serves the daemon's messages and the touch screen's words:
``messages.pot`` holds every string, named by its key (``msgctxt``), in
English (``msgid``); ``<lang>/LC_MESSAGES/messages.po`` translates it. A new
language is a .po file to add (Poedit, Weblate, ``pybabel init``), not code
to change.

A string missing from a language (not translated yet, or marked fuzzy)
falls back string by string: to the language the catalog names in its
``_fallback`` string (Bambara falls back to French: the crew reads French),
then to English, then to the key itself. (A string, not a header field:
translators' tools keep strings and drop headers they do not know.)
"""

from __future__ import annotations

import logging
import string
from pathlib import Path

from .po import PoError, read_po

log = logging.getLogger(__name__)

CATALOG_DIR = Path(__file__).resolve().parent.parent / "web_ui" / "i18n"
DOMAIN = "messages"
#: the language of msgid, always complete
SOURCE = "en"
FALLBACK = SOURCE          # the name some callers know it by
#: parameters that carry a code (who asked, what triggered): shown as ``value.<param>.<code>``'s
#: or ``value.<code>``'s words when the catalog has them, so a French screen never reads
#: "show" or "power_lost"
CODE_PARAMS = ("origin", "by", "trigger", "config", "overridden", "backend", "wanted")
#: how each language writes a decimal number (the decimal comma in French)
DECIMAL_MARK = {"fr": ",", "bm": ","}
LANGUAGE_KEY = "_language"
#: a string of each catalog: the language its missing strings come from (bm: fr)
FALLBACK_KEY = "_fallback"


class _Lenient(dict):
    def __missing__(self, key):
        return "?"


class Catalog:
    def __init__(self, languages: dict[str, dict], fallbacks: dict[str, str] | None = None,
                 total: int | None = None):
        #: code -> {key: text}: only what that language itself translates
        self.languages = languages
        self.fallbacks = fallbacks or {}
        self.total = total if total is not None else len(languages.get(SOURCE, {}))

    @classmethod
    def load(cls, directory: Path = CATALOG_DIR) -> "Catalog":
        directory = Path(directory)
        try:
            template, _ = read_po(directory / f"{DOMAIN}.pot")
        except (OSError, PoError) as exc:
            log.error("message catalog %s unusable: %s", directory / f"{DOMAIN}.pot", exc)
            template = {}
        languages = {SOURCE: {key: e.source for key, e in template.items()}}
        fallbacks = {}
        for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            code = path.parent.parent.name
            try:
                entries, _ = read_po(path)
            except (OSError, PoError) as exc:
                log.error("message catalog %s unusable: %s", path, exc)
                continue
            # only the template's keys count: a string the code no longer asks for is noise
            languages[code] = {key: e.text for key, e in entries.items()
                               if e.text and not e.fuzzy and key in template}
            fallbacks[code] = languages[code].get(FALLBACK_KEY) or SOURCE
        return cls(languages, fallbacks, len(template))

    # --- which languages -------------------------------------------------------------

    def chain(self, lang: str) -> list[str]:
        """Where ``lang``'s missing strings come from, in order, ending with English."""
        out = []
        while lang in self.languages and lang not in out:
            out.append(lang)
            lang = self.fallbacks.get(lang, SOURCE)
        if SOURCE not in out:
            out.append(SOURCE)
        return out

    def complete_pct(self, lang: str) -> float:
        if lang == SOURCE:
            return 100.0
        return 100.0 * len(self.languages.get(lang, {})) / self.total if self.total else 0.0

    def name(self, lang: str) -> str:
        return self.text(LANGUAGE_KEY, lang) if lang in self.languages else lang

    def offered(self, min_pct: float) -> dict[str, str]:
        """The languages translated at least ``min_pct`` %, with their own names."""
        return {code: self.languages[code].get(LANGUAGE_KEY, code)
                for code in sorted(self.languages) if self.complete_pct(code) >= min_pct}

    def missing(self, lang: str) -> list[tuple[str, str]]:
        """(key, English) of every string ``lang`` does not translate yet."""
        own = self.languages.get(lang, {})
        return [(key, text) for key, text in self.languages[SOURCE].items() if key not in own]

    def words(self, lang: str) -> dict[str, str]:
        """Every string in ``lang``, missing ones from its fallbacks (for the touch screen)."""
        merged: dict[str, str] = {}
        for code in reversed(self.chain(lang)):
            merged.update(self.languages[code])
        return merged

    # --- one message -------------------------------------------------------------------

    def message(self, key: str, data: dict, lang: str, relays=None) -> str:
        """``key``'s text with ``data`` in it, and the names in it (a relay's label, a
        state's words: ``label``, ``state_label``, ``old_label``, ``new_label``; a refused
        command's reason: ``refusal_text``) in ``lang`` too; codes (``origin``, ``trigger``…)
        and yes/no in words, decimals with ``lang``'s mark."""
        params = dict(data)
        relay = params.get("relay")
        if relays and relay in relays:
            label = relays[relay].label
            params["label"] = label.get(lang) or label.get("fr") or label.get("en") or relay
        for key_in, key_out in (("state", "state_label"), ("old", "old_label"), ("new", "new_label")):
            if isinstance(params.get(key_in), str):
                params[key_out] = self.text(f"state.{params[key_in]}", lang)
        if isinstance(params.get("reason"), str):
            params["reason_label"] = self.text(f"reason.{params['reason']}", lang)
        if isinstance(params.get("refusal"), str):       # a refused command, in its own words
            detail = params.get("detail") if isinstance(params.get("detail"), dict) else {}
            params["refusal_text"] = self.message(f"refusal.{params['refusal']}", detail, lang, relays)
        for name in CODE_PARAMS:
            value = params.get(name)
            for word in (f"value.{name}.{value}", f"value.{value}"):      # its own, else shared
                if isinstance(value, str) and self.has(word, lang):
                    params[name] = self.text(word, lang)
                    break
        for name, value in list(params.items()):
            if isinstance(value, bool):          # never "True" on a screen
                word = "yes" if value else "no"
                own = f"value.{name}.{word}"
                params[name] = self.text(own if self.has(own, lang) else f"value.{word}", lang)
        return self.text(key, lang, params)

    def has(self, key: str, lang: str) -> bool:
        return any(key in self.languages.get(code, {}) for code in self.chain(lang))

    def text(self, key: str, lang: str, params: dict | None = None) -> str:
        template = None
        for code in self.chain(lang):
            template = self.languages.get(code, {}).get(key)
            if template is not None:
                break
        if template is None:
            return key
        try:
            return string.Formatter().vformat(template, (), _Lenient(_tidy(params or {}, lang)))
        except (ValueError, TypeError, KeyError, IndexError):
            return template


def _tidy(params: dict, lang: str = SOURCE) -> dict:
    """Numbers as a person writes them in ``lang``: 107.3 (107,3 in French), not 107.30000000001."""
    mark = DECIMAL_MARK.get(lang, ".")
    out = {}
    for k, v in params.items():
        if isinstance(v, float):
            v = int(v) if v.is_integer() else round(v, 1)
            if isinstance(v, float) and mark != ".":
                v = str(v).replace(".", mark)
        out[k] = v
    return out
