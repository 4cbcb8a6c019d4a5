"""Where rigctl speaks and what it exits with: the contract scripts rely on.

Exit codes: 0 done; 1 refused or failed (reason on stderr); 2 usage or
config error; 3 daemon unreachable. Every command writes through these two
consoles so that stdout stays data and stderr stays complaints.

Names come from outside the rig (a stick's file names, a film's tags, a
place typed on a phone): every one that rigctl prints goes through
:func:`clean`, so an escape sequence in a file name is shown, never obeyed
by the technician's terminal. Text printed through rich is printed as
``Text`` or with ``markup=False``, so ``[link=…]`` in a name is not markup.
"""

from __future__ import annotations

import json
import re

from rich.console import Console
from rich.text import Text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: C0 (with ESC, BEL, CR, LF), DEL, C1 (8-bit CSI, OSC…), and the marks that
#: reorder a line (bidi overrides and isolates), which can hide what a name says
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)         # the Unicode control picture: ␛ for ESC, ␇ for BEL
    return "\u2421" if code == 0x7F else "?"


def clean(value) -> str:
    """``value`` as text a terminal shows as it is: control characters replaced."""
    return CONTROL.sub(_shown, "" if value is None else str(value))


def cleaned(value, style: str = "") -> Text:
    """A table cell or a piece of a line: cleaned, never read as rich markup."""
    return Text(clean(value), style=style)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def dumps(value) -> str:
    """JSON for a terminal or a script: json escapes C0 itself; DEL, C1 and bidi marks too."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # these characters only ever occur inside JSON strings, where \\uXXXX means the same
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
