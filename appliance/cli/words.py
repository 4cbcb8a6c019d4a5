"""rigctl's words in the technician's language (``--lang``, else ``$LANG``).

They live in the catalogs the daemon and the touch screen use
(``web_ui/i18n/``, keys ``cli.*``, and ``state.*`` for the show's states),
so a translator edits one catalog per language and a Bambara translation
reaches rigctl too. They are read from this installation's
files, not asked of rigd: the words are rigctl's own, and `watch` should
not cost a request more per refresh. A missing word falls back to English.

Codes a technician types back or looks up (ids, paths, relay names, event
codes, a reason's code) stay as they are; a column's header, a state, a
level are words. A decimal number is written with the language's mark
(230,1 V in French), as the daemon's messages write it.
"""

from __future__ import annotations

from functools import lru_cache

from ..i18n import DECIMAL_MARK, SOURCE, Catalog


@lru_cache(maxsize=1)
def _catalog() -> Catalog:
    return Catalog.load()


class Words:
    """``w("relay.warming", s=12)`` → "warming 12 s"; ``w.label("recording")`` → "recording "."""

    #: the status lines' labels: padded to the longest, so values line up in any language
    LABELS = ("rig", "generator", "load", "health", "meter", "relays", "player", "recording",
              "projector", "pi", "office", "disk")

    def __init__(self, lang: str | None):
        self.lang = lang if lang in _catalog().languages else SOURCE
        self.mark = DECIMAL_MARK.get(self.lang, ".")
        self.width = max(10, max(len(self(f"label.{k}")) for k in self.LABELS) + 1)

    def __call__(self, key: str, default: str | None = None, **params) -> str:
        """``key``'s words; ``default`` (a code as the daemon sent it) when no catalog has them."""
        text = _catalog().text(f"cli.{key}", self.lang, params)
        return default if default is not None and text == f"cli.{key}" else text

    def state(self, code: str) -> str:
        """The show's state as the daemon's events name it (``state.*``)."""
        text = _catalog().text(f"state.{code}", self.lang)
        return code if text == f"state.{code}" else text

    def label(self, key: str) -> str:
        return self(f"label.{key}").ljust(self.width)

    def columns(self, *keys: str) -> list[str]:
        """A table's headers (``col.*``); a table lines its columns up at any word's length."""
        return [self(f"col.{k}") for k in keys]

    def number(self, text: str) -> str:
        """A number already written ("230.1", "—") with this language's decimal mark."""
        return text.replace(".", self.mark) if self.mark != "." else text

    def padded(self, prefix: str, codes, code: str) -> str:
        """``code``'s word padded to the longest of ``codes``' words, so what follows lines up."""
        width = max(len(self(f"{prefix}.{c}")) for c in codes)
        return self(f"{prefix}.{code}", default=code).ljust(width)

    def why(self, reason: str) -> str:
        """Why a file on a stick was refused (``refused.*``: a link, outside the folder…);
        a reason with no words of its own (the system's) as it came."""
        return self(f"refused.{reason}", default=reason)
