"""rigctl's words in the technician's language (``--lang``, else ``$LANG``).

They live in the catalogs the daemon and the touch screen use
(``web_ui/i18n/``, keys ``cli.*``, and ``state.*`` for the show's states),
so a translator edits one catalog per language and a Bambara translation
reaches rigctl too. They are read from this installation's
files, not asked of rigd: the words are rigctl's own, and `watch` should
not cost a request more per refresh. A missing word falls back to English.
"""

from __future__ import annotations

from functools import lru_cache

from ..i18n import SOURCE, Catalog


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
