"""Gettext catalogs (.po, .pot) read with the standard library, for the daemon.

    >>> entries, headers = read_po(Path("web_ui/i18n/fr/LC_MESSAGES/messages.po"))
    >>> entries["ui.start"]                  # msgctxt -> (msgid, msgstr, fuzzy)
    Entry(source='START', text='DÉMARRER', fuzzy=False)

The rig's catalogs name each string by its key in ``msgctxt`` (what the code
asks for: ``ui.start``, ``event.generator.overload``) and carry the English
text in ``msgid``, so Poedit and Weblate show a translator the English and
the key. Only what the rig's catalogs use is read: msgctxt, msgid, msgstr,
the fuzzy flag, the header; plural forms are not used. Babel (a development
tool here) writes and checks these files; the daemon needs only this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: a catalog is a few hundred strings; a file far larger is not one of ours
MAX_BYTES = 2 * 1024 * 1024

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


class PoError(ValueError):
    """A catalog that cannot be read; the text says which file and line."""


@dataclass(frozen=True)
class Entry:
    source: str          # msgid: the English text
    text: str            # msgstr: the translation ("" when not translated yet)
    fuzzy: bool = False  # a guess a translator must check: not used


def _unquote(raw: str, where: str) -> str:
    m = _STRING.fullmatch(raw.strip())
    if not m:
        raise PoError(f"{where}: expected a quoted string, got {raw.strip()[:40]!r}")
    return re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), m.group(1))


def read_po(path: Path) -> tuple[dict[str, Entry], dict[str, str]]:
    """The entries of ``path`` by msgctxt, and its header fields."""
    path = Path(path)
    if path.stat().st_size > MAX_BYTES:
        raise PoError(f"{path}: larger than {MAX_BYTES} bytes")
    entries: dict[str, Entry] = {}
    headers: dict[str, str] = {}
    current: dict[str, str] = {}
    flags: set[str] = set()
    field = None

    def finish():
        nonlocal current, flags, field
        if "msgid" in current:
            ctxt = current.get("msgctxt")
            if ctxt is None and current["msgid"] == "":
                for line in current.get("msgstr", "").splitlines():
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip()] = value.strip()
            elif ctxt is not None:
                entries[ctxt] = Entry(current["msgid"], current.get("msgstr", ""), "fuzzy" in flags)
        current, flags, field = {}, set(), None

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path}:{number}"
        stripped = line.strip()
        if not stripped:
            finish()
        elif stripped.startswith("#,"):
            if "msgid" in current:
                finish()
            flags.update(f.strip() for f in stripped[2:].split(","))
        elif stripped.startswith("#"):
            if "msgid" in current and field == "msgstr":
                finish()
        elif stripped.startswith('"'):
            if field is None:
                raise PoError(f"{where}: a string outside any msgid/msgstr")
            current[field] += _unquote(stripped, where)
        else:
            keyword, _, rest = stripped.partition(" ")
            if keyword not in ("msgctxt", "msgid", "msgstr"):
                raise PoError(f"{where}: {keyword!r} is not used in the rig's catalogs")
            if keyword in ("msgctxt", "msgid") and field == "msgstr":
                finish()
            field = keyword
            current[field] = _unquote(rest, where)
    finish()
    return entries, headers
