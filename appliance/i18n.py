"""Messages in the crew's language, from catalogs a translator can extend.

    >>> catalog = Catalog.load()              # web_ui/i18n/*.json
    >>> catalog.message("event.generator.overload", {"value": 107}, "fr")
    'Générateur en surcharge : 107 % ...'

A catalog is one JSON file per language (``fr.json``, ``en.json``; a
``bm.json`` for Bambara is a file to add, not code to change). Server-side
messages are looked up by their code; a code missing from a language falls
back to English, then to the code itself.
"""

from __future__ import annotations

import json
import logging
import string
from pathlib import Path

log = logging.getLogger(__name__)

CATALOG_DIR = Path(__file__).resolve().parent.parent / "web_ui" / "i18n"
FALLBACK = "en"
#: parameters that carry a code (who asked, what triggered): shown as ``value.<param>.<code>``'s
#: or ``value.<code>``'s words when the catalog has them, so a French screen never reads
#: "show" or "power_lost"
CODE_PARAMS = ("origin", "by", "trigger", "config", "overridden")
#: how each language writes a decimal number (the decimal comma in French)
DECIMAL_MARK = {"fr": ",", "bm": ","}


class _Lenient(dict):
    def __missing__(self, key):
        return "?"


class Catalog:
    def __init__(self, languages: dict[str, dict]):
        self.languages = languages

    @classmethod
    def load(cls, directory: Path = CATALOG_DIR) -> "Catalog":
        languages = {}
        for path in sorted(Path(directory).glob("*.json")):
            try:
                languages[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                log.error("message catalog %s unusable: %s", path, exc)
        return cls(languages)

    def message(self, key: str, data: dict, lang: str, relays=None) -> str:
        """``key``'s text with ``data`` in it, and the names in it (a relay's label, a
        state's words: ``label``, ``state_label``, ``old_label``, ``new_label``) in ``lang`` too;
        codes (``origin``, ``trigger``…) and yes/no in words, decimals with ``lang``'s mark."""
        params = dict(data)
        relay = params.get("relay")
        if relays and relay in relays:
            label = relays[relay].label
            params["label"] = label.get(lang) or label.get("en") or relay
        for key_in, key_out in (("state", "state_label"), ("old", "old_label"), ("new", "new_label")):
            if isinstance(params.get(key_in), str):
                params[key_out] = self.text(f"state.{params[key_in]}", lang)
        if isinstance(params.get("reason"), str):
            params["reason_label"] = self.text(f"reason.{params['reason']}", lang)
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
        return any(key in self.languages.get(code, {}) for code in (lang, FALLBACK))

    def text(self, key: str, lang: str, params: dict | None = None) -> str:
        template = None
        for code in (lang, FALLBACK):
            template = self.languages.get(code, {}).get(key)
            if template is not None:
                break
        if template is None:
            return key
        try:
            return string.Formatter().vformat(template, (), _Lenient(_tidy(params or {}, lang)))
        except (ValueError, TypeError, KeyError, IndexError):
            return template



def _tidy(params: dict, lang: str = FALLBACK) -> dict:
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
