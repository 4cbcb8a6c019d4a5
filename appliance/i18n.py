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
        state's words: ``label``, ``state_label``, ``old_label``, ``new_label``; a refused
        command's reason: ``refusal_text``) in ``lang`` too."""
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
        if isinstance(params.get("refusal"), str):       # a refused command, in its own words
            detail = params.get("detail") if isinstance(params.get("detail"), dict) else {}
            params["refusal_text"] = self.message(f"refusal.{params['refusal']}", detail, lang, relays)
        return self.text(key, lang, params)

    def text(self, key: str, lang: str, params: dict | None = None) -> str:
        template = None
        for code in (lang, FALLBACK):
            template = self.languages.get(code, {}).get(key)
            if template is not None:
                break
        if template is None:
            return key
        try:
            return string.Formatter().vformat(template, (), _Lenient(_tidy(params or {})))
        except (ValueError, TypeError, KeyError, IndexError):
            return template



def _tidy(params: dict) -> dict:
    """Numbers as a person writes them: 107.3, not 107.30000000001."""
    out = {}
    for k, v in params.items():
        if isinstance(v, float):
            v = int(v) if v.is_integer() else round(v, 1)
        out[k] = v
    return out
